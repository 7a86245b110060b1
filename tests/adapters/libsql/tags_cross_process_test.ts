// Cache tags across real OS processes sharing one libSQL database file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "node:test";
import { describeTagsAcrossProcesses } from "../../fixtures/tags_scenario.ts";

describe("libSQL cache tags across processes sharing one database file", () => {
  let dir = "";
  let db = 0;
  describeTagsAcrossProcesses({
    start: () => {
      dir = mkdtempSync(join(tmpdir(), "sluice-libsql-tags-"));
      return Promise.resolve();
    },
    config: () => ({
      backend: "libsql",
      url: `file:${join(dir, `tags_${++db}.db`)}`,
    }),
    stop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

// Cache tags across real OS processes sharing one Upstash database (a
// redis-server behind the REST bridge).
import { describe } from "node:test";
import { describeTagsAcrossProcesses } from "../../fixtures/tags_scenario.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

describe("Upstash cache tags across processes", () => {
  let env: UpstashEnv;
  describeTagsAcrossProcesses({
    start: async () => {
      env = await startUpstashEnv();
    },
    config: () => ({
      backend: "upstash",
      url: env.bridge.url,
      token: env.bridge.token,
      keyPrefix: env.prefix(),
    }),
    stop: async () => {
      await env?.close();
    },
  });
});

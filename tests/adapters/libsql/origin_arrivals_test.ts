// HttpClient with the libSQL adaptive rate-limit store and its default
// options, against a loopback origin: the origin's own log of arrivals
// never holds more than `limit` in any window, on a local file and on a
// sqld server.
import { after, describe, it } from "node:test";
import { createClient } from "@libsql/client";
import {
  LibsqlAdaptiveRateLimitStore,
  migrate,
} from "../../../adapters/libsql/mod.ts";
import { HttpClient } from "../../../mod.ts";
import {
  assertBurstHeld,
  BURST_ADAPTIVE_CONFIG,
  mixedBurst,
  routeDelayed,
} from "../../fixtures/mixed_burst.ts";
import { startOrigin } from "../../fixtures/origin.ts";
import { type SqldServer, startSqld } from "../../fixtures/sqld.ts";
import { tempDir } from "./_helpers.ts";

describe("HttpClient with LibsqlAdaptiveRateLimitStore, at the origin", () => {
  const files = tempDir();
  let sqld: SqldServer | undefined;
  after(async () => {
    await sqld?.stop();
    files.remove();
  });

  const databases: Array<[string, () => Promise<string>]> = [
    ["a local file", () => Promise.resolve(`file:${files.path("burst.db")}`)],
    ["a sqld server", async () => (sqld ??= await startSqld()).url],
  ];

  for (const [where, database] of databases) {
    it(`100 concurrent GETs of mixed priorities at 20 per 1000 ms never put more than 20 into any 1 s at an origin answering in 0-90 ms (${where})`, async () => {
      const limit = 20;
      const windowMs = 1_000;
      const url = await database();
      // An audit trigger copies every admission the store records, with the
      // time the store recorded it, so the window is also checked exactly.
      const audit = createClient({ url });
      await migrate(audit);
      await audit.batch([
        "CREATE TABLE audit (at INTEGER NOT NULL)",
        "CREATE TRIGGER audit_admissions AFTER INSERT ON sluice_rate_limit BEGIN INSERT INTO audit (at) VALUES (NEW.at); END",
      ], "write");
      const origin = await startOrigin();
      routeDelayed(origin, "/burst");
      const store = new LibsqlAdaptiveRateLimitStore({
        url,
        defaultConfig: { limit, windowMs },
        adaptiveConfig: BURST_ADAPTIVE_CONFIG,
      });
      const client = new HttpClient({
        name: "burst",
        rateLimit: { store, failOpen: false },
        retry: false,
      });
      try {
        const burst = await mixedBurst(client, origin, "/burst");
        const admissions =
          (await audit.execute("SELECT at FROM audit ORDER BY at")).rows.map((
            row,
          ) => Number(row.at));
        const arrivals = origin.requests("/burst").map((r) => r.at);
        assertBurstHeld(
          `libsql in-process adaptive, ${where}`,
          burst,
          arrivals,
          admissions,
          limit,
          windowMs,
        );
      } finally {
        await client.close();
        await store.close();
        audit.close();
        await origin.close();
      }
    });
  }
});

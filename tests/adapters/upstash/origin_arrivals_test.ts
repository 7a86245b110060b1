// HttpClient with the Upstash adaptive rate-limit store and its default
// options (a redis-server behind the REST bridge, through @upstash/redis),
// against a loopback origin: the origin's own log of arrivals never holds
// more than `limit` in any window.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UpstashAdaptiveRateLimitStore } from "../../../adapters/upstash/mod.ts";
import { HttpClient } from "../../../mod.ts";
import {
  BURST_ADAPTIVE_CONFIG,
  mixedBurst,
  routeDelayed,
} from "../../fixtures/mixed_burst.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import {
  assertWithinLimit,
  reportTiming,
  timingLine,
} from "../../fixtures/rate_window.ts";
import { audited } from "../../fixtures/upstash_audit.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;
let origin: Origin;

describe("HttpClient with UpstashAdaptiveRateLimitStore, at the origin", () => {
  before(async () => {
    env = await startUpstashEnv();
    origin = await startOrigin();
  });
  after(async () => {
    await origin.close();
    await env.close();
  });

  it("100 concurrent GETs of mixed priorities at 20 per 1000 ms never put more than 20 into any 1 s at an origin answering in 0-90 ms", async () => {
    const limit = 20;
    const windowMs = 1_000;
    routeDelayed(origin, "/burst");
    // The server time of every admission, as the acquire script returns it.
    const admissions: number[] = [];
    const store = new UpstashAdaptiveRateLimitStore({
      redis: await audited(env.client(), admissions),
      keyPrefix: env.prefix(),
      defaultConfig: { limit, windowMs },
      adaptiveConfig: BURST_ADAPTIVE_CONFIG,
    });
    const client = new HttpClient({
      name: "burst",
      rateLimit: { store, failOpen: false },
      retry: false,
    });
    try {
      const { outcomes } = await mixedBurst(client, origin, "/burst");
      const arrivals = origin.requests("/burst").map((r) => r.at);
      // Reported before the checks, so that a failing run shows it too.
      reportTiming(
        timingLine(
          "upstash in-process adaptive",
          arrivals,
          admissions,
          limit,
          windowMs,
        ),
      );
      assert.deepEqual(
        outcomes.filter((o) => o !== "200:ok"),
        [],
        "every request succeeds",
      );
      assert.equal(arrivals.length, 100);
      // The store may keep a longer window than windowMs, never a shorter
      // one; the origin, by its own clock, holds the limit exactly.
      assertWithinLimit(admissions, limit, windowMs, "admissions");
      assertWithinLimit(arrivals, limit, windowMs, "arrivals");
    } finally {
      await client.close();
      await store.close();
    }
  });
});

// HttpClient with the Upstash adaptive rate-limit store and its default
// options (a redis-server behind the REST bridge, through @upstash/redis),
// against a loopback origin: the origin's own log of arrivals never holds
// more than `limit` in any window.
import { after, before, describe, it } from "node:test";
import { UpstashAdaptiveRateLimitStore } from "../../../adapters/upstash/mod.ts";
import { HttpClient } from "../../../mod.ts";
import {
  assertBurstHeld,
  BURST_ADAPTIVE_CONFIG,
  mixedBurst,
  routeDelayed,
} from "../../fixtures/mixed_burst.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
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
      const burst = await mixedBurst(client, origin, "/burst");
      const arrivals = origin.requests("/burst").map((r) => r.at);
      assertBurstHeld(
        "upstash in-process adaptive",
        burst,
        arrivals,
        admissions,
        limit,
        windowMs,
      );
    } finally {
      await client.close();
      await store.close();
    }
  });
});

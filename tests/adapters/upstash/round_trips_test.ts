// What one request through HttpClient costs in Upstash HTTP requests, as the
// REST bridge counts them: what a serverless user pays for each call.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createUpstashStores,
  type UpstashStores,
} from "../../../adapters/upstash/mod.ts";
import { HttpClient, RateLimitError } from "../../../mod.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;
let origin: Origin;

describe("HttpClient round trips with Upstash stores", () => {
  let stores: UpstashStores;
  const client = (): HttpClient =>
    new HttpClient({
      name: `rt-${crypto.randomUUID().slice(0, 8)}`,
      cache: { store: stores.cache },
      dedupe: { store: stores.dedupe },
      rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
    });
  /** The bridge's requests for `run`, and the commands each carried. */
  const counted = async (run: () => Promise<unknown>) => {
    env.bridge.resetCounts();
    await run();
    return {
      requests: env.bridge.requests(),
      log: env.bridge.log().map((r) => r.commands.join("+")).join(", "),
    };
  };

  before(async () => {
    env = await startUpstashEnv();
    origin = await startOrigin();
    origin.route("/fresh", (request) => ({
      body: `call ${request.n}`,
      headers: { "cache-control": "max-age=60" },
    }));
    stores = createUpstashStores({
      redis: env.client(),
      keyPrefix: env.prefix(),
      rateLimit: { defaultConfig: { limit: 1_000, windowMs: 60_000 } },
    });
    // Redis learns each script once (EVAL after NOSCRIPT): count the steady
    // state that every later request pays.
    const warm = client();
    await (await warm.fetch(`${origin.url}/fresh?warm`)).text();
    await warm.close();
  });
  after(async () => {
    await stores.close();
    await origin.close();
    await env.close();
  });

  it("a cache miss costs at most 5 HTTP requests, and a fresh hit 1", async () => {
    const api = client();
    const miss = await counted(async () =>
      await (await api.fetch(`${origin.url}/fresh?a`)).text()
    );
    const hit = await counted(async () =>
      await (await api.fetch(`${origin.url}/fresh?a`)).text()
    );
    await api.close();
    assert.ok(miss.requests <= 5, `a miss cost ${miss.requests}: ${miss.log}`);
    assert.equal(hit.requests, 1, hit.log);
    assert.equal(origin.calls("/fresh"), 2, "the warm-up and one miss");
  });

  it("an admission the budget refuses costs 1 HTTP request of the rate-limit store", async () => {
    const api = new HttpClient({
      name: `rt-${crypto.randomUUID().slice(0, 8)}`,
      rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
    });
    const url = `${origin.url}/fresh?refused`;
    const resource = api.rateLimitResource(url);
    stores.rateLimit.setResourceConfig(resource, {
      limit: 1,
      windowMs: 60_000,
    });
    await (await api.fetch(url)).text();
    const refused = await counted(() =>
      assert.rejects(api.fetch(url), RateLimitError)
    );
    await api.close();
    assert.equal(refused.requests, 1, refused.log);
  });
});

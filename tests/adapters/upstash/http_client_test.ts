// HttpClient with the Upstash stores: the key layout users inspect, the
// isolation between clients and scopes sharing one database, and the HTTP
// requests one admission costs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createUpstashStores,
  UpstashAdaptiveRateLimitStore,
  UpstashRateLimitStore,
  type UpstashStores,
} from "../../../adapters/upstash/mod.ts";
import { HttpClient, RateLimitError } from "../../../mod.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;
let origin: Origin;

async function text(client: HttpClient, path: string): Promise<string> {
  const response = await client.fetch(`${origin.url}${path}`);
  return await response.text();
}

/** Every key under `pattern`, as `redis-cli --scan --pattern` lists them. */
async function scan(pattern: string): Promise<string[]> {
  const redis = env.client();
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, {
      match: pattern,
      count: 100,
    });
    keys.push(...batch);
    cursor = String(next);
  } while (cursor !== "0");
  return keys.sort();
}

describe("HttpClient with Upstash stores", () => {
  let stores: UpstashStores;
  let prefix: string;

  before(async () => {
    env = await startUpstashEnv();
    origin = await startOrigin();
    origin.route("/doc", (request) => ({
      body: `call ${request.n}`,
      headers: { "cache-control": "max-age=60" },
    }));
  });
  after(async () => {
    await stores?.close();
    await origin.close();
    await env.close();
  });

  it("keeps each client's keys under <keyPrefix><kind>:<client name>:, so one SCAN pattern lists one client", async () => {
    prefix = env.prefix();
    stores = createUpstashStores({
      redis: env.client(),
      keyPrefix: prefix,
      rateLimit: { defaultConfig: { limit: 100, windowMs: 60_000 } },
    });
    const github = new HttpClient({
      name: "github",
      cache: { store: stores.cache },
      dedupe: { store: stores.dedupe },
      rateLimit: { store: stores.rateLimit },
    });
    const gitlab = new HttpClient({
      name: "gitlab",
      cache: { store: stores.cache },
      rateLimit: { store: stores.rateLimit },
    });
    await text(github, "/doc");
    await text(gitlab, "/doc");
    const githubKeys = await scan(`${prefix}*:github:*`);
    assert.ok(githubKeys.length >= 2);
    assert.ok(
      githubKeys.some((k) => k.startsWith(`${prefix}cache:github:cache:`)),
    );
    assert.ok(
      githubKeys.includes(
        `${prefix}ratelimit:w:${github.rateLimitResource(`${origin.url}/doc`)}`,
      ),
    );
    const gitlabKeys = await scan(`${prefix}*:gitlab:*`);
    assert.ok(gitlabKeys.length >= 2);
    assert.deepEqual(
      (await scan(`${prefix}*`)).length,
      githubKeys.length + gitlabKeys.length,
    );
    await github.close();
    await gitlab.close();
  });

  for (const adaptive of [false, true]) {
    const name = adaptive
      ? "UpstashAdaptiveRateLimitStore"
      : "UpstashRateLimitStore";
    it(`with ${name}, the cooldown check and the admission cost one HTTP request, and so does a refusal`, async () => {
      const options = {
        redis: env.client(),
        keyPrefix: env.prefix(),
        defaultConfig: { limit: 2, windowMs: 60_000 },
      };
      const store = adaptive
        ? new UpstashAdaptiveRateLimitStore(options)
        : new UpstashRateLimitStore(options);
      const client = new HttpClient({
        name: "counted",
        rateLimit: { store, throwOnLimit: true },
        retry: false,
      });
      const url = `${origin.url}/doc`;
      // Loads the script, and for the adaptive store computes the split.
      await store.admit("warm");
      const requests: number[] = [];
      for (const priority of ["user", "background"] as const) {
        env.bridge.resetCounts();
        await (await client.fetch(url, { priority })).text();
        requests.push(env.bridge.requests());
      }
      env.bridge.resetCounts();
      await assert.rejects(
        client.fetch(url, { priority: "background" }),
        RateLimitError,
      );
      requests.push(env.bridge.requests());
      await store.setCooldown(client.rateLimitResource(url), 30_000);
      env.bridge.resetCounts();
      await assert.rejects(client.fetch(url), (error: unknown) => {
        assert.ok(error instanceof RateLimitError);
        assert.ok(error.retryAfterMs > 29_000, `${error.retryAfterMs}`);
        return true;
      });
      requests.push(env.bridge.requests());
      assert.deepEqual(requests, [1, 1, 1, 1]);
      await client.close();
      await store.close();
    });
  }

  it("clients with different names never read each other's cached responses", async () => {
    origin.resetCounts();
    const a = new HttpClient({ name: "a", cache: { store: stores.cache } });
    const b = new HttpClient({ name: "b", cache: { store: stores.cache } });
    assert.equal(await text(a, "/doc"), "call 1");
    assert.equal(await text(b, "/doc"), "call 2");
    assert.equal(await text(a, "/doc"), "call 1");
    assert.equal(await text(b, "/doc"), "call 2");
    assert.equal(origin.calls("/doc"), 2);
    await a.close();
    await b.close();
  });

  it("a scope's clearCache() removes its own entries only, even for a scope id crafted with separators", async () => {
    origin.resetCounts();
    const client = new HttpClient({
      name: "api",
      cache: { store: stores.cache },
    });
    const tenant = client.scope("tenant", "a");
    const crafted = client.scope("tenant", "a:cache");
    const other = client.scope("tenant", "b");
    assert.equal(await text(tenant, "/doc"), "call 1");
    assert.equal(await text(crafted, "/doc"), "call 2");
    assert.equal(await text(other, "/doc"), "call 3");
    await crafted.clearCache();
    assert.equal(await text(tenant, "/doc"), "call 1");
    assert.equal(await text(other, "/doc"), "call 3");
    assert.equal(await text(crafted, "/doc"), "call 4");
    await tenant.clearCache();
    assert.equal(await text(tenant, "/doc"), "call 5");
    assert.equal(await text(other, "/doc"), "call 3");
    await client.close();
  });
});

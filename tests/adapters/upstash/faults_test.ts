// What users see when Upstash is down, slow or misconfigured: typed
// StoreErrors from the stores, fail-open or fail-closed requests through
// HttpClient, nothing that hangs, and recovery once Redis is back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createUpstashStores,
  UpstashCacheStore,
  UpstashDedupeStore,
  UpstashRateLimitStore,
} from "../../../adapters/upstash/mod.ts";
import { HttpClient, type SluiceEvent, StoreError } from "../../../mod.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;
let origin: Origin;

/** Rejects when `promise` takes longer than `ms`: a hang is a failure. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not settle within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

function isUpstashError(operation: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.backend, "upstash");
    assert.equal(error.operation, operation);
    assert.ok(!error.message.includes("command was"), error.message);
    return true;
  };
}

describe("Upstash stores under faults", () => {
  before(async () => {
    env = await startUpstashEnv();
    origin = await startOrigin();
  });
  after(async () => {
    await origin.close();
    await env.close();
  });

  it("every store fails with a StoreError naming upstash and the operation while redis-server is down, and recovers when it returns", async () => {
    const prefix = env.prefix();
    const redis = env.client();
    const cache = new UpstashCacheStore({ redis, keyPrefix: prefix });
    const dedupe = new UpstashDedupeStore({ redis, keyPrefix: prefix });
    const limits = new UpstashRateLimitStore({ redis, keyPrefix: prefix });
    await cache.set("k", "before", 60);
    await env.server.stop();
    try {
      await within(
        assert.rejects(cache.get("k"), isUpstashError("get")),
        2_000,
      );
      await within(
        assert.rejects(cache.set("k", 1, 60), isUpstashError("set")),
        2_000,
      );
      await within(
        assert.rejects(
          dedupe.registerOrJoin("j"),
          isUpstashError("registerOrJoin"),
        ),
        2_000,
      );
      await within(
        assert.rejects(limits.acquire("r"), isUpstashError("acquire")),
        2_000,
      );
    } finally {
      await env.server.start();
    }
    // A fresh server: empty, and without the scripts, which load again.
    assert.equal(await cache.get("k"), undefined);
    await cache.set("k", "after", 60);
    assert.equal(await cache.get("k"), "after");
    assert.equal((await dedupe.registerOrJoin("j")).isOwner, true);
    assert.equal(await limits.acquire("r"), true);
    await Promise.all([cache.close(), dedupe.close(), limits.close()]);
  });

  it("fails fast with a StoreError when the REST endpoint refuses connections, and recovers when it listens again", async () => {
    const cache = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    await env.bridge.stop();
    try {
      const started = performance.now();
      await assert.rejects(
        within(cache.get("k"), 3_000),
        isUpstashError("get"),
      );
      assert.ok(performance.now() - started < 2_000);
    } finally {
      await env.bridge.start();
    }
    await cache.set("k", "back", 60);
    assert.equal(await cache.get("k"), "back");
    await cache.close();
  });

  it("abandons an operation Upstash does not answer within timeoutMs", async () => {
    const limits = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      timeoutMs: 150,
    });
    await limits.acquire("warm");
    env.bridge.delayMs = 1_000;
    try {
      const started = performance.now();
      await assert.rejects(limits.acquire("r"), (error: unknown) => {
        assert.ok(isUpstashError("acquire")(error));
        assert.match((error as Error).message, /did not answer within 150 ms/);
        return true;
      });
      const took = performance.now() - started;
      assert.ok(took >= 140 && took < 600, `took ${took} ms`);
    } finally {
      env.bridge.delayMs = 0;
    }
    await limits.close();
  });

  it("reports a wrong token as rejected credentials, with @upstash/redis and with url and token", async () => {
    const stores = [
      new UpstashCacheStore({
        redis: env.client({ token: "wrong" }),
        keyPrefix: env.prefix(),
      }),
      new UpstashCacheStore({
        url: env.bridge.url,
        token: "wrong",
        keyPrefix: env.prefix(),
      }),
    ];
    for (const store of stores) {
      await assert.rejects(store.set("k", "secret value", 60), (error) => {
        assert.ok(isUpstashError("set")(error));
        assert.match(
          (error as Error).message,
          /rejected the credentials.*UPSTASH_REDIS_REST_TOKEN/,
        );
        assert.ok(!(error as Error).message.includes("secret value"));
        return true;
      });
      await store.close();
    }
  });

  it("HttpClient requests still complete while redis-server is down when the stores fail open, and use the stores again once it returns", async () => {
    origin.route("/open", {
      body: { ok: true },
      headers: { "cache-control": "max-age=60" },
    });
    const stores = createUpstashStores({
      redis: env.client(),
      keyPrefix: env.prefix(),
      rateLimit: { defaultConfig: { limit: 100, windowMs: 60_000 } },
    });
    const events: SluiceEvent[] = [];
    const client = new HttpClient({
      name: "open",
      cache: { store: stores.cache },
      dedupe: { store: stores.dedupe },
      rateLimit: { store: stores.rateLimit },
      retry: false,
      onEvent: (event) => void events.push(event),
    });
    await env.server.stop();
    try {
      const responses = await within(
        Promise.all(
          Array.from({ length: 5 }, () => client.fetch(`${origin.url}/open`)),
        ),
        3_000,
      );
      for (const response of responses) {
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { ok: true });
      }
      const errors = events.filter((e) => e.type === "error");
      assert.ok(errors.length > 0);
      assert.ok(errors.every((e) => e.type === "error" && e.failedOpen));
    } finally {
      await env.server.start();
    }
    origin.resetCounts();
    const first = await client.fetch(`${origin.url}/open`);
    await first.arrayBuffer();
    const second = await client.fetch(`${origin.url}/open`);
    assert.deepEqual(await second.json(), { ok: true });
    assert.equal(origin.calls("/open"), 1, "the second request is a cache hit");
    await client.close();
    await stores.close();
  });

  it("HttpClient requests fail with StoreError, without hanging, when the rate-limit store is down and fails closed", async () => {
    origin.route("/closed", { body: "ok" });
    const limits = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    const client = new HttpClient({
      name: "closed",
      rateLimit: { store: limits, failOpen: false },
      retry: false,
    });
    origin.resetCounts();
    await env.server.stop();
    try {
      await within(
        assert.rejects(client.fetch(`${origin.url}/closed`), (error) => {
          assert.ok(error instanceof StoreError);
          assert.equal(error.backend, "upstash");
          return true;
        }),
        3_000,
      );
      assert.equal(origin.calls("/closed"), 0);
    } finally {
      await env.server.start();
    }
    const response = await client.fetch(`${origin.url}/closed`);
    assert.equal(await response.text(), "ok");
    await client.close();
    await limits.close();
  });
});

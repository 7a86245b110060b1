import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheStoreMetric,
  ConfigError,
  FallbackCacheStore,
  MemoryCacheStore,
  MonitoredCacheStore,
  StoreError,
} from "../../../mod.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { backends, testDecorator, upstashEnv } from "./_backends.ts";

testDecorator(
  "FallbackCacheStore",
  (primary, { clock, options }) =>
    new FallbackCacheStore([primary, new MemoryCacheStore({ clock })], options),
  { invalidOptions: [{ onError: "warn" }] },
);

const upstash = backends.find((backend) => backend.name === "Upstash")!;

describe("FallbackCacheStore over Upstash during an outage", () => {
  upstash.hooks();

  it("reads from the secondary while Redis is down, writes to both, and reports what failed", async () => {
    const clock = new ManualClock();
    const { store: redis } = upstash.open({ clock, namespace: "fb" });
    const memory = new MemoryCacheStore({ clock });
    const reported: StoreError[] = [];
    const cache = new FallbackCacheStore([redis, memory], {
      onError: (error) => reported.push(error),
    });
    assert.equal(await cache.set("k", { v: 1 }, 60), true);
    assert.deepStrictEqual(await redis.get("k"), { v: 1 });
    assert.deepStrictEqual(await memory.get("k"), { v: 1 });
    assert.equal(reported.length, 0);

    const bridge = upstashEnv().bridge;
    await bridge.stop();
    try {
      assert.deepStrictEqual(await cache.get("k"), { v: 1 });
      assert.equal(await cache.set("k", { v: 2 }, 60), true);
      assert.deepStrictEqual(await cache.get("k"), { v: 2 });
      assert.equal(reported.length, 1);
      const [error] = reported;
      assert.ok(error instanceof StoreError);
      assert.equal(error.backend, "fallback");
      assert.equal(error.operation, "set");
      assert.match(error.message, /1 of 2 stores failed: \[0\] upstash:/);
      assert.ok(error.cause instanceof AggregateError);
      assert.equal(error.cause.errors.length, 1);

      // With the secondary gone too, every store fails.
      await memory.close();
      const failure = await cache.get("k").then(
        () => assert.fail("expected a StoreError"),
        (e: unknown) => e,
      );
      assert.ok(failure instanceof StoreError);
      assert.match(
        failure.message,
        /all 2 stores failed: \[0\] upstash: .*; \[1\] memory:/,
      );
      assert.equal((failure.cause as AggregateError).errors.length, 2);
      await assert.rejects(cache.set("k", 3, 60), StoreError);
    } finally {
      await bridge.start();
    }
    // Redis missed the second write: it serves the first until its TTL.
    assert.deepStrictEqual(await cache.get("k"), { v: 1 });
    await redis.close();
  });
});

describe("FallbackCacheStore", () => {
  it("takes a miss of the first store as the answer, without asking the next", async () => {
    const metrics: CacheStoreMetric[] = [];
    const secondary = new MonitoredCacheStore(
      new MemoryCacheStore(),
      (m) => metrics.push(m),
    );
    const cache = new FallbackCacheStore([new MemoryCacheStore(), secondary]);
    assert.equal(await cache.get("missing"), undefined);
    assert.equal(metrics.filter((m) => m.op === "get").length, 0);
  });

  it("set() resolves false when a store refuses the value, though another kept it", async () => {
    const small = new MemoryCacheStore({ maxBytes: 1_000 });
    const large = new MemoryCacheStore();
    const cache = new FallbackCacheStore([small, large]);
    assert.equal(await cache.set("k", "x".repeat(5_000), 60), false);
    assert.equal(await cache.get("k"), undefined);
    assert.equal(await large.get("k"), "x".repeat(5_000));
  });

  it("deletes and clears in every store", async () => {
    const a = new MemoryCacheStore();
    const b = new MemoryCacheStore();
    const cache = new FallbackCacheStore([a, b]);
    await cache.set("p:1", 1, 60);
    await cache.set("q:1", 2, 60);
    await cache.delete("p:1");
    assert.equal(await b.get("p:1"), undefined);
    await cache.clear("q:");
    assert.equal(await b.get("q:1"), undefined);
    assert.equal(a.size + b.size, 0);
  });

  it("a listener that throws breaks nothing", async () => {
    const broken = new MemoryCacheStore();
    await broken.close();
    const cache = new FallbackCacheStore([broken, new MemoryCacheStore()], {
      onError: () => {
        throw new Error("listener bug");
      },
    });
    assert.equal(await cache.set("k", "v", 60), true);
    assert.equal(await cache.get("k"), "v");
  });

  it("refuses no stores, the same store twice, and what is not a store", () => {
    const store = new MemoryCacheStore();
    for (const stores of [[], [store, store], [store, {}], "stores"]) {
      assert.throws(
        () => new FallbackCacheStore(stores as never),
        ConfigError,
      );
    }
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheStore,
  type CacheStoreMetric,
  ConfigError,
  MemoryCacheStore,
  MonitoredCacheStore,
  RetryingCacheStore,
  StoreError,
} from "../../../mod.ts";
import { LibsqlCacheStore } from "../../../adapters/libsql/mod.ts";
import { UpstashCacheStore } from "../../../adapters/upstash/mod.ts";
import { storeCall } from "../../../src/_store_deadline.ts";
import { isTransientStoreError } from "../../../src/stores/compose/_transient.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { settles, until } from "../../client/_helpers.ts";
import { backends, testDecorator, upstashEnv } from "./_backends.ts";

testDecorator(
  "RetryingCacheStore",
  (inner, { clock, options }) =>
    new RetryingCacheStore(inner, { clock, ...options }),
  {
    invalidOptions: [
      { attempts: 0 },
      { attempts: 11 },
      { attempts: 1.5 },
      { delayMs: -1 },
      { delayMs: NaN },
      { storeTimeoutMs: 0 },
      { clock: {} },
      { retryOn: "network" },
    ],
  },
);

/** A store that counts the operations that reach it. */
function counted(store: CacheStore<unknown>): {
  store: CacheStore<unknown>;
  count(): number;
} {
  const metrics: CacheStoreMetric[] = [];
  return {
    store: new MonitoredCacheStore(store, (m) => metrics.push(m)),
    count: () => metrics.length,
  };
}

const upstash = backends.find((backend) => backend.name === "Upstash")!;

describe("RetryingCacheStore over Upstash during an outage", () => {
  upstash.hooks();

  it("tries again after delayMs on the clock, and the retry succeeds once Redis is back", async () => {
    const clock = new ManualClock();
    const { store: redis } = upstash.open({ clock, namespace: "retry" });
    await redis.set("k", { v: 1 }, 60);
    const inner = counted(redis);
    const store = new RetryingCacheStore(inner.store, {
      attempts: 2,
      delayMs: 25,
      clock,
    });
    const bridge = upstashEnv().bridge;
    await bridge.stop();
    let reading: Promise<unknown>;
    try {
      reading = store.get("k");
      // The first try failed: the retry waits 25 ms on the clock.
      await until(() => clock.pendingSleeps === 1, 5_000);
      assert.equal(inner.count(), 1);
    } finally {
      await bridge.start();
    }
    clock.advance(24);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(inner.count(), 1, "no retry before delayMs");
    clock.advance(1);
    assert.deepStrictEqual(await settles(reading), { v: 1 });
    assert.equal(inner.count(), 2);
    await store.close();
  });

  it("gives up with the last error once the tries are spent, waiting twice as long before each", async () => {
    const clock = new ManualClock();
    const { store: redis } = upstash.open({ clock, namespace: "retry" });
    const inner = counted(redis);
    const store = new RetryingCacheStore(inner.store, {
      attempts: 3,
      delayMs: 25,
      clock,
    });
    const bridge = upstashEnv().bridge;
    await bridge.stop();
    try {
      const started = clock.now();
      const writing = store.set("k", "v", 60).then(
        () => assert.fail("expected a StoreError"),
        (e: unknown) => e,
      );
      await until(() => clock.pendingSleeps === 1, 5_000);
      clock.advance(25);
      await until(
        () => inner.count() === 2 && clock.pendingSleeps === 1,
        5_000,
      );
      clock.advance(50);
      const error = await settles(writing);
      assert.ok(error instanceof StoreError);
      assert.equal(error.backend, "upstash");
      assert.equal(inner.count(), 3);
      assert.equal(clock.now() - started, 75);
    } finally {
      await bridge.start();
    }
  });

  it("starts no retry whose wait would end past storeTimeoutMs", async () => {
    const clock = new ManualClock();
    const { store: redis } = upstash.open({ clock, namespace: "retry" });
    const inner = counted(redis);
    const store = new RetryingCacheStore(inner.store, {
      attempts: 10,
      delayMs: 60,
      storeTimeoutMs: 100,
      clock,
    });
    const bridge = upstashEnv().bridge;
    await bridge.stop();
    try {
      const reading = store.get("k").catch((e: unknown) => e);
      await until(() => clock.pendingSleeps === 1, 5_000);
      clock.advance(60);
      // The next wait (120 ms) would end past 100 ms: the second failure
      // is thrown.
      assert.ok(await settles(reading) instanceof StoreError);
      assert.equal(inner.count(), 2);
      assert.equal(clock.pendingSleeps, 0);
    } finally {
      await bridge.start();
    }
  });
});

describe("RetryingCacheStore", () => {
  it("does not retry what another try would meet again: a closed store, a value that cannot be encoded, a bad option", async () => {
    const clock = new ManualClock();
    const closed = new MemoryCacheStore();
    await closed.close();
    const libsql = new LibsqlCacheStore({ url: ":memory:", clock });
    const cases: [
      string,
      CacheStore<unknown>,
      (s: CacheStore<unknown>) => Promise<unknown>,
    ][] = [
      ["a closed store", closed, (s) => s.get("k")],
      ["a BigInt", libsql, (s) => s.set("k", { n: 1n }, 60)],
      ["a ConfigError", {
        get: () => Promise.reject(new ConfigError("X", "url", "", "a URL")),
        set: () => Promise.resolve(true),
        delete: () => Promise.resolve(),
        clear: () => Promise.resolve(),
        close: () => Promise.resolve(),
      }, (s) => s.get("k")],
    ];
    for (const [label, target, call] of cases) {
      const inner = counted(target);
      const store = new RetryingCacheStore(inner.store, { attempts: 5, clock });
      await assert.rejects(call(store), Error, label);
      assert.equal(inner.count(), 1, `${label} is tried once`);
      assert.equal(clock.pendingSleeps, 0);
    }
    await libsql.close();
  });

  it("asks retryOn, and takes a retryOn that throws as a no", async () => {
    const clock = new ManualClock();
    const closed = new MemoryCacheStore();
    await closed.close();
    const inner = counted(closed);
    const seen: unknown[] = [];
    const store = new RetryingCacheStore(inner.store, {
      attempts: 2,
      delayMs: 10,
      clock,
      retryOn: (error) => {
        seen.push(error);
        return true;
      },
    });
    const reading = store.get("k").catch((e: unknown) => e);
    await until(() => clock.pendingSleeps === 1);
    clock.advance(10);
    assert.ok(await reading instanceof StoreError);
    assert.equal(inner.count(), 2);
    assert.equal(seen.length, 1);

    const throwing = new RetryingCacheStore(closed, {
      clock,
      retryOn: () => {
        throw new Error("bug");
      },
    });
    await assert.rejects(throwing.get("k"), StoreError);
    assert.equal(clock.pendingSleeps, 0);
  });

  it("tells transient store failures from the others, as the stores raise them", async () => {
    const refused = new UpstashCacheStore({
      url: "http://127.0.0.1:9",
      token: "t",
    });
    const refusal = await refused.get("k").catch((e: unknown) => e);
    assert.ok(refusal instanceof StoreError);
    assert.equal(isTransientStoreError(refusal), true, String(refusal));

    const clock = new ManualClock();
    const hanging = storeCall(
      "get",
      () => new Promise(() => {}),
      5,
      undefined,
      clock,
    )
      .catch((e: unknown) => e);
    await until(() => clock.pendingSleeps === 1);
    clock.advance(5);
    const hung = await hanging;
    assert.ok(hung instanceof StoreError);
    assert.equal(isTransientStoreError(hung), true, String(hung));

    const closed = new MemoryCacheStore();
    await closed.close();
    assert.equal(
      isTransientStoreError(await closed.get("k").catch((e: unknown) => e)),
      false,
    );
    const libsql = new LibsqlCacheStore({ url: ":memory:" });
    const encoding = await libsql.set("k", { n: 1n }, 60).catch((e: unknown) =>
      e
    );
    assert.ok(encoding instanceof StoreError);
    assert.equal(isTransientStoreError(encoding), false, String(encoding));
    await libsql.close();
    assert.equal(isTransientStoreError(new TypeError("fetch failed")), false);
    assert.equal(
      isTransientStoreError(new ConfigError("X", "url", "", "a URL")),
      false,
    );
  });
});

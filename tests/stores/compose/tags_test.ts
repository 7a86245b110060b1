// Cache tags through the store decorators: each passes tags on, has
// invalidateTags exactly when what it wraps can honour it, and keeps its
// own promise (hashed tags, L1 copies, every store of a fallback).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheSetOptions,
  type CacheStore,
  type CacheStoreMetric,
  CompressedCacheStore,
  EncryptedCacheStore,
  FallbackCacheStore,
  MemoryCacheStore,
  MonitoredCacheStore,
  RetryingCacheStore,
  StoreError,
  TieredCacheStore,
} from "../../../mod.ts";
import { ManualClock } from "../../../testing/mod.ts";

/** A store without tag support: the contract as it was before tags. */
function untagged(): CacheStore<unknown> {
  const inner = new MemoryCacheStore();
  return {
    get: (hash) => inner.get(hash),
    set: (hash, value, ttl) => inner.set(hash, value, ttl),
    delete: (hash) => inner.delete(hash),
    clear: (prefix) => inner.clear(prefix),
    close: () => inner.close(),
  };
}

/** A memory store that records the tags every write and invalidation carried. */
function recording(): {
  store: MemoryCacheStore;
  written: string[][];
  invalidated: string[][];
} {
  const store = new MemoryCacheStore();
  const written: string[][] = [];
  const invalidated: string[][] = [];
  const set = store.set.bind(store);
  const invalidate = store.invalidateTags.bind(store);
  store.set = (hash, value, ttl, options?: CacheSetOptions) => {
    written.push([...options?.tags ?? []]);
    return set(hash, value, ttl, options);
  };
  store.invalidateTags = (tags) => {
    invalidated.push([...tags]);
    return invalidate(tags);
  };
  return { store, written, invalidated };
}

const key = (n: number) =>
  crypto.getRandomValues(new Uint8Array(32)).map(
    (b) => (b + n) & 0xff,
  );

describe("Cache tags through the store decorators", () => {
  it("each decorator has invalidateTags only over a store that has it", () => {
    const keys = { k1: key(1) };
    const over = (inner: CacheStore<unknown>): CacheStore<unknown>[] => [
      new CompressedCacheStore(inner),
      new EncryptedCacheStore(inner, { keys }),
      new RetryingCacheStore(inner),
      new MonitoredCacheStore(inner, () => {}),
      new TieredCacheStore({ l1: new MemoryCacheStore(), l2: inner }),
      new FallbackCacheStore([inner, new MemoryCacheStore()]),
    ];
    for (const store of over(new MemoryCacheStore())) {
      assert.equal(typeof store.invalidateTags, "function");
    }
    for (const store of over(untagged())) {
      assert.equal(store.invalidateTags, undefined);
    }
    // Tiered asks only L2; a fallback needs every store.
    assert.equal(
      typeof new TieredCacheStore({
        l1: untagged(),
        l2: new MemoryCacheStore(),
      }).invalidateTags,
      "function",
    );
    assert.equal(
      new FallbackCacheStore([new MemoryCacheStore(), untagged()])
        .invalidateTags,
      undefined,
    );
  });

  it("CompressedCacheStore, RetryingCacheStore and MonitoredCacheStore pass tags and invalidations on unchanged", async () => {
    const metrics: CacheStoreMetric[] = [];
    const { store: inner, written, invalidated } = recording();
    const store = new MonitoredCacheStore(
      new RetryingCacheStore(new CompressedCacheStore(inner)),
      (metric) => metrics.push(metric),
    );
    await store.set("a", "x".repeat(5_000), 60, { tags: ["api:cache:t"] });
    await store.set("b", "plain", 60);
    assert.deepEqual(written, [["api:cache:t"], []]);
    assert.equal(await store.invalidateTags!(["api:cache:t"]), 1);
    assert.deepEqual(invalidated, [["api:cache:t"]]);
    assert.equal(await store.get("a"), undefined);
    assert.equal(await store.get("b"), "plain");
    assert.deepEqual(
      metrics.map((m) => m.op),
      ["set", "set", "invalidateTags", "get", "get"],
    );
  });

  it("EncryptedCacheStore hands the wrapped store keyed hashes of tags, keeping the client's prefix", async () => {
    const { store: inner, written } = recording();
    const store = new EncryptedCacheStore(inner, { keys: { k1: key(1) } });
    await store.set("api:cache:h1", { v: 1 }, 60, {
      tags: ["api:cache:user%3A42"],
    });
    const [tags] = written;
    assert.equal(tags!.length, 1);
    assert.match(tags![0]!, /^api:cache:[A-Za-z0-9_-]{24}$/);
    assert.ok(!tags![0]!.includes("user"), "the label is not in the clear");
    // Another keyring hashes the same tag otherwise.
    const other = recording();
    await new EncryptedCacheStore(other.store, { keys: { k1: key(2) } }).set(
      "x",
      1,
      60,
      { tags: ["api:cache:user%3A42"] },
    );
    assert.notEqual(other.written[0]![0], tags![0]);
    assert.equal(await store.invalidateTags!(["api:cache:user%3A42"]), 1);
    assert.equal(await store.get("api:cache:h1"), undefined);
  });

  it("EncryptedCacheStore still reaches entries tagged under the previous key after a rotation", async () => {
    const k1 = key(1);
    const k2 = key(2);
    const inner = new MemoryCacheStore();
    const before = new EncryptedCacheStore(inner, { keys: { k1 } });
    await before.set("old", "tagged with k1", 60, { tags: ["api:cache:t"] });
    const after = new EncryptedCacheStore(inner, {
      keys: { k2, k1 },
      current: "k2",
    });
    await after.set("new", "tagged with k2", 60, { tags: ["api:cache:t"] });
    assert.equal(await after.invalidateTags!(["api:cache:t"]), 2);
    assert.equal(await after.get("old"), undefined);
    assert.equal(await after.get("new"), undefined);
  });

  it("TieredCacheStore drops L1's copies (filled from L2 without their tags) under the tags' prefix", async () => {
    const clock = new ManualClock();
    const l2 = new MemoryCacheStore({ clock });
    const l1 = new MemoryCacheStore({ clock });
    const store = new TieredCacheStore({ l1, l2, l1MaxTtlSeconds: 60, clock });
    await l2.set("api:cache:a", "A", 60, { tags: ["api:cache:t"] });
    await l2.set("api:tenant=x:cache:b", "B", 60);
    assert.equal(await store.get("api:cache:a"), "A"); // now in L1 too
    assert.equal(await store.get("api:tenant=x:cache:b"), "B");
    assert.equal(await l1.get("api:cache:a"), "A");
    assert.equal(await store.invalidateTags!(["api:cache:t"]), 1);
    assert.equal(await l1.get("api:cache:a"), undefined);
    assert.equal(await store.get("api:cache:a"), undefined);
    assert.equal(
      await l1.get("api:tenant=x:cache:b"),
      "B",
      "another scope's L1 copies stay",
    );
  });

  it("TieredCacheStore: a read under way during invalidateTags does not refill L1", async () => {
    const l1 = new MemoryCacheStore();
    const memory = new MemoryCacheStore();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // An L2 whose reads answer late, as a remote store's do.
    const l2: CacheStore<unknown> = {
      get: async (hash) => {
        const value = await memory.get(hash);
        await gate;
        return value;
      },
      set: (hash, value, ttl, options) => memory.set(hash, value, ttl, options),
      delete: (hash) => memory.delete(hash),
      clear: (prefix) => memory.clear(prefix),
      close: () => memory.close(),
      invalidateTags: (tags) => memory.invalidateTags(tags),
    };
    const store = new TieredCacheStore({ l1, l2 });
    await memory.set("api:cache:a", "A", 60, { tags: ["api:cache:t"] });
    const reading = store.get("api:cache:a");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(await store.invalidateTags!(["api:cache:t"]), 1);
    release();
    assert.equal(await reading, "A", "the read answers what it read");
    assert.equal(await l1.get("api:cache:a"), undefined, "L1 is not refilled");
    assert.equal(await store.get("api:cache:a"), undefined);
  });

  it("FallbackCacheStore invalidates in every store, and succeeds while one is down", async () => {
    const primary = new MemoryCacheStore();
    const secondary = new MemoryCacheStore();
    const errors: StoreError[] = [];
    const store = new FallbackCacheStore([primary, secondary], {
      onError: (error) => errors.push(error),
    });
    await store.set("a", "A", 60, { tags: ["t"] });
    await store.set("b", "B", 60, { tags: ["t"] });
    assert.equal(await secondary.get("a"), "A");
    await primary.close();
    assert.equal(await store.invalidateTags!(["t"]), 2);
    assert.equal(errors.length, 1);
    assert.equal(await secondary.get("a"), undefined);
    await secondary.close();
    await assert.rejects(store.invalidateTags!(["t"]), StoreError);
  });
});

describe("RetryingCacheStore and the age of a retried write", () => {
  it("dates a retried write from when the value was obtained, so an invalidation during the wait refuses it", async () => {
    const clock = new ManualClock();
    const inner = new MemoryCacheStore({ clock });
    let tries = 0;
    const flaky: CacheStore<unknown> = {
      get: (hash) => inner.get(hash),
      set: (hash, value, ttl, options?: CacheSetOptions) => {
        tries++;
        if (tries > 1) return inner.set(hash, value, ttl, options);
        // The first try fails; meanwhile another caller invalidates the tag.
        return inner.invalidateTags(["api:cache:t"]).then(() => {
          throw new StoreError(
            "the store did not answer within 5000 ms",
            "memory",
            "set",
          );
        });
      },
      delete: (hash) => inner.delete(hash),
      clear: (prefix) => inner.clear(prefix),
      invalidateTags: (tags) => inner.invalidateTags(tags),
      close: () => inner.close(),
    };
    const store = new RetryingCacheStore(flaky, { clock, delayMs: 25 });
    // Obtained 10 ms ago, before the invalidation the first try meets.
    const writing = store.set("a", "stale", 60, {
      tags: ["api:cache:t"],
      ageMs: 10,
    });
    await clock.advanceAsync(25);
    assert.equal(await writing, false, "the retry is refused");
    assert.equal(tries, 2);
    assert.equal(await store.get("a"), undefined);
    // A value obtained after the invalidation is kept.
    assert.equal(
      await store.set("a", "fresh", 60, { tags: ["api:cache:t"] }),
      true,
    );
    assert.equal(await store.get("a"), "fresh");
  });
});

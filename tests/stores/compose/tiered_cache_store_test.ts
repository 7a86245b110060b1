import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheStore,
  type CacheStoreMetric,
  MemoryCacheStore,
  MonitoredCacheStore,
  TieredCacheStore,
} from "../../../mod.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { backends, testDecorator, upstashEnv } from "./_backends.ts";
import { entry } from "./_entries.ts";

testDecorator(
  "TieredCacheStore",
  (l2, { clock, options }) =>
    new TieredCacheStore({
      l1: new MemoryCacheStore({ clock }),
      l2,
      clock,
      ...options,
    }),
  {
    invalidOptions: [
      { l1MaxTtlSeconds: 0 },
      { l1MaxTtlSeconds: -1 },
      { l1MaxTtlSeconds: Infinity },
      { l1MaxTtlSeconds: "5" },
      { l1: {} },
      { l2: null },
      { clock: {} },
    ],
  },
);

/** A store that counts the operations that reach it. */
function counted<T>(store: CacheStore<T>): {
  store: MonitoredCacheStore<T>;
  count(op?: string): number;
} {
  const metrics: CacheStoreMetric[] = [];
  return {
    store: new MonitoredCacheStore(store, (m) => metrics.push(m)),
    count: (op) =>
      metrics.filter((m) => op === undefined || m.op === op).length,
  };
}

for (const backend of backends) {
  describe(`TieredCacheStore over ${backend.name}`, () => {
    backend.hooks();

    it("a hit in L1 makes no call to L2", async () => {
      const clock = new ManualClock();
      const { store: remote } = backend.open({ clock, namespace: "tier" });
      const l2 = counted(remote);
      const cache = new TieredCacheStore({
        l1: new MemoryCacheStore({ clock }),
        l2: l2.store,
        clock,
      });
      const value = entry({ at: clock.now() });
      await cache.set("k", value, 60);
      assert.equal(l2.count(), 1);
      const requests = backend.name === "Upstash"
        ? upstashEnv().bridge.requests()
        : 0;
      for (let i = 0; i < 20; i++) {
        assert.deepStrictEqual(await cache.get("k"), value);
      }
      assert.equal(l2.count(), 1, "no operation reached L2");
      if (backend.name === "Upstash") {
        assert.equal(
          upstashEnv().bridge.requests(),
          requests,
          "no request reached Redis",
        );
      }
      await cache.close();
    });

    it("what L2 answers fills L1, for at most l1MaxTtlSeconds", async () => {
      const clock = new ManualClock();
      const { store: remote } = backend.open({ clock, namespace: "tier" });
      const l2 = counted(remote);
      const cache = new TieredCacheStore({
        l1: new MemoryCacheStore({ clock }),
        l2: l2.store,
        l1MaxTtlSeconds: 5,
        clock,
      });
      // Written by another process: it reaches L2 only.
      await remote.set("k", { from: "l2" }, 0);
      assert.deepStrictEqual(await cache.get("k"), { from: "l2" });
      assert.deepStrictEqual(await cache.get("k"), { from: "l2" });
      assert.equal(l2.count("get"), 1, "the second read hit L1");
      clock.advance(5_001);
      assert.deepStrictEqual(await cache.get("k"), { from: "l2" });
      assert.equal(l2.count("get"), 2, "L1 let the entry go after 5 s");
      await cache.close();
    });
  });
}

describe("TieredCacheStore", () => {
  it("keeps a response in L1 no longer than L2 keeps it at least: its freshness, plus its stale windows", async () => {
    const clock = new ManualClock();
    const l2 = new MemoryCacheStore({ clock });
    const l2Reads = counted(l2);
    const cache = new TieredCacheStore({
      l1: new MemoryCacheStore({ clock }),
      l2: l2Reads.store,
      l1MaxTtlSeconds: 5,
      clock,
    });
    // Fresh for 2 s, no stale window: L1 keeps it 2 s, not 5.
    await l2.set("short", entry({ maxAge: 2, at: clock.now() }), 3_600);
    await cache.get("short");
    clock.advance(1_999);
    await cache.get("short");
    assert.equal(l2Reads.count("get"), 1);
    clock.advance(2);
    await cache.get("short");
    assert.equal(l2Reads.count("get"), 2);
    // That read came after the freshness ended: the stale entry stays out
    // of L1, and every read of it asks L2.
    await cache.get("short");
    assert.equal(l2Reads.count("get"), 3);

    // An entry that arrived 50 s old with max-age=60 has 10 s left; with
    // stale-while-revalidate=30 L2 keeps it 30 s more: L1 keeps it 5 s.
    const aged = entry({
      maxAge: 60,
      at: clock.now(),
      headers: {
        age: "50",
        "cache-control": "max-age=60, stale-while-revalidate=30",
      },
    });
    await l2.set("aged", aged, 3_600);
    await cache.get("aged");
    clock.advance(4_999);
    await cache.get("aged");
    assert.equal(l2Reads.count("get"), 4);
    clock.advance(2);
    await cache.get("aged");
    assert.equal(l2Reads.count("get"), 5);
    await cache.close();
  });

  it("a write fills L1 with the TTL it gives L2, capped at l1MaxTtlSeconds", async () => {
    const clock = new ManualClock();
    const l1 = new MemoryCacheStore({ clock });
    const l2 = new MemoryCacheStore({ clock });
    const cache = new TieredCacheStore({ l1, l2, l1MaxTtlSeconds: 5, clock });
    await cache.set("short", "s", 1);
    await cache.set("long", "l", 60);
    await cache.set("forever", "f", 0);
    clock.advance(1_001);
    assert.equal(await l1.get("short"), undefined);
    assert.equal(await l1.get("long"), "l");
    clock.advance(4_000);
    assert.equal(await l1.get("long"), undefined);
    assert.equal(await l1.get("forever"), undefined);
    assert.equal(await l2.get("forever"), "f");
  });

  it("after another process deletes an entry in L2, this process serves it from L1 for at most l1MaxTtlSeconds", async () => {
    const clock = new ManualClock();
    const l2 = new MemoryCacheStore({ clock });
    const mine = new TieredCacheStore({
      l1: new MemoryCacheStore({ clock }),
      l2,
      l1MaxTtlSeconds: 3,
      clock,
    });
    const theirs = new TieredCacheStore({
      l1: new MemoryCacheStore({ clock }),
      l2,
      l1MaxTtlSeconds: 3,
      clock,
    });
    await mine.set("k", "v1", 60);
    await theirs.delete("k");
    assert.equal(await theirs.get("k"), undefined);
    assert.equal(await mine.get("k"), "v1", "stale in this process's L1");
    clock.advance(3_001);
    assert.equal(await mine.get("k"), undefined);
  });

  it("a delete or a write during a read of L2 keeps that read from refilling L1", async () => {
    const clock = new ManualClock();
    const l1 = new MemoryCacheStore({ clock });
    const l2 = new MemoryCacheStore({ clock });
    const cache = new TieredCacheStore({ l1, l2, clock });
    await l2.set("k", "old", 60);
    // L2 answers once the test lets it: the read is under way meanwhile.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const get = l2.get.bind(l2);
    l2.get = async (key) => {
      const value = await get(key);
      await gate;
      return value;
    };
    const reading = cache.get("k");
    await new Promise((resolve) => setTimeout(resolve, 0));
    await cache.delete("k");
    release();
    assert.equal(await reading, "old", "the read had begun before the delete");
    assert.equal(await l1.get("k"), undefined, "L1 was not refilled");
    assert.equal(await cache.get("k"), undefined);
  });

  it("when L2 refuses or fails a write, L1 drops the key too", async () => {
    const clock = new ManualClock();
    const l1 = new MemoryCacheStore({ clock });
    const l2 = new MemoryCacheStore({ clock, maxBytes: 1_000 });
    const cache = new TieredCacheStore({ l1, l2, clock });
    await cache.set("k", "small", 60);
    assert.equal(await cache.set("k", "x".repeat(2_000), 60), false);
    assert.equal(await l1.get("k"), undefined);
    assert.equal(await cache.get("k"), undefined);

    await cache.set("k", "small", 60);
    await l2.close();
    await assert.rejects(cache.set("k", "newer", 60), { code: "ERR_STORE" });
    assert.equal(
      await l1.get("k"),
      undefined,
      "the older value is gone from L1",
    );
  });

  it("a failing L1 is skipped: reads and writes go on through L2", async () => {
    const clock = new ManualClock();
    const l1 = new MemoryCacheStore({ clock });
    const l2 = new MemoryCacheStore({ clock });
    const cache = new TieredCacheStore({ l1, l2, clock });
    await l2.set("k", "v", 60);
    await l1.close();
    assert.equal(await cache.get("k"), "v");
  });

  it("clear(prefix) clears both tiers, and only that prefix", async () => {
    const clock = new ManualClock();
    const l1 = new MemoryCacheStore({ clock });
    const l2 = new MemoryCacheStore({ clock });
    const cache = new TieredCacheStore({ l1, l2, clock });
    await cache.set("a:1", 1, 60);
    await cache.set("b:1", 2, 60);
    await cache.clear("a:");
    assert.equal(await l1.get("a:1"), undefined);
    assert.equal(await l2.get("a:1"), undefined);
    assert.equal(await cache.get("b:1"), 2);
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { describe, it } from "node:test";
import { ConfigError, MemoryCacheStore, StoreError } from "../../../mod.ts";
import { ManualClock, testCacheStore } from "../../../testing/mod.ts";

testCacheStore(
  "MemoryCacheStore",
  ({ clock, options }) => new MemoryCacheStore({ clock, ...options }),
  {
    sizeLimit: { options: { maxBytes: 4_096 }, bytes: 4_096 },
    invalidOptions: [
      { maxEntries: 0 },
      { maxEntries: -1 },
      { maxEntries: 1.5 },
      { maxEntries: Number.NaN },
      { maxBytes: 0 },
      { maxBytes: Infinity },
      { maxBytes: "50MB" },
      { clock: {} },
    ],
  },
);

describe("MemoryCacheStore", () => {
  it("evicts the least recently used entry when maxEntries is exceeded", async () => {
    const cache = new MemoryCacheStore<string>({ maxEntries: 3 });
    await cache.set("a", "A", 0);
    await cache.set("b", "B", 0);
    await cache.set("c", "C", 0);
    assert.equal(await cache.get("a"), "A"); // a is now the most recent
    await cache.set("d", "D", 0);
    assert.equal(cache.size, 3);
    assert.equal(await cache.get("b"), undefined, "b was least recently used");
    assert.equal(await cache.get("a"), "A");
    assert.equal(await cache.get("c"), "C");
    assert.equal(await cache.get("d"), "D");
    await cache.close();
  });

  it("keeps only the newest maxEntries entries when written in order", async () => {
    const cache = new MemoryCacheStore<number>({ maxEntries: 100 });
    for (let i = 0; i < 150; i++) await cache.set(`k${i}`, i, 0);
    assert.equal(cache.size, 100);
    for (let i = 0; i < 50; i++) {
      assert.equal(await cache.get(`k${i}`), undefined);
    }
    for (let i = 50; i < 150; i++) assert.equal(await cache.get(`k${i}`), i);
    await cache.close();
  });

  it("agrees with a plain LRU model over many writes, reads, deletes and expiries", async () => {
    const clock = new ManualClock(0);
    const maxEntries = 40;
    const cache = new MemoryCacheStore<number>({ clock, maxEntries });
    // The model: a Map in recency order (oldest first), with expiry times.
    const model = new Map<string, { value: number; expiresAt: number }>();
    const touch = (key: string): void => {
      const held = model.get(key)!;
      model.delete(key);
      model.set(key, held);
    };
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let step = 0; step < 5_000; step++) {
      const key = `k${random(60)}`;
      const op = random(10);
      if (op < 4) {
        const ttl = random(4) === 0 ? 0 : 1 + random(5);
        assert.equal(await cache.set(key, step, ttl), true);
        model.delete(key);
        model.set(key, {
          value: step,
          expiresAt: ttl === 0 ? Infinity : clock.now() + ttl * 1000,
        });
        while (model.size > maxEntries) {
          model.delete(model.keys().next().value!);
        }
      } else if (op < 8) {
        const held = model.get(key);
        let expected: number | undefined;
        if (held !== undefined && held.expiresAt <= clock.now()) {
          model.delete(key);
        } else if (held !== undefined) {
          expected = held.value;
          touch(key);
        }
        assert.equal(await cache.get(key), expected, `step ${step}: ${key}`);
      } else if (op < 9) {
        await cache.delete(key);
        model.delete(key);
      } else {
        clock.advance(500);
      }
      assert.equal(cache.size, model.size, `step ${step}: size`);
    }
    // Every entry the model holds is there, and nothing else.
    for (let i = 0; i < 60; i++) {
      const held = model.get(`k${i}`);
      const live = held !== undefined && held.expiresAt > clock.now();
      assert.equal(await cache.get(`k${i}`), live ? held!.value : undefined);
    }
    await cache.close();
  });

  it("overwriting an entry makes it the most recently used", async () => {
    const cache = new MemoryCacheStore<string>({ maxEntries: 2 });
    await cache.set("a", "1", 0);
    await cache.set("b", "1", 0);
    await cache.set("a", "2", 0);
    await cache.set("c", "1", 0);
    assert.equal(await cache.get("a"), "2");
    assert.equal(await cache.get("b"), undefined);
    await cache.close();
  });

  it("evicts least recently used entries to stay within maxBytes", async () => {
    const maxBytes = 20_000;
    const cache = new MemoryCacheStore<Uint8Array>({ maxBytes });
    for (let i = 0; i < 100; i++) {
      await cache.set(`body:${i}`, new Uint8Array(1_000).fill(i), 0);
      assert.ok(cache.bytes <= maxBytes, `${cache.bytes} <= ${maxBytes}`);
    }
    assert.ok(cache.size > 10 && cache.size < 20, `holds ${cache.size}`);
    assert.ok(cache.bytes > maxBytes * 0.9, "fills close to the bound");
    assert.deepStrictEqual(
      await cache.get("body:99"),
      new Uint8Array(1_000).fill(99),
    );
    assert.equal(await cache.get("body:0"), undefined);
    await cache.close();
  });

  it("counts strings by their length, two bytes a character beyond Latin-1", async () => {
    const cache = new MemoryCacheStore<string>();
    await cache.set("latin", "é".repeat(10_000), 0);
    const latin = cache.bytes;
    await cache.clear();
    await cache.set("latin", "日".repeat(10_000), 0);
    const wide = cache.bytes;
    assert.ok(latin > 10_000 && latin < 10_500, `latin-1 ${latin}`);
    assert.ok(wide > 20_000 && wide < 20_500, `wide ${wide}`);
    await cache.close();
  });

  it("does not store a value larger than maxBytes, and drops the old value of its key", async () => {
    const cache = new MemoryCacheStore<Uint8Array | string>({
      maxBytes: 4_096,
    });
    await cache.set("small", "kept", 0);
    await cache.set("big", "old", 0);
    await cache.set("big", new Uint8Array(10_000), 0);
    assert.equal(await cache.get("big"), undefined);
    assert.equal(await cache.get("small"), "kept");
    assert.equal(cache.size, 1);
    await cache.close();
  });

  it("keeps values as given, without copying them", async () => {
    const cache = new MemoryCacheStore<{ body: Uint8Array }>();
    const value = { body: new Uint8Array([1, 2, 3]) };
    await cache.set("k", value, 0);
    assert.equal(await cache.get("k"), value);
    await cache.close();
  });

  it("drops an expired entry when it is read, releasing its bytes", async () => {
    const clock = new ManualClock(0);
    const cache = new MemoryCacheStore<string>({ clock });
    await cache.set("k", "v", 1);
    const bytes = cache.bytes;
    assert.ok(bytes > 0);
    clock.advance(1_000);
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
    await cache.close();
  });

  it("keeps the byte count exact through overwrites, deletes and clears", async () => {
    const cache = new MemoryCacheStore<string>();
    await cache.set("a:1", "x".repeat(100), 0);
    const one = cache.bytes;
    await cache.set("a:1", "x".repeat(100), 0);
    assert.equal(cache.bytes, one);
    await cache.set("b:1", "x".repeat(100), 0);
    assert.equal(cache.bytes, 2 * one);
    await cache.clear("a:");
    assert.equal(cache.bytes, one);
    await cache.delete("b:1");
    assert.equal(cache.bytes, 0);
    await cache.close();
  });

  it("overwriting with a larger value evicts to stay within maxBytes", async () => {
    const cache = new MemoryCacheStore<string>({ maxBytes: 5_000 });
    await cache.set("a", "x".repeat(1_000), 0);
    await cache.set("b", "x".repeat(1_000), 0);
    const two = cache.bytes;
    await cache.set("a", "x".repeat(3_000), 0);
    assert.equal(cache.bytes, two + 2_000);
    await cache.set("a", "x".repeat(4_000), 0);
    assert.ok(cache.bytes <= 5_000);
    assert.equal(await cache.get("b"), undefined, "b was least recently used");
    assert.equal((await cache.get("a"))?.length, 4_000);
    await cache.close();
  });

  it("does not store a cyclic value, and does not hang on it", async () => {
    const cache = new MemoryCacheStore();
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    cyclic.again = cyclic;
    await cache.set("cyclic", cyclic, 0);
    assert.equal(await cache.get("cyclic"), undefined);
    assert.equal(cache.bytes, 0);
    await cache.close();
  });

  it("rejects with a StoreError once closed", async () => {
    const cache = new MemoryCacheStore();
    await cache.close();
    await assert.rejects(
      cache.get("k"),
      (error: unknown) =>
        error instanceof StoreError && error.backend === "memory" &&
        error.operation === "get",
    );
    await assert.rejects(cache.set("k", 1, 0), StoreError);
    await cache.close();
  });

  it("names the option and the value in its ConfigError", () => {
    assert.throws(
      () => new MemoryCacheStore({ maxEntries: 0 }),
      (error: unknown) =>
        error instanceof ConfigError && error.option === "maxEntries" &&
        error.message ===
          "Cannot create MemoryCacheStore as 'maxEntries' must be a positive integer: received 0",
    );
  });

  it("an entry evicted for room takes its tags out of the index at once", async () => {
    const cache = new MemoryCacheStore({ maxEntries: 2 });
    for (let i = 0; i < 10; i++) {
      await cache.set(`k${i}`, i, 0, { tags: ["all", `own${i}`] });
    }
    assert.equal((await cache.getStats()).tagIndexEntries, 4);
    assert.equal(await cache.invalidateTags(["all"]), 2);
    assert.equal((await cache.getStats()).tagIndexEntries, 0);
    await cache.close();
  });

  it("remembers an invalidation for five minutes: older values are refused until then, and no longer", async () => {
    const clock = new ManualClock();
    const cache = new MemoryCacheStore({ clock });
    await cache.invalidateTags(["t"]);
    clock.advance(299_999);
    assert.equal(
      await cache.set("k", "v", 60, { tags: ["t"], ageMs: 300_000 }),
      false,
    );
    clock.advance(1);
    assert.equal(
      await cache.set("k", "v", 60, { tags: ["t"], ageMs: 400_000 }),
      true,
      "the mark is gone",
    );
    await cache.close();
  });
});

describe("memory stores", () => {
  it("hold no timers that keep a process alive, even when left open", async () => {
    // Under Node the tests run compiled to JavaScript, fixture included.
    const extension = import.meta.url.endsWith(".js") ? "js" : "ts";
    const fixture = fileURLToPath(
      new URL(`./_unclosed_stores_fixture.${extension}`, import.meta.url),
    );
    const runtime = process.execPath;
    const args = "Deno" in globalThis
      ? ["run", "--quiet", "--no-check", fixture]
      : [fixture];
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(runtime, args, { timeout: 20_000 }, (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${err}`));
        else resolve(out);
      });
    });
    assert.equal(stdout.trim(), "done");
    assert.ok(
      performance.now() - started < 15_000,
      "the process exited without waiting for hour-long TTLs or timeouts",
    );
  });
});

describe("MemoryCacheStore statistics and clean-up", () => {
  it("getStats() counts live and expired entries; cleanup() drops the expired ones", async () => {
    const clock = new ManualClock(0);
    const cache = new MemoryCacheStore<string>({ clock });
    await cache.set("short", "a", 1);
    await cache.set("long", "b", 60);
    await cache.set("forever", "c", 0);
    clock.advance(1_000);
    const before = await cache.getStats();
    assert.equal(before.totalItems, 3);
    assert.equal(before.expiredItems, 1);
    assert.equal(before.totalBytes, cache.bytes);
    assert.equal(await cache.cleanup(), 1);
    const after = await cache.getStats();
    assert.deepEqual(
      { items: after.totalItems, expired: after.expiredItems },
      { items: 2, expired: 0 },
    );
    assert.ok(after.totalBytes < before.totalBytes);
    await cache.close();
  });

  it("await using closes the store", async () => {
    let outer: MemoryCacheStore<string>;
    {
      await using cache = new MemoryCacheStore<string>();
      outer = cache;
      await cache.set("k", "v", 0);
    }
    await assert.rejects(outer.get("k"), StoreError);
  });
});

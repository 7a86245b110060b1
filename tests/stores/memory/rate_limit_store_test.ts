import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryRateLimitStore, StoreError } from "../../../mod.ts";
import { SweptMap } from "../../../src/stores/memory/_swept_map.ts";
import { ManualClock, testRateLimitStore } from "../../../testing/mod.ts";

testRateLimitStore(
  "MemoryRateLimitStore",
  ({ clock, defaultConfig, resourceConfigs, marginMs, options }) =>
    new MemoryRateLimitStore({
      clock,
      defaultConfig,
      resourceConfigs,
      marginMs,
      ...options,
    }),
  {
    invalidOptions: [
      { resourceConfigs: [] },
      { resourceConfigs: { "": { limit: 1, windowMs: 1 } } },
      { defaultConfig: null },
      { clock: { now: 5 } },
    ],
  },
);

describe("MemoryRateLimitStore", () => {
  it("lowering a resource's limit keeps the wait exact for the admissions already made", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRateLimitStore({
      clock,
      defaultConfig: { limit: 5, windowMs: 1_000 },
    });
    for (let i = 0; i < 5; i++) {
      await store.acquire("r");
      clock.advance(10);
    }
    // Admissions at 0, 10, 20, 30, 40; now 50. With a limit of 3, the
    // budget frees when the third newest (at 20) leaves the window.
    store.setResourceConfig("r", { limit: 3, windowMs: 1_000 });
    assert.equal(await store.getWaitTime("r"), 20 + 1_000 - 50);
    assert.equal((await store.getStatus("r")).remaining, 0);
    // Raised again, every admission still in the window counts.
    store.setResourceConfig("r", { limit: 8, windowMs: 1_000 });
    assert.equal((await store.getStatus("r")).remaining, 3);
    assert.equal(await store.acquire("r"), true);
    await store.close();
  });

  it("a shorter window applies at once to admissions already recorded", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRateLimitStore({
      clock,
      defaultConfig: { limit: 2, windowMs: 10_000 },
    });
    await store.acquire("r");
    await store.acquire("r");
    clock.advance(500);
    assert.equal(await store.acquire("r"), false);
    store.setResourceConfig("r", { limit: 2, windowMs: 500 });
    assert.equal(await store.acquire("r"), true);
    await store.close();
  });

  it("setCooldown() rejects a negative or non-finite duration with a RangeError", async () => {
    const store = new MemoryRateLimitStore();
    for (const bad of [-1, Number.NaN, Infinity]) {
      await assert.rejects(store.setCooldown("r", bad), RangeError);
    }
    assert.equal(await store.getCooldown("r"), 0);
    await store.close();
  });

  it("a clock stepping back never lets more than limit through", async () => {
    const clock = new ManualClock(10_000);
    const store = new MemoryRateLimitStore({
      clock,
      defaultConfig: { limit: 2, windowMs: 1_000 },
    });
    await store.acquire("r");
    clock.set(9_000);
    await store.acquire("r");
    assert.equal(await store.acquire("r"), false);
    await store.close();
  });

  it("accepts resourceConfigs as a plain record", async () => {
    const store = new MemoryRateLimitStore({
      resourceConfigs: { search: { limit: 1, windowMs: 1_000 } },
    });
    assert.deepStrictEqual(store.getResourceConfig("search"), {
      limit: 1,
      windowMs: 1_000,
    });
    assert.deepStrictEqual(store.getResourceConfig("other"), {
      limit: 60,
      windowMs: 60_000,
    });
    await store.close();
  });

  it("rejects with a StoreError once closed", async () => {
    const store = new MemoryRateLimitStore();
    await store.close();
    await assert.rejects(store.acquire("r"), StoreError);
    await store.close();
  });
});

describe("SweptMap", () => {
  it("drops idle entries once it has doubled, and keeps busy ones", () => {
    const clock = new ManualClock(0);
    const busy = new Set<string>();
    const map = new SweptMap<number>(clock, (_, __, key) => !busy.has(key));
    for (let i = 0; i < 1_024; i++) {
      if (i % 4 === 0) busy.add(`k${i}`);
      map.getOrCreate(`k${i}`, () => i);
    }
    assert.equal(map.size, 1_024);
    map.getOrCreate("trigger", () => -1);
    assert.equal(map.size, 257, "256 busy entries and the new one");
    assert.equal(map.get("k0"), 0);
    assert.equal(map.get("k1"), undefined);
  });
});

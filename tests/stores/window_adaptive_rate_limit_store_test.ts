import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RateWindow, WindowAdaptiveRateLimitStore } from "../../mod.ts";
import { MemoryRateWindow } from "../../src/stores/memory/_rate_window.ts";
import { ManualClock } from "../../testing/mod.ts";

/** A memory window that counts its reads (`status`): one per split computed ahead of a background admission. */
function counting(clock: ManualClock): { window: RateWindow; reads(): number } {
  const inner = new MemoryRateWindow("counted", clock);
  let reads = 0;
  const window: RateWindow = {
    admit: (resource, request) => inner.admit(resource, request),
    status: (resource, query) => {
      reads++;
      return inner.status(resource, query);
    },
    reset: (resource) => inner.reset(resource),
    setCooldown: (resource, ms) => inner.setCooldown(resource, ms),
    getCooldown: (resource) => inner.getCooldown(resource),
    stats: (budgets, users) => inner.stats(budgets, users),
    cleanup: () => inner.cleanup(),
    close: () => inner.close(),
  };
  return { window, reads: () => reads };
}

describe("WindowAdaptiveRateLimitStore", () => {
  it("keeps the splits of at most 10 000 resources: the least recently computed one is read again", async () => {
    const clock = new ManualClock(0);
    const { window, reads } = counting(clock);
    const store = new WindowAdaptiveRateLimitStore(window, {
      clock,
      defaultConfig: { limit: 5, windowMs: 60_000 },
      adaptiveConfig: { recalculationIntervalMs: 600_000 },
    });
    await store.acquire("first", "background");
    await store.acquire("first", "background");
    assert.equal(reads(), 1, "a split is read once, then kept");
    for (let i = 0; i < 9_999; i++) await store.acquire(`r${i}`, "background");
    assert.equal(reads(), 10_000);
    await store.acquire("first", "background");
    assert.equal(reads(), 10_000, "10 000 splits are kept");
    await store.acquire("one more", "background");
    await store.acquire("first", "background");
    assert.equal(reads(), 10_002, "the oldest split was dropped");
    await store.close();
  });

  it("times its split by its clock, not by Date.now()", async () => {
    const clock = new ManualClock(1_000_000);
    const { window, reads } = counting(clock);
    const store = new WindowAdaptiveRateLimitStore(window, {
      clock,
      defaultConfig: { limit: 50, windowMs: 60_000 },
      adaptiveConfig: { recalculationIntervalMs: 30_000 },
    });
    await store.acquire("r", "background");
    assert.equal(reads(), 1);
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000;
    try {
      await store.acquire("r", "background");
      assert.equal(reads(), 1, "an hour of Date.now() is no time on the clock");
    } finally {
      Date.now = realNow;
    }
    clock.advance(29_999);
    await store.acquire("r", "background");
    assert.equal(reads(), 1);
    clock.advance(1);
    await store.acquire("r", "background");
    assert.equal(reads(), 2, "recomputed once recalculationIntervalMs passed");
    await store.close();
  });

  it("reads a cooldown the backend reports as garbage as none: getCooldown() and admit() say 0, never NaN", async () => {
    const clock = new ManualClock(0);
    const { window } = counting(clock);
    const odd: RateWindow = {
      ...window,
      getCooldown: () => Promise.resolve(Number.NaN),
      admit: async (resource, request) => ({
        ...(await window.admit(resource, request)),
        cooldownMs: "soon" as unknown as number,
      }),
    };
    const store = new WindowAdaptiveRateLimitStore(odd, {
      clock,
      defaultConfig: { limit: 1, windowMs: 1_000 },
      marginMs: 0,
    });
    assert.equal(await store.getCooldown("r"), 0);
    assert.equal((await store.admit("r", { priority: "user" })).admitted, true);
    assert.deepEqual(await store.admit("r", { priority: "user" }), {
      admitted: false,
      waitMs: 1_000,
      cooldownMs: 0,
    });
    await store.close();
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MemoryAdaptiveRateLimitStore,
  StoreError,
  WindowAdaptiveRateLimitStore,
} from "../../../mod.ts";
import { MemoryRateWindow } from "../../../src/stores/memory/_rate_window.ts";
import {
  ManualClock,
  testAdaptiveRateLimitStore,
} from "../../../testing/mod.ts";

testAdaptiveRateLimitStore(
  "MemoryAdaptiveRateLimitStore",
  (
    {
      clock,
      defaultConfig,
      resourceConfigs,
      adaptiveConfig,
      marginMs,
      options,
    },
  ) =>
    new MemoryAdaptiveRateLimitStore({
      clock,
      defaultConfig,
      resourceConfigs,
      adaptiveConfig,
      marginMs,
      ...options,
    }),
  {
    invalidOptions: [
      { adaptiveConfig: { highActivityTreshold: 5 } },
      { adaptiveConfig: "fast" },
    ],
  },
);

// Two stores over one memory window stand for two processes over one
// backend: each has its own split, the activity is shared.
const windows = new WeakMap<object, MemoryRateWindow>();
testAdaptiveRateLimitStore(
  "WindowAdaptiveRateLimitStore over a shared MemoryRateWindow",
  (
    {
      clock,
      defaultConfig,
      resourceConfigs,
      adaptiveConfig,
      marginMs,
      options,
      shareWith,
    },
  ) => {
    const window = shareWith === undefined
      ? new MemoryRateWindow("MemoryRateWindow", clock)
      : windows.get(shareWith)!;
    const store = new WindowAdaptiveRateLimitStore(window, {
      clock,
      defaultConfig,
      resourceConfigs,
      adaptiveConfig,
      marginMs,
      ...options,
    });
    windows.set(store, window);
    return store;
  },
  { sharedBackend: true, invalidOptions: [{ clock: {} }] },
);

describe("MemoryAdaptiveRateLimitStore", () => {
  const make = (clock: ManualClock, limit = 60) =>
    new MemoryAdaptiveRateLimitStore({
      clock,
      defaultConfig: { limit, windowMs: 60_000 },
    });

  it("keeps a split for recalculationIntervalMs, then follows the activity", async () => {
    const clock = new ManualClock(0);
    const store = make(clock);
    for (let i = 0; i < 12; i++) await store.acquire("r", "user");
    const early = await store.getStatus("r");
    clock.advance(29_999);
    assert.equal((await store.getStatus("r")).userReserved, early.userReserved);
    clock.advance(1);
    const later = await store.getStatus("r");
    assert.ok(
      later.userReserved > early.userReserved,
      `${later.userReserved} > ${early.userReserved} once recomputed`,
    );
    assert.match(later.reason, /High user activity/);
    await store.close();
  });

  it("restores the user reserve at the first user request after sustained inactivity", async () => {
    const clock = new ManualClock(0);
    const store = make(clock);
    const idle = await store.getStatus("r");
    assert.equal(idle.userReserved, 0);
    assert.match(idle.reason, /background may use the full limit/);
    await store.acquire("r", "user");
    const after = await store.getStatus("r");
    assert.ok(after.userReserved > 0, "no wait for the next recomputation");
    await store.close();
  });

  it("tells paused background to wait until the split is next recomputed", async () => {
    const clock = new ManualClock(0);
    const store = make(clock);
    for (let i = 0; i < 12; i++) await store.acquire("r", "user");
    clock.advance(30_000);
    const status = await store.getStatus("r", "background");
    assert.equal(status.backgroundPaused, true);
    clock.advance(10_000);
    assert.equal(await store.getWaitTime("r", "background"), 20_000);
    assert.equal(await store.getWaitTime("r", "user"), 0);
    await store.close();
  });

  it("reset() forgets user activity as well as admissions", async () => {
    const clock = new ManualClock(0);
    const store = make(clock);
    for (let i = 0; i < 12; i++) await store.acquire("r", "user");
    await store.reset("r");
    const status = await store.getStatus("r");
    assert.equal(status.recentUserActivity, 0);
    assert.equal(status.userReserved, 0);
    assert.equal(status.remaining, 60);
    await store.close();
  });

  it("recomputes the split for a new limit set by setResourceConfig()", async () => {
    const clock = new ManualClock(0);
    const store = make(clock);
    await store.acquire("r", "user");
    await store.acquire("r", "user");
    store.setResourceConfig("r", { limit: 4, windowMs: 60_000 });
    const status = await store.getStatus("r");
    assert.equal(status.limit, 4);
    assert.ok(status.userReserved + status.backgroundMax <= 4);
    await store.close();
  });

  it("rejects with a StoreError once closed", async () => {
    const store = new MemoryAdaptiveRateLimitStore();
    await store.close();
    await assert.rejects(store.acquire("r", "user"), StoreError);
    await store.close();
  });
});

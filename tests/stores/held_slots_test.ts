// The slots a rate-limit store's own requests keep until a window after
// their answers, and the default margins: none over a window only this
// process sees, 15% of the window over a shared one. Driven by a manual
// clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MemoryAdaptiveRateLimitStore,
  MemoryRateLimitStore,
  type RateWindow,
  WindowRateLimitStore,
} from "../../mod.ts";
import { HeldSlots } from "../../src/stores/_held_slots.ts";
import { MemoryRateWindow } from "../../src/stores/memory/_rate_window.ts";
import { ManualClock } from "../../testing/mod.ts";

describe("HeldSlots", () => {
  it("holds an admission the backend no longer counts until a window (plus 2 ms) after its answer", () => {
    const slots = new HeldSlots();
    let now = 0;
    const done = slots.track("r", now, now, () => now);
    // The backend stops counting it 1000 ms after it.
    now = 1_200;
    assert.deepEqual(slots.held("r", 1_000, 1_000, now), {
      count: 1,
      releaseMs: 1_000,
    });
    now = 1_300;
    done();
    now = 1_800;
    assert.deepEqual(slots.held("r", 1_000, 1_000, now), {
      count: 1,
      releaseMs: 502,
    });
    now = 2_301;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 1);
    now = 2_302;
    assert.deepEqual(slots.held("r", 1_000, 1_000, now), {
      count: 0,
      releaseMs: 0,
    });
  });

  it("does not hold what the backend still counts", () => {
    const slots = new HeldSlots();
    slots.track("r", 0, 0, () => 0);
    // Counted as left 5 ms early: the backend decides a little later.
    assert.equal(slots.held("r", 1_000, 1_000, 994).count, 0);
    assert.equal(slots.held("r", 1_000, 1_000, 995).count, 1);
    assert.equal(slots.held("other", 1_000, 1_000, 995).count, 0);
    // Over a margin, held from the configured window on, whatever the
    // margin: the margin is for other processes' requests.
    assert.equal(slots.held("r", 1_000, 1_150, 999).count, 0);
    assert.equal(slots.held("r", 1_000, 1_150, 1_000).count, 1);
  });

  it("counts as left what may leave the backend's window before the backend decides", () => {
    const slots = new HeldSlots();
    slots.track("r", 0, 0, () => 0);
    // Backend decisions came up to 30 ms after the store asked: it may
    // decide 65 ms after this call.
    slots.observe(500, 530);
    assert.equal(slots.held("r", 1_000, 1_000, 934).count, 0);
    assert.equal(slots.held("r", 1_000, 1_000, 935).count, 1);
  });

  it("lets a request never answered go after five minutes", () => {
    const slots = new HeldSlots();
    slots.track("r", 0, 0, () => 0);
    assert.equal(slots.held("r", 1_000, 1_000, 299_999).count, 1);
    assert.equal(slots.held("r", 1_000, 1_000, 300_000).count, 0);
  });

  it("keeps the first answer when done is called twice", () => {
    const slots = new HeldSlots();
    let now = 0;
    const done = slots.track("r", now, now, () => now);
    now = 10;
    done();
    now = 900;
    done();
    assert.equal(slots.held("r", 100, 100, 112).count, 0);
  });
});

describe("rate-limit stores and tracked admissions", () => {
  const stores = [
    ["MemoryRateLimitStore", (clock: ManualClock) =>
      new MemoryRateLimitStore({
        defaultConfig: { limit: 2, windowMs: 1_000 },
        clock,
      })],
    [
      "MemoryAdaptiveRateLimitStore",
      (clock: ManualClock) =>
        new MemoryAdaptiveRateLimitStore({
          defaultConfig: { limit: 2, windowMs: 1_000 },
          clock,
        }),
    ],
  ] as const;
  for (const [name, create] of stores) {
    it(`${name}: an unanswered request keeps its slot past the window; its answer frees it a window later`, async () => {
      const clock = new ManualClock(0);
      const store = create(clock);
      const user = { priority: "user", track: true } as const;
      const slow = await store.admit("r", user);
      const quick = await store.admit("r", user);
      assert.equal(slow.admitted && quick.admitted, true);
      quick.done!();
      clock.advance(1_002);
      // The backend counts neither; the slow one is unanswered.
      const third = await store.admit("r", user);
      assert.equal(third.admitted, true);
      third.done!();
      const refused = await store.admit("r", { priority: "user" });
      assert.equal(refused.admitted, false);
      assert.equal(refused.waitMs, 1_000, "the third leaves the window first");
      clock.advance(500);
      slow.done!();
      // At 2004 the third, answered at 1002, has freed its slot; the slow
      // one, answered at 1502, still holds its own: one admission fits.
      clock.advance(502);
      assert.equal((await store.admit("r", user)).admitted, true);
      const one = await store.admit("r", { priority: "user" });
      assert.equal(one.admitted, false);
      assert.equal(one.waitMs, 500, "the slow one frees its slot next");
      clock.advance(499);
      assert.equal((await store.admit("r", user)).admitted, false);
      clock.advance(1);
      assert.equal((await store.admit("r", user)).admitted, true);
      await store.close();
    });
  }

  it("a store over a window it shares adds 15% of the window by default; over a local one, nothing; marginMs replaces either", async () => {
    const clock = new ManualClock(0);
    // The memory window, presented as shared.
    const memory = new MemoryRateWindow("Shared", clock);
    const shared = new Proxy(memory, {
      get(target, name) {
        if (name === "local") return false;
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as RateWindow;
    const budget = { defaultConfig: { limit: 1, windowMs: 1_000 }, clock };
    const stores = {
      shared: new WindowRateLimitStore(shared, budget),
      local: new WindowRateLimitStore(new MemoryRateWindow("L", clock), budget),
      fixed: new WindowRateLimitStore(shared, { ...budget, marginMs: 40 }),
    };
    for (const [name, store] of Object.entries(stores)) {
      assert.equal(await store.acquire(name), true);
      assert.equal(store.getResourceConfig(name).windowMs, 1_000);
    }
    assert.equal(await stores.shared.getWaitTime("shared"), 1_150);
    assert.equal(await stores.local.getWaitTime("local"), 1_000);
    assert.equal(await stores.fixed.getWaitTime("fixed"), 1_040);
  });
});

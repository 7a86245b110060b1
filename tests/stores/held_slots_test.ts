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
  type RateWindowAdmitReply,
  type RateWindowAdmitRequest,
  WindowAdaptiveRateLimitStore,
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
    assert.deepEqual(counts(slots.held("r", 1_000, 1_000, now)), {
      count: 1,
      releaseMs: 1_000,
    });
    now = 1_300;
    done();
    now = 1_800;
    assert.deepEqual(counts(slots.held("r", 1_000, 1_000, now)), {
      count: 1,
      releaseMs: 502,
    });
    now = 2_301;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 1);
    now = 2_302;
    assert.deepEqual(counts(slots.held("r", 1_000, 1_000, now)), {
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
    slots.observe(500, 530, 540);
    assert.equal(slots.held("r", 1_000, 1_000, 934).count, 0);
    assert.equal(slots.held("r", 1_000, 1_000, 935).count, 1);
  });

  it("an admission the backend moved later is held only once the backend stops counting it at its new time", () => {
    const slots = new HeldSlots();
    let now = 0;
    const done = slots.track("r", 0, 0, () => now);
    const other = slots.track("r", 0, 10, () => now);
    now = 300;
    done();
    other();
    // Whatever margin the backend adds to the window, the store holds its
    // own admissions once they are a window old (1000 and 1010), until a
    // window after their answers (1302).
    assert.equal(slots.held("r", 1_000, 1_100, 1_150).count, 2);
    // Moved to 200 in the backend: held only from 1200.
    done.moved(200);
    done.moved(100);
    assert.equal(slots.held("r", 1_000, 1_100, 1_150).count, 1);
    assert.equal(slots.held("r", 1_000, 1_100, 1_200).count, 2);
    assert.equal(slots.held("r", 1_000, 1_100, 1_303).count, 0);
  });

  it("lets a request never answered go after five minutes", () => {
    const slots = new HeldSlots();
    slots.track("r", 0, 0, () => 0);
    assert.equal(slots.held("r", 1_000, 1_000, 299_999).count, 1);
    assert.equal(slots.held("r", 1_000, 1_000, 300_000).count, 0);
  });

  it("finds, after a late decision, own admissions that neither the backend nor the held count counted", () => {
    const slots = new HeldSlots();
    let now = 0;
    const answered = slots.track("r", 0, 0, () => now);
    slots.track("r", 0, 40, () => now);
    // A call made at 10 counted what the backend would stop counting by 15.
    const held = slots.held("r", 1_000, 1_000, 10);
    assert.equal(held.count, 0);
    // Decided in time: nothing was missed.
    assert.deepEqual(slots.late("r", 1_000, 1_000, held, 15, 15), {
      count: 0,
      releaseMs: 0,
    });
    // Decided at 1030, the backend no longer counted the first, still
    // unanswered: it holds its slot until a window after its answer.
    now = 1_030;
    assert.deepEqual(slots.late("r", 1_000, 1_000, held, 1_030, now), {
      count: 1,
      releaseMs: 1_000,
    });
    answered();
    now = 1_500;
    assert.deepEqual(slots.late("r", 1_000, 1_000, held, 1_045, now), {
      count: 2,
      releaseMs: 532,
    });
    now = 2_032;
    assert.equal(slots.late("r", 1_000, 1_000, held, 1_045, now).count, 1);
  });

  it("finds own admissions tracked after the held count, whenever they were recorded", () => {
    const slots = new HeldSlots();
    // Counted at 2000, before the reply of a call made at 0 came back.
    const held = slots.held("r", 1_000, 1_000, 2_000);
    slots.track("r", 0, 0, () => 2_000);
    // The backend, deciding at 2000, no longer counted it.
    assert.equal(slots.late("r", 1_000, 1_000, held, 2_000, 2_000).count, 1);
    // A backend deciding at 900 still counted it.
    assert.equal(slots.late("r", 1_000, 1_000, held, 900, 2_000).count, 0);
    // A count made after it was tracked held it already.
    const again = slots.held("r", 1_000, 1_000, 2_000);
    assert.equal(again.count, 1);
    assert.equal(slots.late("r", 1_000, 1_000, again, 2_000, 2_000).count, 0);
  });

  it("holds a slow admission behind thousands of quick ones recorded after it, and one recorded before them by a clock that stepped back", () => {
    const slots = new HeldSlots();
    let now = 0;
    // One slow request at 0, then 5,000 quick ones, ten a millisecond from
    // 100 to 599, each answered at once.
    slots.track("r", 0, 0, () => now);
    for (let i = 0; i < 5_000; i++) {
      now = 100 + Math.floor(i / 10);
      slots.track("r", now, now, () => now)();
    }
    // Only the slow one is past the backend's window.
    now = 1_050;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 1);
    // The quick ones recorded from 399 to 405 left the backend's window (or
    // will before it decides), but were answered less than a window and 2
    // ms ago: they hold their slots too.
    now = 1_400;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 71);
    // The backend's clock steps back: an admission recorded at 100 comes
    // after ones recorded at 599. It is held like the others of its time.
    slots.track("r", now, 100, () => now);
    now = 1_500;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 72);
    // A window after their answers, the quick ones free their slots; the
    // unanswered ones keep theirs.
    now = 2_700;
    assert.equal(slots.held("r", 1_000, 1_000, now).count, 2);
  });

  it("calls an answer stale when it came back more than half the margin after the shortest recent way back from a decision", () => {
    const slots = new HeldSlots();
    slots.observe(0, 10, 20);
    slots.observe(100, 130, 160);
    // The shortest way back from a decision was 10 ms; half the margin is
    // 75 ms. However long the call waited before the backend decided (a
    // queue, a locked database retried), only the time since counts.
    assert.equal(slots.stale(1_000, 1_085, 150), false);
    assert.equal(slots.stale(1_000, 1_086, 150), true);
    // Without a margin, nothing is stale.
    assert.equal(slots.stale(1_000, 9_000, 0), false);
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

  const windows = [
    [
      "WindowRateLimitStore",
      (window: RateWindow, clock: ManualClock) =>
        new WindowRateLimitStore(window, {
          defaultConfig: { limit: 1, windowMs: 1_000 },
          clock,
        }),
    ],
    [
      "WindowAdaptiveRateLimitStore",
      (window: RateWindow, clock: ManualClock) =>
        new WindowAdaptiveRateLimitStore(window, {
          defaultConfig: { limit: 1, windowMs: 1_000 },
          clock,
        }),
    ],
  ] as const;
  for (const [name, create] of windows) {
    it(`${name}: an admission decided after an own unanswered one left the backend's window is not sent`, async () => {
      const clock = new ManualClock(0);
      const memory = new MemoryRateWindow("Queued", clock);
      // A backend that decides the second call only when let through, as
      // behind a queue or a busy event loop.
      let calls = 0;
      let letThrough!: () => void;
      const queued = new Promise<void>((resolve) => letThrough = resolve);
      const slow = new Proxy(memory, {
        get(target, name) {
          if (name === "admit") {
            return async (
              resource: string,
              request: RateWindowAdmitRequest,
            ): Promise<RateWindowAdmitReply> => {
              if (calls++ === 1) await queued;
              return await target.admit(resource, request);
            };
          }
          const value = Reflect.get(target, name, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }) as RateWindow;
      const store = create(slow, clock);
      const user = { priority: "user", track: true } as const;
      const first = store.admit("r", user);
      const second = store.admit("r", user);
      const sent = await first;
      assert.equal(sent.admitted, true);
      // The first request is still under way when the backend, 1010 ms
      // later, no longer counts its admission and admits the second.
      clock.advance(1_010);
      letThrough();
      const late = await second;
      assert.equal(
        late.admitted,
        false,
        "both could reach the origin within one window",
      );
      assert.equal(late.waitMs, 1_000);
      assert.equal(late.done, undefined);
      // Answered now, the first frees its slot a window (and 2 ms) later;
      // the unsent second was recorded and takes the budget until then.
      sent.done!();
      clock.advance(1_001);
      assert.equal((await store.admit("r", user)).admitted, false);
      clock.advance(1);
      assert.equal((await store.admit("r", user)).admitted, true);
      await store.close();
    });
  }

  it("a store over a shared window does not use an admission whose answer came back late", async () => {
    const clock = new ManualClock(0);
    const memory = new MemoryRateWindow("Shared", clock);
    // A shared backend whose second answer is held up 80 ms, as by a
    // process that stalls after the backend recorded the admission.
    let calls = 0;
    const stalling = new Proxy(memory, {
      get(target, name) {
        if (name === "local") return false;
        if (name === "admit") {
          return async (
            resource: string,
            request: RateWindowAdmitRequest,
          ): Promise<RateWindowAdmitReply> => {
            const reply = await target.admit(resource, request);
            if (calls++ === 1) clock.advance(80);
            return reply;
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as RateWindow;
    // 15% of 400 ms is a 60 ms margin: answers may come back 30 ms late.
    const store = new WindowRateLimitStore(stalling, {
      defaultConfig: { limit: 3, windowMs: 400 },
      clock,
    });
    const user = { track: true } as const;
    assert.equal((await store.admit("r", user)).admitted, true);
    const stale = await store.admit("r", user);
    assert.equal(stale.admitted, false);
    assert.equal(stale.waitMs, 1, "it asks again at once");
    // Its admission was recorded: one slot is left, and it is used.
    assert.equal((await store.admit("r", user)).admitted, true);
    assert.equal((await store.admit("r", user)).admitted, false);
    await store.close();
  });

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

/** The count and the wait of held slots, without the cut-off time. */
function counts(
  held: { count: number; releaseMs: number },
): { count: number; releaseMs: number } {
  return { count: held.count, releaseMs: held.releaseMs };
}

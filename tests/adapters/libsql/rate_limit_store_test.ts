import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "@libsql/client";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlRateLimitStore,
} from "../../../adapters/libsql/mod.ts";
import { ManualClock } from "../../../testing/manual_clock.ts";
import { counting, tempDir } from "./_helpers.ts";

describe("LibsqlRateLimitStore and LibsqlAdaptiveRateLimitStore", () => {
  const files = tempDir();
  after(() => files.remove());

  it("LibsqlRateLimitStore.acquire() costs one round trip", async () => {
    const inner = createClient({ url: ":memory:" });
    const { client, count, reset } = counting(inner);
    const store = new LibsqlRateLimitStore({
      client,
      defaultConfig: { limit: 3, windowMs: 1_000 },
    });
    await store.getCooldown("warm-up");
    reset();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await store.acquire("r"));
    assert.deepEqual(results, [true, true, true, false, false]);
    assert.equal(count(), 5);
    await store.close();
    inner.close();
  });

  it("LibsqlAdaptiveRateLimitStore.acquire() costs one round trip; a background one whose split is due costs one more", async () => {
    const inner = createClient({ url: ":memory:" });
    const { client, count, reset } = counting(inner);
    const clock = new ManualClock();
    const store = new LibsqlAdaptiveRateLimitStore({
      client,
      clock,
      defaultConfig: { limit: 100, windowMs: 1_000 },
      adaptiveConfig: { recalculationIntervalMs: 500 },
    });
    await store.getCooldown("warm-up");
    reset();
    await store.acquire("r", "user");
    assert.equal(count(), 1, "the admission brings the activity back");
    reset();
    await store.acquire("r", "background");
    assert.equal(count(), 1, "the split computed from that reply applies");
    reset();
    for (let i = 0; i < 10; i++) await store.acquire("r", "background");
    assert.equal(count(), 10);
    clock.advance(500);
    reset();
    await store.acquire("r", "background");
    assert.equal(count(), 2, "a due split is recomputed before background");
    clock.advance(500);
    reset();
    await store.acquire("r", "user");
    assert.equal(count(), 1, "users need no split");
    await store.close();
    inner.close();
  });

  it("an admission whose clock reading is older than the latest one is recorded after it, so a slow writer never slips into a trimmed window", async () => {
    const path = `file:${files.path("late.db")}`;
    const fastClock = new ManualClock(1_000_000);
    const slowClock = new ManualClock(1_000_000);
    const config = { limit: 2, windowMs: 100 };
    const fast = new LibsqlRateLimitStore({
      url: path,
      clock: fastClock,
      defaultConfig: config,
      marginMs: 0,
    });
    const slow = new LibsqlRateLimitStore({
      url: path,
      clock: slowClock,
      defaultConfig: config,
      marginMs: 0,
    });
    fastClock.set(1_000_950);
    assert.equal(await fast.acquire("r"), true);
    fastClock.set(1_000_955);
    assert.equal(await fast.acquire("r"), true);
    // 1 000 950 and 1 000 955 leave the window at 1 001 060 and are trimmed.
    fastClock.set(1_001_060);
    assert.equal(await fast.acquire("r"), true);
    // A writer that read 1 001 000 before waiting for the lock: counted
    // from its own reading, it would see one admission and slip a third
    // into [1 000 950, 1 001 050). It is recorded at 1 001 060 instead.
    slowClock.set(1_001_000);
    assert.equal(await slow.acquire("r"), true);
    assert.equal(await fast.acquire("r"), false);
    assert.equal(await fast.getWaitTime("r"), 100);
    await fast.close();
    await slow.close();
  });

  for (const Store of [LibsqlRateLimitStore, LibsqlAdaptiveRateLimitStore]) {
    it(`${Store.name}: a request answered more than the margin after its admission is counted by other processes until a window after its answer`, async () => {
      const inner = createClient({ url: ":memory:" });
      const { client, count, settled } = counting(inner);
      const clock = new ManualClock(1_000_000);
      const options = {
        client,
        clock,
        defaultConfig: { limit: 1, windowMs: 1_000 },
        marginMs: 100,
      };
      // Two stores on one database: two processes, each with its own
      // count of the requests it sent.
      const sender = new Store(options);
      const other = new Store(options);
      const early = await sender.admit("early", { track: true });
      const late = await sender.admit("late", { track: true });
      assert.equal(early.admitted && late.admitted, true);
      // "early" is answered 40 ms after its admission, within half the
      // margin: it reached the origin in time for the margin to cover it.
      clock.advance(40);
      let calls = count();
      early.done!();
      await settled();
      assert.equal(count(), calls, "nothing is written for a timely answer");
      // "late" is answered 300 ms after: it may have reached the origin up
      // to 300 ms after its admission, later than the margin covers.
      clock.advance(260);
      calls = count();
      late.done!();
      late.done!();
      await settled();
      assert.equal(
        count(),
        calls + 1,
        "one write, however often done() is called",
      );
      // A window and the margin after the admissions: "early" has room
      // again, "late" is counted until a window after its answer.
      clock.set(1_001_100);
      assert.equal((await other.admit("early")).admitted, true);
      const refused = await other.admit("late");
      assert.equal(refused.admitted, false);
      assert.equal(refused.waitMs, 200);
      clock.set(1_001_300);
      assert.equal((await other.admit("late")).admitted, true);
      await sender.close();
      await other.close();
      inner.close();
    });
  }

  it("a cooldown set through one client holds back another, and only ever extends", async () => {
    const path = `file:${files.path("cooldown.db")}`;
    const clock = new ManualClock();
    const one = new LibsqlRateLimitStore({ url: path, clock });
    const two = new LibsqlAdaptiveRateLimitStore({ url: path, clock });
    await one.setCooldown("api", 5_000);
    assert.equal(await two.getCooldown("api"), 5_000);
    await two.setCooldown("api", 1_000);
    clock.advance(2_000);
    assert.equal(await one.getCooldown("api"), 3_000);
    await assert.rejects(one.setCooldown("api", -1), RangeError);
    await two.reset("api");
    assert.equal(await one.getCooldown("api"), 0);
    await one.close();
    await two.close();
  });

  it("users returning after sustained inactivity stop background admissions under the idle split in another process at once", async () => {
    const path = `file:${files.path("idle.db")}`;
    const clock = new ManualClock();
    const options = {
      url: path,
      clock,
      defaultConfig: { limit: 10, windowMs: 60_000 },
      adaptiveConfig: { recalculationIntervalMs: 600_000, minUserReserved: 2 },
    };
    const worker = new LibsqlAdaptiveRateLimitStore(options);
    const web = new LibsqlAdaptiveRateLimitStore(options);
    assert.equal(await worker.acquire("api", "background"), true);
    assert.equal(
      (await worker.getStatus("api", "background")).backgroundMax,
      10,
      "no user was ever seen: background may take everything",
    );
    clock.advance(1);
    assert.equal(await web.acquire("api", "user"), true);
    let background = 1;
    for (let i = 0; i < 9; i++) {
      if (await worker.acquire("api", "background")) background++;
    }
    // The low-activity split keeps 3 of 10 for users: background stops at 7,
    // leaving room for users, although the worker's idle split would still
    // have been current for ten minutes.
    assert.equal(background, 7);
    assert.equal(await web.acquire("api", "user"), true);
    assert.equal(await web.acquire("api", "user"), true);
    await worker.close();
    await web.close();
  });

  it("getStats() lists spent budgets and running cooldowns; cleanup() removes what no window needs", async () => {
    const clock = new ManualClock();
    const store = new LibsqlRateLimitStore({
      url: ":memory:",
      clock,
      defaultConfig: { limit: 2, windowMs: 1_000 },
      resourceConfigs: { roomy: { limit: 10, windowMs: 1_000 } },
    });
    await store.acquire("busy");
    await store.acquire("busy");
    await store.acquire("roomy");
    await store.acquire("roomy");
    await store.setCooldown("roomy", 10_000);
    assert.deepEqual(await store.getStats(), {
      totalRequests: 4,
      uniqueResources: 2,
      rateLimitedResources: ["busy"],
      coolingDownResources: ["roomy"],
    });
    clock.advance(20_000);
    await store.cleanup();
    assert.deepEqual(await store.getStats(), {
      totalRequests: 0,
      uniqueResources: 0,
      rateLimitedResources: [],
      coolingDownResources: [],
    });
    await store.close();
  });

  for (const Store of [LibsqlRateLimitStore, LibsqlAdaptiveRateLimitStore]) {
    it(`${Store.name} with marginMs: cleanup() keeps admissions inside windowMs + marginMs, and getStats() counts them as spent`, async () => {
      const clock = new ManualClock();
      const store = new Store({
        url: ":memory:",
        clock,
        defaultConfig: { limit: 2, windowMs: 1_000 },
        resourceConfigs: { other: { limit: 2, windowMs: 500 } },
        marginMs: 300,
      });
      await store.acquire("r");
      await store.acquire("r");
      clock.advance(1_200);
      await store.cleanup();
      assert.equal(await store.acquire("r"), false, "still inside the margin");
      assert.deepEqual((await store.getStats()).rateLimitedResources, ["r"]);
      clock.advance(100);
      assert.deepEqual((await store.getStats()).rateLimitedResources, []);
      await store.cleanup();
      assert.equal((await store.getStats()).totalRequests, 0);
      assert.equal(await store.acquire("r"), true);
      await store.close();
    });
  }

  it("LibsqlAdaptiveRateLimitStore.getStats() reports recent user activity across resources", async () => {
    const store = new LibsqlAdaptiveRateLimitStore({ url: ":memory:" });
    await store.acquire("a", "user");
    await store.acquire("a", "user");
    await store.acquire("b", "user");
    await store.acquire("c", "background");
    const stats = await store.getStats();
    assert.equal(stats.totalRequests, 4);
    assert.deepEqual(stats.adaptiveMetrics, {
      recentUserRequests: 3,
      resourcesWithRecentUsers: 2,
    });
    await store.close();
  });
});

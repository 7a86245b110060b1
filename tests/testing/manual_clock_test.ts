import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../testing/mod.ts";

/** What `promise` settled with: `"resolved"`, or the rejection reason. */
function outcome(promise: Promise<void>): Promise<unknown> {
  return promise.then(() => "resolved", (reason: unknown) => reason);
}

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe("ManualClock", () => {
  it("still reads, advances and sets its time, and refuses to go back by advance()", () => {
    const clock = new ManualClock(1_000);
    assert.equal(clock.now(), 1_000);
    clock.advance(500);
    assert.equal(clock.now(), 1_500);
    clock.set(10);
    assert.equal(clock.now(), 10);
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.advance(Number.NaN), RangeError);
    assert.equal(new ManualClock().now(), Date.UTC(2026, 0, 1));
  });

  it("sleep() ends only when advance() reaches its deadline, never by itself", async () => {
    const clock = new ManualClock(0);
    let done = false;
    const sleeping = clock.sleep(1_000).then(() => {
      done = true;
    });
    await settle();
    clock.advance(999);
    await settle();
    assert.equal(done, false);
    assert.equal(clock.pendingSleeps, 1);
    clock.advance(1);
    await sleeping;
    assert.equal(done, true);
    assert.equal(clock.pendingSleeps, 0);
  });

  it("sleep() ends when set() reaches its deadline; setting the clock back makes it last longer", async () => {
    const clock = new ManualClock(1_000);
    let done = false;
    const sleeping = clock.sleep(100).then(() => {
      done = true;
    });
    clock.set(500);
    clock.set(1_099);
    await settle();
    assert.equal(done, false);
    clock.set(1_100);
    await sleeping;
    assert.equal(done, true);
  });

  it("ends the waits one move reaches in deadline order, and those with one deadline in the order they began", async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    const waits = [
      ["30", 30],
      ["10a", 10],
      ["20", 20],
      ["10b", 10],
      ["50", 50],
    ] as const;
    const sleeping = waits.map(([name, ms]) =>
      clock.sleep(ms).then(() => order.push(name))
    );
    clock.advance(40);
    await Promise.all(sleeping.slice(0, 4));
    assert.deepEqual(order, ["10a", "10b", "20", "30"]);
    assert.equal(clock.pendingSleeps, 1);
    clock.advance(10);
    await sleeping[4];
    assert.deepEqual(order, ["10a", "10b", "20", "30", "50"]);
  });

  it("sleep() of 0, a negative or NaN wait resolves without a move", async () => {
    const clock = new ManualClock(0);
    for (const ms of [0, -1, Number.NaN]) await clock.sleep(ms);
    assert.equal(clock.pendingSleeps, 0);
    assert.equal(clock.now(), 0);
  });

  it("sleep() rejects at once with the reason of a signal that is already aborted, and waits for nothing", async () => {
    const clock = new ManualClock(0);
    const reason = new Error("already gone");
    const sleeping = outcome(clock.sleep(100, AbortSignal.abort(reason)));
    assert.equal(clock.pendingSleeps, 0);
    assert.equal(await sleeping, reason);
  });

  it("sleep() rejects with the signal's reason as soon as it aborts, and the aborted wait is forgotten", async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const aborted = outcome(clock.sleep(100, controller.signal));
    const other = outcome(clock.sleep(100));
    assert.equal(clock.pendingSleeps, 2);
    controller.abort("now");
    assert.equal(clock.pendingSleeps, 1);
    assert.equal(await aborted, "now");
    clock.advance(100);
    assert.equal(await other, "resolved");
    assert.equal(clock.pendingSleeps, 0);
    // Aborting after the end changes nothing.
    const late = new AbortController();
    const ended = clock.sleep(1, late.signal);
    clock.advance(1);
    late.abort("late");
    assert.equal(await outcome(ended), "resolved");
  });

  it("advanceAsync() moves a deadline at a time: code that waits in a loop runs at each deadline, and the clock ends where told", async () => {
    const clock = new ManualClock(0);
    const woke: number[] = [];
    const polling = (async () => {
      for (const ms of [5, 10, 20]) {
        // The loop does some asynchronous work between its waits.
        await Promise.resolve();
        await clock.sleep(ms);
        woke.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    assert.deepEqual(woke, [5, 15]);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pendingSleeps, 1);
    await clock.advanceAsync(5);
    await polling;
    assert.deepEqual(woke, [5, 15, 35]);
    await assert.rejects(clock.advanceAsync(-1), RangeError);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  ConfigError,
  HttpClient,
  MemoryRateLimitStore,
  systemClock,
} from "../mod.ts";
import { sleepOn } from "../src/_clock_sleep.ts";
import { sleep } from "../src/rate_limit/limiter.ts";
import { ManualClock } from "../testing/mod.ts";
import { scriptCommand } from "./fixtures/runtime.ts";

/** Resolves after a real timer of `ms`, to `value`. */
function timer<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

/** What `promise` settled with: `"resolved"`, or the rejection reason. */
function outcome(promise: Promise<void>): Promise<unknown> {
  return promise.then(() => "resolved", (reason: unknown) => reason);
}

describe("systemClock.sleep()", () => {
  it("resolves after its timer: sleeps end in the order of their deadlines", async () => {
    const order: number[] = [];
    await Promise.all(
      [30, 10, 20].map((ms) =>
        systemClock.sleep(ms).then(() => order.push(ms))
      ),
    );
    assert.deepEqual(order, [10, 20, 30]);
  });

  it("waits for a timer even for 0 ms, and takes a negative or NaN wait for 0", async () => {
    for (const ms of [0, -5, Number.NaN]) {
      let done = false;
      const sleeping = systemClock.sleep(ms).then(() => {
        done = true;
      });
      await Promise.resolve();
      assert.equal(done, false, `${ms}`);
      await sleeping;
      assert.equal(done, true, `${ms}`);
    }
  });

  it("rejects at once with the reason of a signal that is already aborted", async () => {
    const reason = new Error("already gone");
    const settled = await Promise.race([
      outcome(systemClock.sleep(10_000, AbortSignal.abort(reason))),
      timer(0, "timer"),
    ]);
    assert.equal(settled, reason);
  });

  it("rejects with the signal's reason as soon as it aborts, before any timer", async () => {
    const controller = new AbortController();
    const sleeping = outcome(systemClock.sleep(10_000, controller.signal));
    controller.abort("now");
    assert.equal(await Promise.race([sleeping, timer(0, "timer")]), "now");
  });

  it("waits past the longest timer instead of firing at once", async () => {
    for (const ms of [2 ** 31, 2 ** 40, Infinity]) {
      const controller = new AbortController();
      const sleeping = outcome(systemClock.sleep(ms, controller.signal));
      // A timer longer than 2^31 - 1 ms fires after about 1 ms.
      assert.equal(
        await Promise.race([sleeping, timer(20, "asleep")]),
        "asleep",
      );
      controller.abort("stop");
      assert.equal(await sleeping, "stop");
    }
  });

  it("sleep() of the rate limiter waits on the system clock: past the longest timer, and stopped by its signal", async () => {
    const controller = new AbortController();
    const sleeping = outcome(sleep(2 ** 32, controller.signal));
    assert.equal(await Promise.race([sleeping, timer(20, "asleep")]), "asleep");
    controller.abort("stop");
    assert.equal(await sleeping, "stop");
  });

  it("leaves no timer behind once stopped: a process that stopped long waits exits on its own", async () => {
    const { command, args } = scriptCommand(
      new URL("./_clock_exit_fixture.ts", import.meta.url),
    );
    const stdout = await new Promise<string>((resolve, reject) => {
      // A leaked timer would keep the child alive for an hour.
      execFile(command, args, { timeout: 60_000 }, (error, out, err) => {
        if (error) reject(new Error(`${error.message}\n${err}`));
        else resolve(out);
      });
    });
    assert.equal(stdout.trim(), "done");
  });
});

describe("sleepOn()", () => {
  it("waits on the clock's own sleep() when it has one", async () => {
    const clock = new ManualClock(0);
    let done = false;
    const sleeping = sleepOn(clock, 1_000).then(() => {
      done = true;
    });
    assert.equal(clock.pendingSleeps, 1);
    clock.advance(1_000);
    await sleeping;
    assert.equal(done, true);
  });

  it("waits on real timers for a clock with now() alone, and stops at its signal", async () => {
    const clock = { now: (): number => 0 };
    await sleepOn(clock, 1);
    const controller = new AbortController();
    const sleeping = outcome(sleepOn(clock, 10_000, controller.signal));
    controller.abort("stop");
    assert.equal(await sleeping, "stop");
    assert.equal(
      await outcome(sleepOn(clock, 10_000, AbortSignal.abort("gone"))),
      "gone",
    );
  });

  it("turns a clock's throwing sleep() into a rejection", async () => {
    const broken = new Error("broken clock");
    const clock = {
      now: (): number => 0,
      sleep: (): Promise<void> => {
        throw broken;
      },
    };
    assert.equal(await outcome(sleepOn(clock, 10)), broken);
  });
});

describe("clock options", () => {
  it("accept a clock with now() alone or with sleep() too, and refuse a sleep that is not a function with a ConfigError", () => {
    const nowOnly = { now: (): number => Date.now() };
    for (const clock of [nowOnly, new ManualClock(0), systemClock]) {
      new HttpClient({ name: "clock", clock });
      new MemoryRateLimitStore({ clock });
    }
    const bad = { now: (): number => 0, sleep: 5 };
    for (
      const create of [
        () => new HttpClient({ name: "clock", clock: bad as never }),
        () => new MemoryRateLimitStore({ clock: bad as never }),
      ]
    ) {
      assert.throws(create, (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.option, "clock.sleep");
        assert.equal(error.value, 5);
        return true;
      });
    }
  });
});

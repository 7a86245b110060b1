import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpClient,
  MemoryRateLimitStore,
  type Priority,
  RateLimitError,
  type RateLimitStore,
  StoreError,
} from "../../mod.ts";
import { RateLimiter, sleep } from "../../src/rate_limit/limiter.ts";
import { ManualClock } from "../../testing/mod.ts";
import { until } from "../client/_helpers.ts";
import { startOrigin } from "../fixtures/origin.ts";

/** How a promise settled, and when by the clock it ran on. */
type Settled<T> =
  | { at: number; value: T; error?: undefined }
  | { at: number; error: unknown };

/**
 * Moves `clock` forward by `ms`, a wait at a time (see
 * `ManualClock.advanceAsync`), and tells how `work` settled and when. Fails
 * when `work` is still waiting at the end. The clock stands `ms` later
 * afterwards, however early `work` settled.
 */
async function settleOn<T>(
  clock: ManualClock,
  work: Promise<T>,
  ms: number,
): Promise<Settled<T>> {
  let settled: Settled<T> | undefined;
  work.then(
    (value) => {
      settled = { at: clock.now(), value };
    },
    (error: unknown) => {
      settled = { at: clock.now(), error };
    },
  );
  await clock.advanceAsync(ms);
  assert.ok(settled !== undefined, `still waiting after ${ms} ms`);
  return settled;
}

/** `store`, with the name of every method called pushed onto `calls`. */
function counted<S extends object>(store: S, calls: string[]): S {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return value.apply(target, args);
      };
    },
  });
}

describe("RateLimiter", () => {
  it("admits up to the limit and refuses with the store's wait time", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 3, windowMs: 1_000 },
      clock,
    });
    const limiter = new RateLimiter({ store, throwOnLimit: true });
    for (let i = 0; i < 3; i++) await limiter.admit("r", "background");
    const waitMs = await store.getWaitTime("r");
    assert.equal(waitMs, 1_000);
    const rejected: number[] = [];
    await assert.rejects(
      limiter.admit("r", "background", undefined, {
        onRejected: (ms) => rejected.push(ms),
      }),
      (error: unknown) => {
        assert.ok(error instanceof RateLimitError);
        assert.equal(error.retryAfterMs, waitMs);
        assert.equal(error.resource, "r");
        return true;
      },
    );
    assert.deepEqual(rejected, [waitMs]);
  });

  it("sleeps on its clock until budget frees up within maxWaitMs", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60 },
      clock,
    });
    const limiter = new RateLimiter({ store, maxWaitMs: 1_000, clock });
    // The request is answered at once: its slot frees a window later.
    const answered = await limiter.admit("r", "user");
    answered?.();
    const waits: number[] = [];
    const second = await settleOn(
      clock,
      limiter.admit("r", "user", undefined, {
        onWait: (ms) => waits.push(ms),
      }),
      1_000,
    );
    assert.equal(second.error, undefined);
    // Admitted a window later by its clock, having slept all the time in
    // between and nothing more.
    assert.ok(second.at >= 60, `admitted at ${second.at} ms`);
    assert.ok(waits.length >= 1);
    assert.equal(waits.reduce((sum, ms) => sum + ms, 0), second.at);
  });

  it("waits out a cooldown on its clock, or refuses it when longer than maxWaitMs", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRateLimitStore({ clock });
    const limiter = new RateLimiter({ store, maxWaitMs: 200, clock });
    await limiter.cooldown("r", 50);
    const cooldowns: number[] = [];
    const admitted = await settleOn(
      clock,
      limiter.admit("r", "background", undefined, {
        onCooldown: (ms) => cooldowns.push(ms),
      }),
      200,
    );
    assert.equal(admitted.error, undefined);
    // One wait of the whole cooldown, admitted the moment it ends.
    assert.deepEqual(cooldowns, [50]);
    assert.equal(admitted.at, 50);
    await limiter.cooldown("r", 10_000);
    await assert.rejects(limiter.admit("r", "background"), RateLimitError);
  });

  it("reads a clock with now() alone for maxWaitMs, and sleeps on real timers then", async () => {
    let time = 0;
    const clock = { now: (): number => time };
    let admits = 0;
    const refusing = {
      admit: () => {
        admits++;
        // Each answer comes 600 ms later by the clock.
        time += 600;
        return Promise.resolve({ admitted: false, waitMs: 5, cooldownMs: 0 });
      },
    } as unknown as RateLimitStore;
    const limiter = new RateLimiter({
      store: refusing,
      maxWaitMs: 1_000,
      clock,
    });
    const waits: number[] = [];
    await assert.rejects(
      limiter.admit("r", "user", undefined, {
        onWait: (ms) => waits.push(ms),
      }),
      RateLimitError,
    );
    // At 600 ms one 5 ms sleep fits; at 1200 ms maxWaitMs is spent.
    assert.deepEqual(waits, [5]);
    assert.equal(admits, 2);
  });

  it("fails open or closed when the store throws", async () => {
    const down = {
      getCooldown: () => Promise.reject(new Error("down")),
      acquire: () => Promise.reject(new Error("down")),
      getWaitTime: () => Promise.reject(new Error("down")),
      setCooldown: () => Promise.reject(new Error("down")),
    } as unknown as RateLimitStore;
    const reported: boolean[] = [];
    await new RateLimiter({ store: down }).admit("r", "user", undefined, {
      onStoreError: (_, open) => reported.push(open),
    });
    assert.deepEqual(reported, [true, true]);
    await assert.rejects(
      new RateLimiter({ store: down, failOpen: false }).admit("r", "user"),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.operation, "getCooldown");
        return true;
      },
    );
    // Recording a cooldown never throws.
    await new RateLimiter({ store: down }).cooldown("r", 10);
  });

  it("asks a store with admit() once per try: the cooldown, the admission and the wait come in one call", async () => {
    const clock = new ManualClock(0);
    const memory = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 60_000 },
      clock,
    });
    const calls: string[] = [];
    const store = counted(memory, calls);
    const limiter = new RateLimiter({ store, maxWaitMs: 1_000, clock });
    await limiter.admit("r", "user");
    assert.deepEqual(calls, ["admit"]);
    // The cooldown is kept for every scope of the resource.
    await memory.setCooldown("shared", 40);
    const cooldowns: number[] = [];
    const admitted = await settleOn(
      clock,
      limiter.admit(
        "r",
        "user",
        undefined,
        { onCooldown: (ms) => cooldowns.push(ms) },
        "shared",
      ),
      40,
    );
    assert.equal(admitted.error, undefined);
    assert.deepEqual(cooldowns, [40]);
    assert.deepEqual(calls, ["admit", "admit", "admit"]);
    await assert.rejects(
      new RateLimiter({ store, throwOnLimit: true, clock }).admit("r", "user"),
      (error: unknown) => {
        assert.ok(error instanceof RateLimitError);
        assert.ok(error.retryAfterMs > 59_000, `${error.retryAfterMs}`);
        return true;
      },
    );
    assert.deepEqual(calls, ["admit", "admit", "admit", "admit"]);
    await memory.close();
  });

  it("asks a store without admit() getCooldown, acquire and getWaitTime", async () => {
    const memory = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
    });
    const calls: string[] = [];
    const all = counted(memory, calls);
    const seed = {
      getCooldown: all.getCooldown.bind(all),
      acquire: all.acquire.bind(all),
      getWaitTime: all.getWaitTime.bind(all),
      setCooldown: all.setCooldown.bind(all),
    } as unknown as RateLimitStore;
    const limiter = new RateLimiter({ store: seed, throwOnLimit: true });
    await limiter.admit("r", "background");
    assert.deepEqual(calls, ["getCooldown", "acquire"]);
    calls.length = 0;
    await assert.rejects(limiter.admit("r", "background"), RateLimitError);
    assert.deepEqual(calls, ["getCooldown", "acquire", "getWaitTime"]);
    await memory.close();
  });

  it("takes a malformed admit() answer for a refusal without a wait: polled with a growing pause, never admitted", async () => {
    let admits = 0;
    const odd = {
      admit: () => {
        admits++;
        return Promise.resolve({
          admitted: "yes",
          waitMs: Number.NaN,
          cooldownMs: "soon",
        });
      },
    } as unknown as RateLimitStore;
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ store: odd, maxWaitMs: 300, clock });
    const pauses: number[] = [];
    const refused = await settleOn(
      clock,
      limiter.admit("r", "user", undefined, {
        onWait: (ms) => pauses.push(ms),
      }),
      1_000,
    );
    assert.ok(refused.error instanceof RateLimitError);
    // Doubling pauses, the last one cut to end at maxWaitMs.
    assert.deepEqual(pauses, [5, 10, 20, 40, 80, 145]);
    assert.equal(refused.at, 300);
    assert.equal(admits, 7);
  });

  it("sleep() rejects with the signal's reason as soon as it aborts", async () => {
    const controller = new AbortController();
    const sleeping = sleep(10_000, controller.signal).then(
      () => "resolved",
      (reason: unknown) => reason,
    );
    controller.abort("now");
    // Before even a timer of 0 ms.
    const timer = new Promise((resolve) => setTimeout(resolve, 0, "timer"));
    assert.equal(await Promise.race([sleeping, timer]), "now");
  });

  it("polls a store that refuses without a wait time with a growing pause, and stops at maxWaitMs", async () => {
    for (const waitTime of [0, Number.NaN, -5]) {
      let acquires = 0;
      const blind = {
        getCooldown: () => Promise.resolve(0),
        acquire: () => {
          acquires++;
          return Promise.resolve(false);
        },
        getWaitTime: () => Promise.resolve(waitTime),
      } as unknown as RateLimitStore;
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ store: blind, maxWaitMs: 300, clock });
      const pauses: number[] = [];
      const refused = await settleOn(
        clock,
        limiter.admit("r", "background", undefined, {
          onWait: (ms) => pauses.push(ms),
        }),
        1_000,
      );
      assert.ok(refused.error instanceof RateLimitError, `${waitTime}`);
      // Neither early nor late: at maxWaitMs by the limiter's clock.
      assert.equal(refused.at, 300, `${waitTime}`);
      assert.deepEqual(pauses, [5, 10, 20, 40, 80, 145], `${waitTime}`);
      // 300 ms of 5 ms polls would be 60 round trips.
      assert.equal(acquires, 7, `${waitTime}`);
    }
  });

  it("never sleeps past maxWaitMs when the store keeps refusing", async () => {
    const refusing = {
      getCooldown: () => Promise.resolve(0),
      acquire: () => Promise.resolve(false),
      getWaitTime: () => Promise.resolve(120),
    } as unknown as RateLimitStore;
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ store: refusing, maxWaitMs: 200, clock });
    const waits: number[] = [];
    const refused = await settleOn(
      clock,
      limiter.admit("r", "user", undefined, {
        onWait: (ms) => waits.push(ms),
      }),
      1_000,
    );
    // One wait of 120 ms fits; a second would end past 200 ms: refused then.
    assert.deepEqual(waits, [120]);
    assert.ok(refused.error instanceof RateLimitError);
    assert.equal(refused.error.retryAfterMs, 120);
    assert.equal(refused.at, 120);
  });

  it("stops waiting for a store call on the caller's signal", async () => {
    const hung = {
      getCooldown: () => Promise.resolve(0),
      acquire: () => new Promise(() => {}),
    } as unknown as RateLimitStore;
    const limiter = new RateLimiter({ store: hung });
    const controller = new AbortController();
    const admitting = limiter.admit("r", "user", controller.signal);
    setTimeout(() => controller.abort("gone"), 5);
    await assert.rejects(admitting, (e) => e === "gone");
  });

  it("counts a store call slower than storeTimeoutMs as a store failure", async () => {
    const hung = {
      getCooldown: () => Promise.resolve(0),
      acquire: () => new Promise(() => {}),
      getWaitTime: () => Promise.resolve(0),
      setCooldown: () => new Promise(() => {}),
    } as unknown as RateLimitStore;
    const reported: boolean[] = [];
    await new RateLimiter({ store: hung, storeTimeoutMs: 20 }).admit(
      "r",
      "user",
      undefined,
      { onStoreError: (_, open) => reported.push(open) },
    );
    assert.deepEqual(reported, [true]);
    await assert.rejects(
      new RateLimiter({ store: hung, storeTimeoutMs: 20, failOpen: false })
        .admit("r", "user"),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.operation, "acquire");
        return true;
      },
    );
    await new RateLimiter({ store: hung, storeTimeoutMs: 20 }).cooldown(
      "r",
      10,
    );
  });

  describe("requests waiting for the same resource and priority", () => {
    /**
     * A store that admits while it has tokens of the asked priority and
     * otherwise tells a 10 ms wait; it notes who asked.
     */
    function gated() {
      const tokens = { user: 0, background: 0 };
      const asked: string[] = [];
      const store = {
        admit(_resource: string, options: { priority?: Priority } = {}) {
          const priority = options.priority ?? "background";
          asked.push(priority);
          if (tokens[priority] > 0) {
            tokens[priority]--;
            return Promise.resolve({
              admitted: true,
              waitMs: 0,
              cooldownMs: 0,
            });
          }
          return Promise.resolve({
            admitted: false,
            waitMs: 10,
            cooldownMs: 0,
          });
        },
        setCooldown: () => Promise.resolve(),
      } as unknown as RateLimitStore;
      return { store, tokens, asked };
    }

    it("wait in line: only the first asks the store while the budget is spent, and they are admitted first come, first served", async () => {
      const { store, tokens, asked } = gated();
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ store, maxWaitMs: 5_000, clock });
      const order: number[] = [];
      const waiting = Array.from(
        { length: 5 },
        (_, i) => limiter.admit("r", "user").then(() => order.push(i)),
      );
      await clock.advanceAsync(100);
      // Five first refusals, then the head alone: one ask per 10 ms.
      assert.equal(asked.length, 5 + 10);
      assert.deepEqual(order, []);
      tokens.user = 5;
      const all = await settleOn(clock, Promise.all(waiting), 10);
      assert.equal(all.error, undefined);
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
      // Each admission handed the turn on at once: one ask each.
      assert.equal(asked.length, 5 + 10 + 5);
    });

    it("a queued request raised to another priority leaves the line at the head's next ask", async () => {
      const { store, tokens, asked } = gated();
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ store, maxWaitMs: 5_000, clock });
      let level: Priority = "background";
      const head = limiter.admit("r", "background");
      await clock.advanceAsync(5);
      const raised = limiter.admit("r", () => level);
      await clock.advanceAsync(1);
      assert.deepEqual(asked, ["background", "background"]);
      level = "user";
      tokens.user = 1;
      // The head asks again at 10 ms and sends the raised request to ask as
      // a user: admitted then.
      const moved = await settleOn(clock, raised, 4);
      assert.equal(moved.error, undefined);
      assert.equal(moved.at, 10);
      assert.deepEqual(asked, [
        "background",
        "background",
        "background",
        "user",
      ]);
      tokens.background = 1;
      const first = await settleOn(clock, head, 10);
      assert.equal(first.error, undefined);
      assert.equal(first.at, 20);
    });

    it("a queued request stops at its signal or at maxWaitMs, and the line goes on", async () => {
      const { store, tokens } = gated();
      const clock = new ManualClock(0);
      const limiter = new RateLimiter({ store, maxWaitMs: 150, clock });
      const head = limiter.admit("r", "user");
      await clock.advanceAsync(5);
      const controller = new AbortController();
      const aborted = limiter.admit("r", "user", controller.signal);
      const timedOut = limiter.admit("r", "user");
      const rejected: number[] = [];
      const last = limiter.admit("r", "user", undefined, {
        onRejected: (ms) => rejected.push(ms),
      });
      const outcomes = Promise.all([
        assert.rejects(aborted, /gone/),
        assert.rejects(timedOut, RateLimitError),
        assert.rejects(last, RateLimitError),
      ]);
      controller.abort(new Error("gone"));
      tokens.user = 1;
      const first = await settleOn(clock, head, 5);
      assert.equal(first.error, undefined);
      assert.equal(first.at, 10);
      // The next in line heads it and asks every 10 ms; both it and the one
      // behind it give up when their maxWaitMs ends, 150 ms after they came.
      const rest = await settleOn(clock, outcomes, 200);
      assert.equal(rest.error, undefined);
      assert.deepEqual(rejected, [10]);
      assert.equal(clock.pendingSleeps, 0);
    });
  });
});

describe("RateLimiter in HttpClient", () => {
  it("HttpClient waits for budget on its own clock: a request held by a spent window goes out once the clock passes the window", async () => {
    const origin = await startOrigin();
    origin.route("/item", { body: "ok" });
    const clock = new ManualClock(Date.now());
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
      clock,
    });
    const client = new HttpClient({
      name: "clocked",
      baseUrl: origin.url,
      rateLimit: { store, maxWaitMs: 120_000 },
      retry: false,
      clock,
    });
    try {
      assert.equal(await client.get("/item?first"), "ok");
      const second = client.get("/item?second");
      await until(() => clock.pendingSleeps === 1);
      clock.advance(59_000);
      await clock.advanceAsync(0);
      assert.equal(clock.pendingSleeps, 1, "still waiting for the window");
      assert.equal(origin.calls("/item"), 1);
      await clock.advanceAsync(1_100);
      assert.equal(await second, "ok");
      assert.equal(origin.calls("/item"), 2);
    } finally {
      await client.close();
      await origin.close();
    }
  });
});

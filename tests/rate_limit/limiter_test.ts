import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryRateLimitStore,
  type Priority,
  RateLimitError,
  type RateLimitStore,
  StoreError,
} from "../../mod.ts";
import { RateLimiter, sleep } from "../../src/rate_limit/limiter.ts";
import { ManualClock } from "../../testing/mod.ts";

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

  it("sleeps until budget frees up within maxWaitMs", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60 },
    });
    const limiter = new RateLimiter({ store, maxWaitMs: 1_000 });
    // The request is answered at once: its slot frees a window later.
    const answered = await limiter.admit("r", "user");
    answered?.();
    const waits: number[] = [];
    const started = performance.now();
    await limiter.admit("r", "user", undefined, {
      onWait: (ms) => waits.push(ms),
    });
    assert.ok(performance.now() - started >= 40);
    assert.ok(waits.length >= 1);
  });

  it("waits out a cooldown, or refuses it when longer than maxWaitMs", async () => {
    const store = new MemoryRateLimitStore();
    const limiter = new RateLimiter({ store, maxWaitMs: 200 });
    await limiter.cooldown("r", 50);
    const cooldowns: number[] = [];
    await limiter.admit("r", "background", undefined, {
      onCooldown: (ms) => cooldowns.push(ms),
    });
    assert.equal(cooldowns.length, 1);
    await limiter.cooldown("r", 10_000);
    await assert.rejects(limiter.admit("r", "background"), RateLimitError);
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
    const memory = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 60_000 },
    });
    const calls: string[] = [];
    const store = counted(memory, calls);
    const limiter = new RateLimiter({ store, maxWaitMs: 1_000 });
    await limiter.admit("r", "user");
    assert.deepEqual(calls, ["admit"]);
    // The cooldown is kept for every scope of the resource.
    await memory.setCooldown("shared", 40);
    const cooldowns: number[] = [];
    await limiter.admit(
      "r",
      "user",
      undefined,
      { onCooldown: (ms) => cooldowns.push(ms) },
      "shared",
    );
    assert.equal(cooldowns.length, 1);
    assert.ok(cooldowns[0]! > 0 && cooldowns[0]! <= 40, `${cooldowns[0]}`);
    assert.deepEqual(calls, ["admit", "admit", "admit"]);
    await assert.rejects(
      new RateLimiter({ store, throwOnLimit: true }).admit("r", "user"),
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
    const limiter = new RateLimiter({ store: odd, maxWaitMs: 300 });
    await assert.rejects(limiter.admit("r", "user"), RateLimitError);
    assert.ok(admits >= 2 && admits <= 10, `${admits} admit() calls`);
  });

  it("sleep() rejects with the signal's reason as soon as it aborts", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = sleep(10_000, controller.signal);
    controller.abort("now");
    await assert.rejects(sleeping, (e) => e === "now");
    assert.ok(performance.now() - started < 100);
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
      const limiter = new RateLimiter({ store: blind, maxWaitMs: 300 });
      const started = performance.now();
      await assert.rejects(limiter.admit("r", "background"), RateLimitError);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 280, `gave up early: ${elapsed} ms`);
      assert.ok(elapsed < 600, `overslept maxWaitMs: ${elapsed} ms`);
      // 300 ms of 5 ms polls would be 60 round trips.
      assert.ok(acquires <= 10, `${acquires} acquisitions for ${waitTime}`);
    }
  });

  it("never sleeps past maxWaitMs when the store keeps refusing", async () => {
    const refusing = {
      getCooldown: () => Promise.resolve(0),
      acquire: () => Promise.resolve(false),
      getWaitTime: () => Promise.resolve(120),
    } as unknown as RateLimitStore;
    const limiter = new RateLimiter({ store: refusing, maxWaitMs: 200 });
    const started = performance.now();
    await assert.rejects(limiter.admit("r", "user"), RateLimitError);
    assert.ok(performance.now() - started < 400);
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
      const limiter = new RateLimiter({ store, maxWaitMs: 5_000 });
      const order: number[] = [];
      const waiting = Array.from(
        { length: 5 },
        (_, i) => limiter.admit("r", "user").then(() => order.push(i)),
      );
      await sleep(100);
      // Five first refusals, then the head alone: about one ask per 10 ms.
      assert.ok(asked.length >= 6, `${asked.length} asks`);
      assert.ok(asked.length <= 5 + 12, `${asked.length} asks in 100 ms`);
      assert.deepEqual(order, []);
      tokens.user = 5;
      await Promise.all(waiting);
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
    });

    it("a queued request raised to another priority leaves the line at the head's next ask", async () => {
      const { store, tokens } = gated();
      const limiter = new RateLimiter({ store, maxWaitMs: 5_000 });
      let level: Priority = "background";
      const head = limiter.admit("r", "background");
      await sleep(5);
      const raised = limiter.admit("r", () => level);
      await sleep(5);
      level = "user";
      tokens.user = 1;
      await raised;
      tokens.background = 1;
      await head;
    });

    it("a queued request stops at its signal or at maxWaitMs, and the line goes on", async () => {
      const { store, tokens } = gated();
      const limiter = new RateLimiter({ store, maxWaitMs: 150 });
      const head = limiter.admit("r", "user");
      await sleep(5);
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
      await head;
      await outcomes;
      assert.equal(rejected.length, 1);
    });
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryRateLimitStore,
  RateLimitError,
  type RateLimitStore,
  StoreError,
} from "../../mod.ts";
import { RateLimiter, sleep } from "../../src/rate_limit/limiter.ts";
import { ManualClock } from "../../src/testing/mod.ts";

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
    // The window, and the margin the store learns from tracked admissions.
    const waitMs = await store.getWaitTime("r");
    assert.ok(waitMs >= 1_000 && waitMs <= 1_150, `${waitMs}`);
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
});

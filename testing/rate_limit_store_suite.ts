import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Clock } from "../src/clock.ts";
import type {
  RateLimitConfig,
  RateLimitStore,
  RateLimitStoreStats,
} from "../src/stores/types.ts";
import {
  type Awaitable,
  describeOptions,
  type Harness,
  seededRandom,
  type StoreSuiteOptions,
  storeTest,
  type SuiteTime,
  throwsConfigError,
  uid,
} from "./_harness.ts";

/** What a {@linkcode RateLimitStoreFactory} receives to build a fresh store. */
export interface RateLimitStoreFactoryContext {
  /** The clock the store must use for windows and cooldowns. */
  clock: Clock;
  /** The default budget to configure. */
  defaultConfig: RateLimitConfig;
  /** Per-resource budgets to configure. */
  resourceConfigs: Map<string, RateLimitConfig>;
  /**
   * The safety margin to configure, in milliseconds: the store must admit at
   * most `limit` in any interval of `windowMs + marginMs`. It is `0` except
   * in the margin tests, which run only when
   * {@linkcode RateLimitStoreSuiteOptions.supportsMarginMs} is set, and in
   * the configuration tests, which pass invalid values.
   */
  marginMs: number;
  /**
   * Backend-specific options: empty, except in the configuration tests,
   * where it holds one entry of
   * {@linkcode RateLimitStoreSuiteOptions.invalidOptions}.
   */
  options: Readonly<Record<string, unknown>>;
}

/** Builds a fresh, isolated rate-limit store for one test. */
export type RateLimitStoreFactory = (
  context: RateLimitStoreFactoryContext,
) => Awaitable<RateLimitStore>;

/** Options for {@linkcode testRateLimitStore}. */
export interface RateLimitStoreSuiteOptions extends StoreSuiteOptions {
  /**
   * Backend-specific options, each of which must make the factory throw a
   * `ConfigError`.
   *
   * @default {[]}
   */
  invalidOptions?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Writes a cooldown that the backend cannot read as a time (text, a value
   * of the wrong type) for `resource`, straight into the backend of `store`.
   * When given, the suite checks that such a cooldown reads as none (`0`,
   * never `NaN`), holds nothing back, and gives way to the next
   * `setCooldown`. Leave it out for a backend that cannot hold one.
   */
  corruptCooldown?: (store: RateLimitStore, resource: string) => Promise<void>;
  /**
   * Whether the store takes a `marginMs` option, as every sluice store does:
   * the factory passes the context's `marginMs` on, and the suite checks
   * that the margin lengthens every window and that an invalid one is a
   * `ConfigError` naming `marginMs`. Set it to `false` for a store without
   * that option.
   *
   * @default {true}
   */
  supportsMarginMs?: boolean;
}

/** The window every test uses, short enough for real time. */
export const WINDOW_MS = 400;
/**
 * The margin of the margin tests: wide enough that real time can land after
 * `windowMs` and before `windowMs + marginMs` with room to spare.
 */
export const MARGIN_MS = 200;
const DEFAULT_CONFIG: RateLimitConfig = { limit: 5, windowMs: WINDOW_MS };

type _Open = (
  h: Harness,
  overrides?: Partial<RateLimitStoreFactoryContext>,
) => Promise<RateLimitStore>;

/** What {@linkcode rateLimitCases} needs besides the store and the time. */
interface _CaseOptions {
  invalidOptions: readonly Readonly<Record<string, unknown>>[];
  supportsMarginMs: boolean;
  corruptCooldown:
    | ((store: RateLimitStore, resource: string) => Promise<void>)
    | undefined;
}

/** Windows too long for a `Date` once added to now, and a long one that is not. */
const LONG_WINDOWS: readonly number[] = [
  Number.MAX_SAFE_INTEGER,
  8.64e15,
  366 * 86_400_000,
];

/**
 * Runs the {@linkcode RateLimitStore} conformance suite: exact admission
 * under concurrency, the sliding window, `getWaitTime` and `getStatus`
 * consistency, `reset`, per-resource budgets, cooldowns (also unreadable
 * ones, when the backend can hold them), `admit` when the store has it,
 * reset times that stay valid dates for the longest windows, the safety
 * margin (`marginMs`), and the configuration errors.
 *
 * The factory is called with windows of 400 ms, so the suite stays fast in
 * `"real"` time too.
 *
 * @param name The name of the store under test, used as the suite's title.
 * @param factory Builds a fresh store for each test; the suite closes it.
 * @param options How time moves, backend-specific invalid options, and
 * whether the store takes `marginMs`.
 *
 * @example Testing a store
 * ```ts ignore
 * import { MemoryRateLimitStore } from "@sluice/http";
 * import { testRateLimitStore } from "@sluice/http/testing";
 *
 * testRateLimitStore("MemoryRateLimitStore", (context) =>
 *   new MemoryRateLimitStore({ ...context, ...context.options }));
 * ```
 */
export function testRateLimitStore(
  name: string,
  factory: RateLimitStoreFactory,
  options: RateLimitStoreSuiteOptions = {},
): void {
  const {
    time = "manual",
    invalidOptions = [],
    supportsMarginMs = true,
    corruptCooldown,
  } = options;
  const open: _Open = (h, overrides = {}) =>
    h.open(() =>
      factory({
        clock: h.clock,
        defaultConfig: DEFAULT_CONFIG,
        resourceConfigs: new Map(),
        marginMs: 0,
        options: {},
        ...overrides,
      })
    );
  describe(`${name} (RateLimitStore conformance, ${time} time)`, () => {
    rateLimitCases(open, time, {
      invalidOptions,
      supportsMarginMs,
      corruptCooldown,
    });
  });
}

/**
 * Declares the rate-limit tests. The adaptive suite runs them too, calling
 * every method without a priority (background traffic on a store that has
 * seen no user traffic, which may use the whole limit).
 */
export function rateLimitCases(
  open: _Open,
  time: SuiteTime,
  { invalidOptions, supportsMarginMs, corruptCooldown }: _CaseOptions,
): void {
  storeTest(
    "acquire() admits up to limit, then refuses",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `seq:${uid()}`;
      const results: boolean[] = [];
      for (let i = 0; i < 7; i++) results.push(await store.acquire(resource));
      assert.deepStrictEqual(results, [
        true,
        true,
        true,
        true,
        true,
        false,
        false,
      ]);
    },
  );

  storeTest(
    "getStats() counts admissions, spent budgets and running cooldowns, when the store has it",
    time,
    async (h) => {
      const store = await open(h) as RateLimitStore & {
        getStats?: () => Promise<RateLimitStoreStats>;
        cleanup?: () => Promise<unknown>;
      };
      if (typeof store.getStats !== "function") return;
      const spent = `stats-spent:${uid()}`;
      const used = `stats-used:${uid()}`;
      const cooling = `stats-cooling:${uid()}`;
      while (await store.acquire(spent));
      await store.acquire(used);
      await store.setCooldown(cooling, 60_000);
      const stats = await store.getStats();
      assert.ok(
        stats.totalRequests >= 6,
        `totalRequests ${stats.totalRequests}`,
      );
      assert.ok(stats.uniqueResources >= 2);
      assert.ok(stats.rateLimitedResources.includes(spent));
      assert.ok(!stats.rateLimitedResources.includes(used));
      assert.ok(stats.coolingDownResources.includes(cooling));
      assert.ok(!stats.coolingDownResources.includes(spent));
      if (typeof store.cleanup === "function") {
        await store.cleanup();
        const after = await store.getStats();
        assert.ok(
          after.rateLimitedResources.includes(spent),
          "cleanup() keeps what a window still holds",
        );
      }
    },
  );

  storeTest(
    "acquire() admits exactly limit among 200 concurrent calls",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 10, windowMs: WINDOW_MS * 10 },
      });
      const resource = `burst:${uid()}`;
      const results = await Promise.all(
        Array.from({ length: 200 }, () => store.acquire(resource)),
      );
      assert.equal(results.filter(Boolean).length, 10);
      assert.equal(await store.canProceed(resource), false);
    },
  );

  storeTest(
    "budget returns as admissions slide out of the window",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 3, windowMs: WINDOW_MS },
      });
      const resource = `slide:${uid()}`;
      assert.equal(await store.acquire(resource), true);
      await h.advance(100);
      assert.equal(await store.acquire(resource), true);
      assert.equal(await store.acquire(resource), true);
      assert.equal(await store.acquire(resource), false);
      if (h.exact) {
        await h.advance(WINDOW_MS - 101);
        assert.equal(await store.acquire(resource), false, "1 ms too early");
        await h.advance(1);
        assert.equal(await store.acquire(resource), true, "first one left");
        assert.equal(await store.acquire(resource), false);
        await h.advance(100);
        assert.equal(await store.acquire(resource), true);
        assert.equal(await store.acquire(resource), true);
        assert.equal(await store.acquire(resource), false);
      } else {
        await h.advancePast(WINDOW_MS);
        for (let i = 0; i < 3; i++) {
          assert.equal(await store.acquire(resource), true);
        }
        assert.equal(await store.acquire(resource), false);
      }
    },
  );

  const margins = time === "manual"
    ? supportsMarginMs ? [0, MARGIN_MS] : [0]
    : [];
  for (const marginMs of margins) {
    const span = WINDOW_MS + marginMs;
    storeTest(
      marginMs === 0
        ? "never admits more than limit in any window, and never refuses with room (randomised)"
        : `with marginMs ${marginMs}, never admits more than limit in any interval of windowMs + marginMs, and never refuses with room (randomised)`,
      time,
      async (h) => {
        const limit = 4;
        const store = await open(h, {
          defaultConfig: { limit, windowMs: WINDOW_MS },
          marginMs,
        });
        const resource = `random:${uid()}`;
        const admitted: number[] = [];
        const random = seededRandom(12345);
        for (let step = 0; step < 300; step++) {
          await h.advance(random(120));
          const burst = random(4);
          for (let i = 0; i < burst; i++) {
            const now = h.clock.now();
            const inWindow = admitted.filter((t) => t > now - span).length;
            const ok = await store.acquire(resource);
            assert.equal(
              ok,
              inWindow < limit,
              `at step ${step}: ${inWindow} admissions in the window`,
            );
            if (ok) admitted.push(now);
          }
        }
        assert.ok(admitted.length > 50, "the scenario exercises admissions");
      },
    );
  }

  if (supportsMarginMs) {
    storeTest(
      "marginMs lengthens the window: an admission after windowMs but before windowMs + marginMs is refused, and allowed after",
      time,
      async (h) => {
        const store = await open(h, {
          defaultConfig: { limit: 2, windowMs: WINDOW_MS },
          marginMs: MARGIN_MS,
        });
        const resource = `margin:${uid()}`;
        assert.deepStrictEqual(
          store.getResourceConfig(resource),
          { limit: 2, windowMs: WINDOW_MS },
          "getResourceConfig() reports the configured window",
        );
        assert.equal(await store.acquire(resource), true);
        assert.equal(await store.acquire(resource), true);
        assert.equal(await store.acquire(resource), false);
        const untilReset = async (): Promise<number> =>
          (await store.getStatus(resource)).resetTime.getTime() -
          h.clock.now();
        if (h.exact) {
          assert.equal(
            await store.getWaitTime(resource),
            WINDOW_MS + MARGIN_MS,
          );
          await h.advance(WINDOW_MS);
          assert.equal(await store.canProceed(resource), false);
          assert.equal(
            await store.acquire(resource),
            false,
            "windowMs after the admissions, within the margin",
          );
          assert.equal(await store.getWaitTime(resource), MARGIN_MS);
          assert.equal((await store.getStatus(resource)).remaining, 0);
          assert.equal(await untilReset(), MARGIN_MS);
          await h.advance(MARGIN_MS - 1);
          assert.equal(
            await store.acquire(resource),
            false,
            "1 ms before windowMs + marginMs",
          );
          await h.advance(1);
          assert.equal(
            await store.acquire(resource),
            true,
            "at windowMs + marginMs",
          );
          assert.equal(await store.acquire(resource), true);
          assert.equal(await store.acquire(resource), false);
        } else {
          // Land in the middle of the margin: past windowMs for sure, and
          // far enough from its end for a slow timer or round trip.
          const into = MARGIN_MS / 4;
          await h.advance(WINDOW_MS + into);
          assert.equal(
            await store.acquire(resource),
            false,
            "after windowMs, within the margin",
          );
          const wait = await store.getWaitTime(resource);
          assert.ok(
            wait > 0 && wait <= MARGIN_MS - into,
            `wait ${wait} is what is left of the margin (at most ${
              MARGIN_MS - into
            })`,
          );
          const reset = await untilReset();
          assert.ok(
            Math.abs(reset - wait) <= h.slack,
            `resetTime is ${reset} ms away, wait is ${wait} ms`,
          );
          await h.advancePast(wait);
          assert.equal(await store.acquire(resource), true, "after the margin");
        }
      },
    );
  }

  storeTest(
    "getWaitTime() is 0 with room, then the exact time until the oldest admission leaves",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 2, windowMs: WINDOW_MS },
      });
      const resource = `wait:${uid()}`;
      assert.equal(await store.getWaitTime(resource), 0);
      const asked = performance.now();
      await store.acquire(resource);
      assert.equal(await store.getWaitTime(resource), 0);
      await h.advance(100);
      await store.acquire(resource);
      await h.advance(50);
      const wait = await store.getWaitTime(resource);
      // In real time, a loaded machine sleeps longer than asked: the first
      // admission is at most this old when the wait is read.
      const age = performance.now() - asked;
      if (h.exact) {
        assert.equal(wait, WINDOW_MS - 150);
        await h.advance(wait - 1);
        assert.equal(await store.canProceed(resource), false);
        await h.advance(1);
        assert.equal(await store.getWaitTime(resource), 0);
        assert.equal(await store.canProceed(resource), true);
      } else {
        assert.ok(
          wait > WINDOW_MS - age - h.slack && wait <= WINDOW_MS - 150 + h.slack,
          `wait ${wait}: at most ${WINDOW_MS - 150}, more than ${
            (WINDOW_MS - age - h.slack).toFixed(0)
          }`,
        );
        await h.advancePast(wait);
        assert.equal(await store.getWaitTime(resource), 0);
        assert.equal(await store.canProceed(resource), true);
      }
    },
  );

  storeTest(
    "getStatus() reports remaining budget, limit and a reset time consistent with getWaitTime()",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 3, windowMs: WINDOW_MS },
      });
      const resource = `status:${uid()}`;
      const fresh = await store.getStatus(resource);
      assert.equal(fresh.remaining, 3);
      assert.equal(fresh.limit, 3);
      assert.ok(fresh.resetTime instanceof Date);
      await store.acquire(resource);
      assert.equal((await store.getStatus(resource)).remaining, 2);
      await h.advance(100);
      await store.acquire(resource);
      await store.acquire(resource);
      await h.advance(40);
      const full = await store.getStatus(resource);
      const wait = await store.getWaitTime(resource);
      assert.equal(full.remaining, 0);
      assert.equal(full.limit, 3);
      const untilReset = full.resetTime.getTime() - h.clock.now();
      if (h.exact) {
        assert.equal(wait, WINDOW_MS - 140);
        assert.equal(untilReset, wait);
      } else {
        assert.ok(
          Math.abs(untilReset - wait) <= h.slack,
          `resetTime is ${untilReset} ms away, wait is ${wait} ms`,
        );
      }
    },
  );

  storeTest("canProceed() does not spend budget", time, async (h) => {
    const store = await open(h);
    const resource = `peek:${uid()}`;
    for (let i = 0; i < 20; i++) {
      assert.equal(await store.canProceed(resource), true);
    }
    for (let i = 0; i < 5; i++) {
      assert.equal(await store.acquire(resource), true);
    }
    assert.equal(await store.canProceed(resource), false);
  });

  storeTest(
    "record() counts against the budget like acquire()",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `rec:${uid()}`;
      for (let i = 0; i < 5; i++) await store.record(resource);
      assert.equal(await store.acquire(resource), false);
      assert.equal((await store.getStatus(resource)).remaining, 0);
      assert.ok((await store.getWaitTime(resource)) > 0);
    },
  );

  storeTest(
    "reset() forgets the admissions of one resource only",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `reset:${uid()}`;
      const other = `reset-other:${uid()}`;
      for (let i = 0; i < 5; i++) {
        await store.acquire(resource);
        await store.acquire(other);
      }
      await store.reset(resource);
      assert.equal(await store.getWaitTime(resource), 0);
      assert.equal((await store.getStatus(resource)).remaining, 5);
      assert.equal(await store.acquire(resource), true);
      assert.equal(await store.acquire(other), false);
    },
  );

  storeTest(
    "each resource has its own budget",
    time,
    async (h) => {
      const store = await open(h);
      const a = `a:${uid()}`;
      const b = `b:${uid()}`;
      for (let i = 0; i < 5; i++) await store.acquire(a);
      assert.equal(await store.acquire(a), false);
      assert.equal(await store.acquire(b), true);
    },
  );

  storeTest(
    "resourceConfigs and setResourceConfig() override the default budget per resource",
    time,
    async (h) => {
      const configured = `configured:${uid()}`;
      const store = await open(h, {
        resourceConfigs: new Map([[configured, {
          limit: 2,
          windowMs: WINDOW_MS,
        }]]),
      });
      const plain = `plain:${uid()}`;
      const later = `later:${uid()}`;
      assert.deepStrictEqual(store.getResourceConfig(configured), {
        limit: 2,
        windowMs: WINDOW_MS,
      });
      assert.deepStrictEqual(store.getResourceConfig(plain), DEFAULT_CONFIG);
      assert.equal(await store.acquire(configured), true);
      assert.equal(await store.acquire(configured), true);
      assert.equal(await store.acquire(configured), false);
      assert.equal((await store.getStatus(configured)).limit, 2);

      store.setResourceConfig(later, { limit: 1, windowMs: WINDOW_MS });
      assert.deepStrictEqual(store.getResourceConfig(later), {
        limit: 1,
        windowMs: WINDOW_MS,
      });
      assert.equal(await store.acquire(later), true);
      assert.equal(await store.acquire(later), false);
      assert.equal((await store.getStatus(later)).limit, 1);
      assert.deepStrictEqual(store.getResourceConfig(plain), DEFAULT_CONFIG);
    },
  );

  storeTest(
    "setResourceConfig() throws ConfigError for an invalid budget",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `bad:${uid()}`;
      for (
        const bad of [
          { limit: 0, windowMs: WINDOW_MS },
          { limit: 2, windowMs: -1 },
          { limit: Number.NaN, windowMs: WINDOW_MS },
        ]
      ) {
        await throwsConfigError(
          () => store.setResourceConfig(resource, bad),
          describeOptions(bad),
        );
      }
      assert.deepStrictEqual(store.getResourceConfig(resource), DEFAULT_CONFIG);
    },
  );

  storeTest(
    "setCooldown() holds a resource, only ever extends, and expires",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `cool:${uid()}`;
      // Sets a cooldown, noting the clock before and after the call.
      const set = async (ms: number): Promise<[number, number]> => {
        const before = h.clock.now();
        await store.setCooldown(resource, ms);
        return [before, h.clock.now()];
      };
      // What is left of a cooldown of `ms` set during `[before, after]`,
      // read now: exactly, or, in real time (a loaded machine sleeps longer
      // than asked), within the bounds the clock readings around both
      // calls give, to the millisecond.
      const near = async (
        ms: number,
        [before, after]: [number, number],
        what: string,
      ): Promise<void> => {
        const start = h.clock.now();
        const left = await store.getCooldown(resource);
        const end = h.clock.now();
        if (h.exact) assert.equal(left, ms - (start - before), what);
        else {
          assert.ok(
            left >= ms - (end - before) - 2 && left <= ms - (start - after) + 2,
            `${what}: ${left} is between ${ms - (end - before)} and ${
              ms - (start - after)
            }`,
          );
        }
      };
      assert.equal(await store.getCooldown(resource), 0);
      const first = await set(300);
      await near(300, first, "after setting 300 ms");
      await h.advance(100);
      await near(300, first, "100 ms later");
      await set(50);
      await near(300, first, "a shorter one does not cut");
      await near(500, await set(500), "a longer one extends");
      await h.advancePast(500);
      assert.equal(await store.getCooldown(resource), 0);
    },
  );

  storeTest(
    "setCooldown() takes any finite duration: a huge one holds the resource and reads back as a finite wait",
    time,
    async (h) => {
      const store = await open(h);
      const resource = `cool-huge:${uid()}`;
      await store.setCooldown(resource, Number.MAX_VALUE);
      const left = await store.getCooldown(resource);
      assert.ok(left > 86_400_000 && Number.isFinite(left), `${left} ms left`);
      await store.setCooldown(resource, 10);
      assert.equal(await store.getCooldown(resource) > 86_400_000, true);
    },
  );

  storeTest("reset() clears a cooldown", time, async (h) => {
    const store = await open(h);
    const resource = `cool-reset:${uid()}`;
    await store.setCooldown(resource, 10_000);
    assert.ok((await store.getCooldown(resource)) > 0);
    await store.reset(resource);
    assert.equal(await store.getCooldown(resource), 0);
  });

  storeTest(
    "admit() admits like acquire(), tells the wait of getWaitTime() when refused, and while a cooldown runs tells it and records nothing",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 2, windowMs: WINDOW_MS },
      });
      // admit() is optional: a store without it has nothing to check here.
      if (store.admit === undefined) return;
      const resource = `admit:${uid()}`;
      const near = (actual: number, expected: number, what: string): void => {
        if (h.exact) assert.equal(actual, expected, what);
        else {
          assert.ok(
            Math.abs(actual - expected) <= h.slack,
            `${what}: ${actual} is about ${expected}`,
          );
        }
      };
      assert.deepStrictEqual(await store.admit(resource), {
        admitted: true,
        waitMs: 0,
        cooldownMs: 0,
      });
      await h.advance(100);
      assert.equal((await store.admit(resource)).admitted, true);
      await h.advance(50);
      const refused = await store.admit(resource);
      assert.equal(refused.admitted, false);
      assert.equal(refused.cooldownMs, 0);
      assert.ok(refused.waitMs > 0, `wait ${refused.waitMs}`);
      near(refused.waitMs, await store.getWaitTime(resource), "the wait");
      if (h.exact) assert.equal(refused.waitMs, WINDOW_MS - 150);
      assert.equal(await store.acquire(resource), false);

      const held = `admit-held:${uid()}`;
      await store.setCooldown(held, 300);
      const cooling = await store.admit(held);
      assert.equal(cooling.admitted, false);
      near(cooling.cooldownMs, await store.getCooldown(held), "the cooldown");
      assert.ok(cooling.cooldownMs > 0);
      assert.equal(
        (await store.getStatus(held)).remaining,
        2,
        "nothing was recorded during the cooldown",
      );
      const scoped = `admit-scoped:${uid()}`;
      const elsewhere = await store.admit(scoped, { cooldownResource: held });
      assert.equal(elsewhere.admitted, false, "held by another's cooldown");
      assert.ok(elsewhere.cooldownMs > 0);
      assert.equal((await store.admit(scoped)).admitted, true);
      await h.advancePast(300);
      assert.deepStrictEqual(await store.admit(held), {
        admitted: true,
        waitMs: 0,
        cooldownMs: 0,
      });
    },
  );

  storeTest(
    "admit() with track: an admitted request's slot stays taken past the window until a window after its answer",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 1, windowMs: WINDOW_MS },
      });
      if (store.admit === undefined) return;
      const resource = `track:${uid()}`;
      const first = await store.admit(resource, { track: true });
      assert.equal(first.admitted, true);
      // Tracking is optional: a store that answers without done holds no
      // slots of its own.
      if (first.done === undefined) return;
      const refused = await store.admit(resource, { track: true });
      assert.equal(refused.admitted, false);
      assert.equal(refused.done, undefined, "only an admission is tracked");
      await h.advancePast(WINDOW_MS);
      const held = await store.admit(resource);
      assert.equal(held.admitted, false, "unanswered, it may still arrive");
      assert.ok(held.waitMs > 0, `wait ${held.waitMs}`);
      first.done();
      first.done();
      assert.equal((await store.admit(resource)).admitted, false);
      // A window after the answer (a store may add a few milliseconds for
      // whole-millisecond clocks), the slot is free.
      await h.advancePast(WINDOW_MS + 5);
      assert.equal((await store.admit(resource)).admitted, true);
    },
  );

  storeTest(
    "admit() admits exactly limit among 200 concurrent calls",
    time,
    async (h) => {
      const store = await open(h, {
        defaultConfig: { limit: 10, windowMs: WINDOW_MS * 10 },
      });
      if (store.admit === undefined) return;
      const resource = `admit-burst:${uid()}`;
      const results = await Promise.all(
        Array.from({ length: 200 }, () => store.admit!(resource)),
      );
      assert.equal(results.filter((r) => r.admitted).length, 10);
      assert.ok(results.every((r) => r.admitted || r.waitMs > 0));
    },
  );

  storeTest(
    "a window too long for a Date is refused with a ConfigError, or every reset time stays a valid Date",
    time,
    async (h) => {
      const cases: Partial<RateLimitStoreFactoryContext>[] = LONG_WINDOWS.map(
        (windowMs) => ({ defaultConfig: { limit: 1, windowMs } }),
      );
      if (supportsMarginMs) {
        cases.push({
          defaultConfig: { limit: 1, windowMs: WINDOW_MS },
          marginMs: Number.MAX_SAFE_INTEGER,
        });
      }
      for (const overrides of cases) {
        const label = describeOptions(overrides);
        let store: RateLimitStore;
        try {
          store = await open(h, overrides);
        } catch (error) {
          if ((error as { code?: unknown })?.code === "ERR_CONFIG") continue;
          throw error;
        }
        const resource = `long:${uid()}`;
        const valid = (date: Date, what: string): void => {
          assert.ok(
            date instanceof Date && Number.isFinite(date.getTime()),
            `${label}, ${what}: resetTime ${String(date)} is a valid Date`,
          );
        };
        valid((await store.getStatus(resource)).resetTime, "empty");
        assert.equal(await store.acquire(resource), true, label);
        valid((await store.getStatus(resource)).resetTime, "after one");
        assert.equal(await store.acquire(resource), false, label);
        const full = await store.getStatus(resource);
        valid(full.resetTime, "full");
        assert.equal(full.remaining, 0, label);
        const wait = await store.getWaitTime(resource);
        assert.ok(Number.isFinite(wait) && wait > 0, `${label}: wait ${wait}`);
      }
    },
  );

  if (corruptCooldown !== undefined) {
    storeTest(
      "a cooldown the backend cannot read as a time is no cooldown, holds nothing back, and gives way to the next setCooldown()",
      time,
      async (h) => {
        const store = await open(h);
        const resource = `corrupt:${uid()}`;
        await corruptCooldown(store, resource);
        assert.equal(await store.getCooldown(resource), 0);
        assert.equal(await store.acquire(resource), true);
        if (store.admit !== undefined) {
          assert.deepStrictEqual(await store.admit(resource), {
            admitted: true,
            waitMs: 0,
            cooldownMs: 0,
          });
        }
        await store.setCooldown(resource, 300);
        const left = await store.getCooldown(resource);
        assert.ok(
          left > 300 - h.slack - 1 && left <= 300,
          `the new cooldown runs: ${left} ms left`,
        );
        if (store.admit !== undefined) {
          const held = await store.admit(resource);
          assert.equal(held.admitted, false);
          assert.ok(held.cooldownMs > 0);
        }
      },
    );
  }

  storeTest("close() may be called twice", time, async (h) => {
    const store = await open(h);
    await store.acquire(`close:${uid()}`);
    await store.close();
    await store.close();
  });

  const badContexts: Partial<RateLimitStoreFactoryContext>[] = [
    { defaultConfig: { limit: 0, windowMs: WINDOW_MS } },
    { defaultConfig: { limit: -1, windowMs: WINDOW_MS } },
    { defaultConfig: { limit: 1.5, windowMs: WINDOW_MS } },
    { defaultConfig: { limit: Number.NaN, windowMs: WINDOW_MS } },
    { defaultConfig: { limit: 5, windowMs: 0 } },
    { defaultConfig: { limit: 5, windowMs: -WINDOW_MS } },
    { defaultConfig: { limit: 5, windowMs: Number.NaN } },
    { defaultConfig: { limit: 5, windowMs: Infinity } },
    {
      resourceConfigs: new Map([["r", { limit: -3, windowMs: WINDOW_MS }]]),
    },
  ];
  for (const bad of badContexts) {
    const label = bad.resourceConfigs
      ? "resourceConfigs { r: { limit: -3 } }"
      : describeOptions(bad);
    storeTest(
      `the factory throws ConfigError for ${label}`,
      time,
      async (h) => {
        await throwsConfigError(() => open(h, bad), label);
      },
    );
  }
  if (supportsMarginMs) {
    const badMargins: unknown[] = [-1, 0.5, Number.NaN, Infinity, "100"];
    for (const marginMs of badMargins) {
      const label = describeOptions({ marginMs });
      storeTest(
        `the factory throws ConfigError naming marginMs for ${label}`,
        time,
        async (h) => {
          let message = "";
          await throwsConfigError(async () => {
            try {
              await open(h, { marginMs: marginMs as number });
            } catch (error) {
              message = String((error as Error)?.message);
              throw error;
            }
          }, label);
          assert.match(message, /marginMs/);
        },
      );
    }
  }
  for (const invalid of invalidOptions) {
    storeTest(
      `the factory throws ConfigError for ${describeOptions(invalid)}`,
      time,
      async (h) => {
        await throwsConfigError(
          () => open(h, { options: invalid }),
          describeOptions(invalid),
        );
      },
    );
  }
}

import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Clock } from "../src/clock.ts";
import type { AdaptiveConfig } from "../src/rate_limit/adaptive_policy.ts";
import type {
  AdaptiveRateLimitStatus,
  AdaptiveRateLimitStore,
  Priority,
  RateLimitConfig,
} from "../src/stores/types.ts";
import {
  type Awaitable,
  describeOptions,
  type Harness,
  seededRandom,
  storeTest,
  throwsConfigError,
  uid,
} from "./_harness.ts";
import {
  MARGIN_MS,
  rateLimitCases,
  type RateLimitStoreSuiteOptions,
  WINDOW_MS,
} from "./rate_limit_store_suite.ts";

/** What an {@linkcode AdaptiveRateLimitStoreFactory} receives to build a fresh store. */
export interface AdaptiveRateLimitStoreFactoryContext {
  /** The clock the store must use for windows, activity and cooldowns. */
  clock: Clock;
  /** The default budget to configure. */
  defaultConfig: RateLimitConfig;
  /** Per-resource budgets to configure. */
  resourceConfigs: Map<string, RateLimitConfig>;
  /** The adaptive settings to configure. */
  adaptiveConfig: Partial<AdaptiveConfig>;
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
   * {@linkcode AdaptiveRateLimitStoreSuiteOptions.invalidOptions}.
   */
  options: Readonly<Record<string, unknown>>;
  /**
   * When set, build a second store on the backend of this one (the same
   * database, tables or key prefix), as another process would open it. Set
   * only when {@linkcode AdaptiveRateLimitStoreSuiteOptions.sharedBackend}
   * is `true`.
   */
  shareWith?: AdaptiveRateLimitStore;
}

/** Builds a fresh, isolated adaptive rate-limit store for one test. */
export type AdaptiveRateLimitStoreFactory = (
  context: AdaptiveRateLimitStoreFactoryContext,
) => Awaitable<AdaptiveRateLimitStore>;

/** Options for {@linkcode testAdaptiveRateLimitStore}. */
export interface AdaptiveRateLimitStoreSuiteOptions
  extends RateLimitStoreSuiteOptions {
  /**
   * Whether stores share user activity through their backend, and the
   * factory honours
   * {@linkcode AdaptiveRateLimitStoreFactoryContext.shareWith}: the suite
   * then checks that a user admitted through one store ends the idle split
   * of another at once.
   *
   * @default {false}
   */
  sharedBackend?: boolean;
}

/**
 * Short adaptive settings, so that every regime is reachable in a second of
 * real time.
 */
const ADAPTIVE: AdaptiveConfig = {
  highActivityThreshold: 4,
  moderateActivityThreshold: 2,
  monitoringWindowMs: 1_200,
  sustainedInactivityThresholdMs: 1_500,
  recalculationIntervalMs: 50,
  maxUserScaling: 2,
  minUserReserved: 2,
  backgroundPauseOnIncreasingTrend: false,
};

type _Open = (
  h: Harness,
  overrides?: Partial<AdaptiveRateLimitStoreFactoryContext>,
) => Promise<AdaptiveRateLimitStore>;

/**
 * Runs the {@linkcode AdaptiveRateLimitStore} conformance suite: every test
 * of the rate-limit suite (with calls that carry no priority, which count as
 * background), then the adaptive guarantees. The reservations never add up
 * to more than the limit, even for limits of 1, 2 and 3; user and total
 * traffic never exceed the limit in any window; users keep a reserve under
 * activity; background gets the full budget when users are idle; rising user
 * traffic may pause background; waits are measured with `windowMs`, and
 * `marginMs` lengthens the window of both traffic classes; `admit` tells the
 * wait of its priority; and, with `sharedBackend`, users returning through
 * another store end an idle split at once.
 *
 * The factory is called with windows of 400 ms and an adaptive
 * configuration scaled down to fit in real time (monitoring window 1.2 s,
 * sustained inactivity 1.5 s, recalculation every 50 ms).
 *
 * @param name The name of the store under test, used as the suite's title.
 * @param factory Builds a fresh store for each test; the suite closes it.
 * @param options How time moves, backend-specific invalid options, and
 * whether the store takes `marginMs`.
 *
 * @example Testing a store
 * ```ts ignore
 * import { MemoryAdaptiveRateLimitStore } from "@sluice/http";
 * import { testAdaptiveRateLimitStore } from "@sluice/http/testing";
 *
 * testAdaptiveRateLimitStore("MemoryAdaptiveRateLimitStore", (context) =>
 *   new MemoryAdaptiveRateLimitStore({ ...context, ...context.options }));
 * ```
 */
export function testAdaptiveRateLimitStore(
  name: string,
  factory: AdaptiveRateLimitStoreFactory,
  options: AdaptiveRateLimitStoreSuiteOptions = {},
): void {
  const {
    time = "manual",
    invalidOptions = [],
    supportsMarginMs = true,
    corruptCooldown,
    sharedBackend = false,
  } = options;
  const open: _Open = (h, overrides = {}) =>
    h.open(() =>
      factory({
        clock: h.clock,
        defaultConfig: { limit: 5, windowMs: WINDOW_MS },
        resourceConfigs: new Map(),
        adaptiveConfig: ADAPTIVE,
        marginMs: 0,
        options: {},
        ...overrides,
      })
    );
  const with10 = { defaultConfig: { limit: 10, windowMs: WINDOW_MS } };

  /** Spends `count` admissions of `priority`; returns how many were admitted. */
  const spend = async (
    store: AdaptiveRateLimitStore,
    resource: string,
    priority: Priority | undefined,
    count: number,
  ): Promise<number> => {
    let admitted = 0;
    for (let i = 0; i < count; i++) {
      const ok = priority === undefined
        ? await store.acquire(resource)
        : await store.acquire(resource, priority);
      if (ok) admitted++;
    }
    return admitted;
  };

  const checkSplit = (
    status: AdaptiveRateLimitStatus,
    limit: number,
    what: string,
  ): void => {
    for (
      const field of ["userReserved", "backgroundMax", "remaining"] as const
    ) {
      assert.ok(
        Number.isInteger(status[field]) && status[field] >= 0,
        `${what}: ${field} ${status[field]} is a non-negative integer`,
      );
    }
    assert.ok(
      status.userReserved + status.backgroundMax <= limit,
      `${what}: userReserved ${status.userReserved} + backgroundMax ${status.backgroundMax} <= limit ${limit}`,
    );
    assert.ok(status.remaining <= limit, `${what}: remaining <= limit`);
    assert.equal(status.limit, limit, `${what}: limit`);
    assert.equal(typeof status.backgroundPaused, "boolean");
    assert.ok(Number.isInteger(status.recentUserActivity));
    assert.equal(typeof status.reason, "string");
    assert.ok(status.reason.length > 0, `${what}: a reason is given`);
  };

  describe(`${name} (AdaptiveRateLimitStore conformance, ${time} time)`, () => {
    describe("as a RateLimitStore, called without a priority", () => {
      rateLimitCases(
        (h, overrides) => open(h, overrides),
        time,
        { invalidOptions, supportsMarginMs, corruptCooldown },
      );
    });

    storeTest(
      "userReserved + backgroundMax never exceeds limit, for limits from 1 up and every level of activity",
      time,
      async (h) => {
        const limits = [1, 2, 3, 4, 7, 10, 60];
        const id = uid();
        const store = await open(h, {
          resourceConfigs: new Map(
            limits.map((limit) => [`sum:${id}:${limit}`, {
              limit,
              windowMs: WINDOW_MS,
            }]),
          ),
          adaptiveConfig: {
            ...ADAPTIVE,
            backgroundPauseOnIncreasingTrend: true,
          },
        });
        const check = async (phase: string): Promise<void> => {
          await h.advance(ADAPTIVE.recalculationIntervalMs + 1);
          for (const limit of limits) {
            const resource = `sum:${id}:${limit}`;
            for (const priority of ["user", "background"] as const) {
              checkSplit(
                await store.getStatus(resource, priority),
                limit,
                `${phase}, limit ${limit}, ${priority}`,
              );
            }
          }
        };
        await check("no activity");
        for (const limit of limits) {
          await store.record(`sum:${id}:${limit}`, "user");
        }
        await check("one user request");
        for (const limit of limits) {
          for (let i = 0; i < 2; i++) {
            await store.record(`sum:${id}:${limit}`, "user");
          }
        }
        await check("moderate activity");
        for (const limit of limits) {
          for (let i = 0; i < 6; i++) {
            await store.record(`sum:${id}:${limit}`, "user");
          }
        }
        await check("high activity");
        for (const limit of limits) {
          for (let i = 0; i < 6; i++) {
            await store.record(`sum:${id}:${limit}`, "background");
          }
        }
        await check("high activity with background traffic");
      },
    );

    storeTest(
      "background may use the full limit on a store that has seen no user traffic",
      time,
      async (h) => {
        const store = await open(h, with10);
        const resource = `idle:${uid()}`;
        const status = await store.getStatus(resource, "background");
        assert.equal(status.userReserved, 0);
        assert.equal(status.backgroundMax, 10);
        assert.equal(await spend(store, resource, "background", 12), 10);
      },
    );

    storeTest(
      "after recent user traffic, background is held to backgroundMax and users get the rest",
      time,
      async (h) => {
        const store = await open(h, with10);
        const resource = `buffer:${uid()}`;
        assert.equal(await store.acquire(resource, "user"), true);
        await h.advancePast(WINDOW_MS + ADAPTIVE.recalculationIntervalMs);
        const status = await store.getStatus(resource, "background");
        assert.ok(status.userReserved > 0, "a user reserve is kept");
        assert.equal(status.backgroundMax, 10 - status.userReserved);
        assert.equal(status.recentUserActivity, 1);
        assert.equal(
          await spend(store, resource, "background", 10),
          status.backgroundMax,
        );
        assert.equal(await store.canProceed(resource, "background"), false);
        assert.equal(await store.canProceed(resource, "user"), true);
        assert.equal(
          await spend(store, resource, "user", 10),
          status.userReserved,
          "users take what background left",
        );
      },
    );

    storeTest(
      "high user activity gives users priority: a larger reserve than low activity",
      time,
      async (h) => {
        const store = await open(h, with10);
        const low = `low:${uid()}`;
        const high = `high:${uid()}`;
        await spend(store, low, "user", 1);
        await spend(store, high, "user", 6);
        await h.advancePast(WINDOW_MS + ADAPTIVE.recalculationIntervalMs);
        const lowStatus = await store.getStatus(low, "background");
        const highStatus = await store.getStatus(high, "background");
        assert.equal(highStatus.recentUserActivity, 6);
        assert.ok(
          highStatus.userReserved > lowStatus.userReserved,
          `high ${highStatus.userReserved} > low ${lowStatus.userReserved}`,
        );
        assert.ok(highStatus.userReserved >= ADAPTIVE.minUserReserved);
        assert.notEqual(highStatus.reason, lowStatus.reason);
        assert.equal(
          await spend(store, high, "background", 10),
          highStatus.backgroundMax,
        );
        assert.equal(
          await spend(store, high, "user", 10),
          10 - highStatus.backgroundMax,
        );
      },
    );

    storeTest(
      "after sustained user inactivity, background gets the full limit again",
      time,
      async (h) => {
        const store = await open(h, with10);
        const resource = `quiet:${uid()}`;
        await spend(store, resource, "user", 3);
        await h.advancePast(
          ADAPTIVE.sustainedInactivityThresholdMs +
            ADAPTIVE.recalculationIntervalMs,
        );
        const status = await store.getStatus(resource, "background");
        assert.equal(status.userReserved, 0);
        assert.equal(status.backgroundMax, 10);
        assert.equal(status.backgroundPaused, false);
        assert.equal(await spend(store, resource, "background", 12), 10);
      },
    );

    storeTest(
      "rising user traffic pauses background when backgroundPauseOnIncreasingTrend is set",
      time,
      async (h) => {
        const store = await open(h, {
          ...with10,
          adaptiveConfig: {
            ...ADAPTIVE,
            backgroundPauseOnIncreasingTrend: true,
          },
        });
        const resource = `surge:${uid()}`;
        await spend(store, resource, "user", 5);
        await h.advancePast(ADAPTIVE.recalculationIntervalMs);
        const status = await store.getStatus(resource, "background");
        assert.equal(status.backgroundPaused, true);
        assert.equal(status.remaining, 0);
        assert.equal(await store.canProceed(resource, "background"), false);
        assert.equal(await store.acquire(resource, "background"), false);
        assert.ok((await store.getWaitTime(resource, "background")) > 0);
        assert.equal(await store.acquire(resource, "user"), true);
      },
    );

    storeTest(
      "a call without a priority counts as background",
      time,
      async (h) => {
        const store = await open(h, with10);
        const resource = `default:${uid()}`;
        await store.acquire(resource, "user");
        await h.advancePast(WINDOW_MS + ADAPTIVE.recalculationIntervalMs);
        const status = await store.getStatus(resource);
        assert.ok(status.backgroundMax < 10);
        assert.equal(
          await spend(store, resource, undefined, 10),
          status.backgroundMax,
        );
        assert.equal(await store.canProceed(resource), false);
        assert.equal(await store.canProceed(resource, "user"), true);
        assert.ok((await store.getWaitTime(resource)) > 0);
        assert.equal(await store.getWaitTime(resource, "user"), 0);
      },
    );

    storeTest(
      "admit(resource, { priority }) admits like acquire() and tells the wait of getWaitTime() for that priority",
      time,
      async (h) => {
        const store = await open(h, with10);
        if (store.admit === undefined) return;
        const resource = `admit-split:${uid()}`;
        const user = { priority: "user" } as const;
        const background = { priority: "background" } as const;
        assert.equal((await store.admit(resource, user)).admitted, true);
        await h.advancePast(WINDOW_MS + ADAPTIVE.recalculationIntervalMs);
        const { backgroundMax } = await store.getStatus(resource);
        assert.ok(backgroundMax > 0 && backgroundMax < 10);
        for (let i = 0; i < backgroundMax; i++) {
          assert.equal(
            (await store.admit(resource, background)).admitted,
            true,
          );
        }
        await h.advance(30);
        const refused = await store.admit(resource, background);
        assert.equal(refused.admitted, false);
        assert.equal(refused.cooldownMs, 0);
        const wait = await store.getWaitTime(resource, "background");
        if (h.exact) {
          assert.equal(refused.waitMs, WINDOW_MS - 30);
          assert.equal(refused.waitMs, wait);
        } else {
          assert.ok(
            Math.abs(refused.waitMs - wait) <= h.slack && refused.waitMs > 0,
            `admit() waits ${refused.waitMs}, getWaitTime() ${wait}`,
          );
        }
        assert.deepStrictEqual(await store.admit(resource, user), {
          admitted: true,
          waitMs: 0,
          cooldownMs: 0,
        });
      },
    );

    if (sharedBackend) {
      storeTest(
        "a user admitted through another store on the same backend ends this store's idle split at once: background keeps room for users",
        time,
        async (h) => {
          const shared = {
            defaultConfig: { limit: 10, windowMs: WINDOW_MS * 10 },
            adaptiveConfig: { ...ADAPTIVE, recalculationIntervalMs: 600_000 },
          };
          const worker = await open(h, shared);
          const web = await open(h, { ...shared, shareWith: worker });
          const resource = `return:${uid()}`;
          assert.equal(await worker.acquire(resource, "background"), true);
          assert.equal(
            (await worker.getStatus(resource, "background")).backgroundMax,
            10,
            "no user was ever seen: background may take everything",
          );
          await h.advance(1);
          assert.equal(await web.acquire(resource, "user"), true);
          let background = 1;
          for (let i = 0; i < 9; i++) {
            if (await worker.acquire(resource, "background")) background++;
          }
          const status = await worker.getStatus(resource, "background");
          assert.ok(
            status.userReserved > 0,
            `the worker sees the user: ${status.reason}`,
          );
          assert.equal(
            background,
            status.backgroundMax,
            "background stopped at its new share, although the idle split would still be current for ten minutes",
          );
          assert.equal(
            await web.acquire(resource, "user"),
            true,
            "a user finds room",
          );
        },
      );
    }

    storeTest(
      "200 concurrent mixed acquires admit exactly limit in total",
      time,
      async (h) => {
        const store = await open(h, {
          defaultConfig: { limit: 10, windowMs: WINDOW_MS * 10 },
        });
        const resource = `mixed:${uid()}`;
        const priorities = Array.from(
          { length: 200 },
          (_, i): Priority => (i % 2 === 0 ? "user" : "background"),
        );
        const results = await Promise.all(
          priorities.map((p) => store.acquire(resource, p)),
        );
        const admitted = results.filter(Boolean).length;
        assert.equal(admitted, 10);
        assert.equal(await store.canProceed(resource, "user"), false);
      },
    );

    if (time === "manual") {
      storeTest(
        "user and total admissions never exceed limit in any window (randomised)",
        time,
        async (h) => {
          const limit = 6;
          const store = await open(h, {
            defaultConfig: { limit, windowMs: WINDOW_MS },
            adaptiveConfig: {
              ...ADAPTIVE,
              backgroundPauseOnIncreasingTrend: true,
            },
          });
          const resource = `rand:${uid()}`;
          const admitted: { t: number; priority: Priority }[] = [];
          const random = seededRandom(987654);
          for (let step = 0; step < 400; step++) {
            await h.advance(random(100));
            const burst = random(5);
            for (let i = 0; i < burst; i++) {
              const priority: Priority = random(3) === 0
                ? "user"
                : "background";
              const now = h.clock.now();
              const inWindow = admitted.filter((a) => a.t > now - WINDOW_MS);
              const ok = await store.acquire(resource, priority);
              if (priority === "user") {
                assert.equal(
                  ok,
                  inWindow.length < limit,
                  `a user request is admitted exactly when the window has room (step ${step})`,
                );
              } else if (ok) {
                assert.ok(inWindow.length < limit);
              }
              if (ok) admitted.push({ t: now, priority });
            }
          }
          for (const { t } of admitted) {
            const inWindow = admitted.filter((a) =>
              a.t > t - WINDOW_MS && a.t <= t
            );
            assert.ok(inWindow.length <= limit);
            assert.ok(
              inWindow.filter((a) => a.priority === "user").length <= limit,
            );
          }
          assert.ok(admitted.some((a) => a.priority === "user"));
          assert.ok(admitted.some((a) => a.priority === "background"));
        },
      );
    }

    storeTest(
      'getWaitTime(resource, "user") measures the wait with windowMs',
      time,
      async (h) => {
        const store = await open(h, {
          defaultConfig: { limit: 3, windowMs: WINDOW_MS },
        });
        const resource = `uwait:${uid()}`;
        const asked = performance.now();
        assert.equal(await spend(store, resource, "user", 3), 3);
        await h.advance(100);
        const wait = await store.getWaitTime(resource, "user");
        // In real time a loaded machine sleeps longer than asked: the first
        // admission is at most this old when the wait is read.
        const age = performance.now() - asked;
        const status = await store.getStatus(resource, "user");
        assert.equal(status.remaining, 0);
        const untilReset = status.resetTime.getTime() - h.clock.now();
        if (h.exact) {
          assert.equal(wait, WINDOW_MS - 100);
          assert.equal(untilReset, wait);
        } else {
          assert.ok(
            wait > WINDOW_MS - age - h.slack && wait <= WINDOW_MS - 100,
            `wait ${wait}: at most ${WINDOW_MS - 100}, more than ${
              (WINDOW_MS - age - h.slack).toFixed(0)
            }`,
          );
        }
        await h.advancePast(wait);
        assert.equal(await store.acquire(resource, "user"), true);
      },
    );

    storeTest(
      'getWaitTime(resource, "background") is the time until a background admission leaves the window',
      time,
      async (h) => {
        const store = await open(h, with10);
        const resource = `bwait:${uid()}`;
        await store.acquire(resource, "user");
        await h.advancePast(WINDOW_MS + ADAPTIVE.recalculationIntervalMs);
        const { backgroundMax } = await store.getStatus(resource);
        assert.ok(backgroundMax > 0 && backgroundMax < 10);
        const asked = performance.now();
        assert.equal(
          await spend(store, resource, "background", backgroundMax),
          backgroundMax,
        );
        await h.advance(30);
        const wait = await store.getWaitTime(resource, "background");
        const age = performance.now() - asked;
        if (h.exact) assert.equal(wait, WINDOW_MS - 30);
        else {
          assert.ok(
            wait > WINDOW_MS - age - h.slack && wait <= WINDOW_MS - 30,
            `wait ${wait}: at most ${WINDOW_MS - 30}, more than ${
              (WINDOW_MS - age - h.slack).toFixed(0)
            }`,
          );
        }
        assert.equal(await store.getWaitTime(resource, "user"), 0);
      },
    );

    if (supportsMarginMs) {
      storeTest(
        "marginMs lengthens the window of user traffic: refused after windowMs, admitted after windowMs + marginMs",
        time,
        async (h) => {
          const store = await open(h, {
            defaultConfig: { limit: 3, windowMs: WINDOW_MS },
            marginMs: MARGIN_MS,
          });
          const resource = `umargin:${uid()}`;
          assert.equal(await spend(store, resource, "user", 3), 3);
          if (h.exact) {
            await h.advance(WINDOW_MS);
            assert.equal(await store.acquire(resource, "user"), false);
            assert.equal(await store.getWaitTime(resource, "user"), MARGIN_MS);
            const status = await store.getStatus(resource, "user");
            assert.equal(status.remaining, 0);
            assert.equal(
              status.resetTime.getTime() - h.clock.now(),
              MARGIN_MS,
            );
            await h.advance(MARGIN_MS - 1);
            assert.equal(await store.acquire(resource, "user"), false);
            await h.advance(1);
          } else {
            const into = MARGIN_MS / 4;
            await h.advance(WINDOW_MS + into);
            assert.equal(await store.acquire(resource, "user"), false);
            const wait = await store.getWaitTime(resource, "user");
            assert.ok(
              wait > 0 && wait <= MARGIN_MS - into,
              `wait ${wait} is what is left of the margin`,
            );
            await h.advancePast(wait);
          }
          assert.equal(await store.acquire(resource, "user"), true);
        },
      );

      storeTest(
        'marginMs lengthens the window of background traffic: getWaitTime(resource, "background") counts it',
        time,
        async (h) => {
          const store = await open(h, { ...with10, marginMs: MARGIN_MS });
          const resource = `bmargin:${uid()}`;
          await store.acquire(resource, "user");
          await h.advancePast(
            WINDOW_MS + MARGIN_MS + ADAPTIVE.recalculationIntervalMs,
          );
          const { backgroundMax } = await store.getStatus(resource);
          assert.ok(backgroundMax > 0 && backgroundMax < 10);
          const asked = performance.now();
          assert.equal(
            await spend(store, resource, "background", backgroundMax),
            backgroundMax,
          );
          await h.advance(30);
          const wait = await store.getWaitTime(resource, "background");
          const age = performance.now() - asked;
          const expected = WINDOW_MS + MARGIN_MS - 30;
          if (h.exact) assert.equal(wait, expected);
          else {
            assert.ok(
              wait > WINDOW_MS + MARGIN_MS - age - h.slack && wait <= expected,
              `wait ${wait}: at most ${expected}, more than ${
                (WINDOW_MS + MARGIN_MS - age - h.slack).toFixed(0)
              }`,
            );
          }
          assert.ok(wait > WINDOW_MS, "longer than what windowMs alone leaves");
          assert.equal(await store.getWaitTime(resource, "user"), 0);
        },
      );
    }

    const badAdaptive: Partial<Record<keyof AdaptiveConfig, unknown>>[] = [
      { highActivityThreshold: 0 },
      { highActivityThreshold: -1 },
      { moderateActivityThreshold: Number.NaN },
      { moderateActivityThreshold: 20, highActivityThreshold: 10 },
      { monitoringWindowMs: 0 },
      { sustainedInactivityThresholdMs: -1 },
      { recalculationIntervalMs: -1 },
      { maxUserScaling: 0.5 },
      { maxUserScaling: Number.NaN },
      { minUserReserved: -1 },
      { minUserReserved: 1.5 },
      { backgroundPauseOnIncreasingTrend: "yes" },
    ];
    for (const bad of badAdaptive) {
      storeTest(
        `the factory throws ConfigError for adaptiveConfig ${
          describeOptions(bad)
        }`,
        time,
        async (h) => {
          await throwsConfigError(
            () =>
              open(h, {
                adaptiveConfig: {
                  ...ADAPTIVE,
                  ...bad,
                } as Partial<AdaptiveConfig>,
              }),
            describeOptions(bad),
          );
        },
      );
    }
  });
}

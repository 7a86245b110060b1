import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/errors.ts";
import {
  activityCutoffs,
  type ActivityTrend,
  type AdaptiveConfig,
  adaptiveRemaining,
  adaptiveResetAt,
  adaptiveWaitMs,
  type AdaptiveWindowState,
  admitsPriority,
  classifyTrend,
  computeAdaptiveSplit,
  DEFAULT_ADAPTIVE_CONFIG,
  type UserActivity,
  validateAdaptiveConfig,
} from "../../src/rate_limit/adaptive_policy.ts";

const config = DEFAULT_ADAPTIVE_CONFIG;
const activity = (
  recent: number,
  trend: [number, number] = [0, recent],
  idleMs = 60_000,
): UserActivity => ({
  recent,
  lastThird: trend[0],
  previousThird: trend[1],
  idleMs,
});

describe("DEFAULT_ADAPTIVE_CONFIG", () => {
  it("holds the documented defaults", () => {
    assert.deepStrictEqual({ ...DEFAULT_ADAPTIVE_CONFIG }, {
      highActivityThreshold: 10,
      moderateActivityThreshold: 3,
      monitoringWindowMs: 900_000,
      sustainedInactivityThresholdMs: 1_800_000,
      recalculationIntervalMs: 30_000,
      maxUserScaling: 2,
      minUserReserved: 5,
      backgroundPauseOnIncreasingTrend: true,
    });
    assert.ok(Object.isFrozen(DEFAULT_ADAPTIVE_CONFIG));
  });
});

describe("validateAdaptiveConfig()", () => {
  it("returns the defaults for undefined and fills in omitted fields", () => {
    assert.equal(
      validateAdaptiveConfig("S", undefined),
      DEFAULT_ADAPTIVE_CONFIG,
    );
    const merged = validateAdaptiveConfig("S", {
      minUserReserved: 0,
      recalculationIntervalMs: 0,
      maxUserScaling: 1,
    });
    assert.equal(merged.minUserReserved, 0);
    assert.equal(merged.recalculationIntervalMs, 0);
    assert.equal(merged.maxUserScaling, 1);
    assert.equal(merged.highActivityThreshold, 10);
  });

  it("throws a ConfigError naming the field and the value", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ highActivityThreshold: 0 }, "adaptiveConfig.highActivityThreshold"],
      [{ highActivityThreshold: 2.5 }, "adaptiveConfig.highActivityThreshold"],
      [
        { moderateActivityThreshold: -1 },
        "adaptiveConfig.moderateActivityThreshold",
      ],
      [
        { moderateActivityThreshold: 11 },
        "adaptiveConfig.moderateActivityThreshold",
      ],
      [{ monitoringWindowMs: Number.NaN }, "adaptiveConfig.monitoringWindowMs"],
      [
        { sustainedInactivityThresholdMs: 0 },
        "adaptiveConfig.sustainedInactivityThresholdMs",
      ],
      [
        { recalculationIntervalMs: -5 },
        "adaptiveConfig.recalculationIntervalMs",
      ],
      [
        { recalculationIntervalMs: Infinity },
        "adaptiveConfig.recalculationIntervalMs",
      ],
      [{ maxUserScaling: 0.9 }, "adaptiveConfig.maxUserScaling"],
      [{ maxUserScaling: Infinity }, "adaptiveConfig.maxUserScaling"],
      [{ minUserReserved: -1 }, "adaptiveConfig.minUserReserved"],
      [
        { backgroundPauseOnIncreasingTrend: 1 },
        "adaptiveConfig.backgroundPauseOnIncreasingTrend",
      ],
      [{ highActivityTreshold: 5 }, "adaptiveConfig.highActivityTreshold"],
    ];
    for (const [input, option] of cases) {
      assert.throws(
        () => validateAdaptiveConfig("MyStore", input),
        (error: unknown) =>
          error instanceof ConfigError && error.option === option &&
          error.message.startsWith(`Cannot create MyStore as '${option}'`),
        option,
      );
    }
    assert.throws(() => validateAdaptiveConfig("S", "fast"), ConfigError);
    assert.throws(() => validateAdaptiveConfig("S", null), ConfigError);
  });
});

describe("activityCutoffs()", () => {
  it("splits the monitoring window into thirds ending now", () => {
    assert.deepStrictEqual(
      activityCutoffs(1_000_000, { ...config, monitoringWindowMs: 900 }),
      {
        monitoringSince: 999_100,
        lastThirdSince: 999_700,
        previousThirdSince: 999_400,
      },
    );
  });
});

describe("classifyTrend()", () => {
  it("compares the last third of the window with the third before it", () => {
    const cases: [number, number, ActivityTrend][] = [
      [0, 0, "none"],
      [1, 0, "increasing"],
      [4, 2, "increasing"],
      [3, 2, "stable"],
      [2, 2, "stable"],
      [1, 2, "stable"],
      [1, 3, "decreasing"],
      [0, 1, "decreasing"],
    ];
    for (const [last, previous, trend] of cases) {
      assert.equal(
        classifyTrend(last, previous),
        trend,
        `${last} vs ${previous}`,
      );
    }
  });
});

describe("computeAdaptiveSplit()", () => {
  it("gives background the whole limit after sustained inactivity, or when no user was ever seen", () => {
    for (const idleMs of [1_800_000, Infinity]) {
      const split = computeAdaptiveSplit(
        60,
        activity(0, [0, 0], idleMs),
        config,
      );
      assert.equal(split.regime, "idle");
      assert.equal(split.userReserved, 0);
      assert.equal(split.backgroundMax, 60);
      assert.equal(split.backgroundPaused, false);
    }
    assert.match(
      computeAdaptiveSplit(60, activity(0, [0, 0], 2_700_000), config).reason,
      /45 min/,
    );
  });

  it("keeps minUserReserved as a buffer while users were recently active", () => {
    const split = computeAdaptiveSplit(
      60,
      activity(0, [0, 0], 1_000_000),
      config,
    );
    assert.equal(split.regime, "quiet");
    assert.equal(split.userReserved, 5);
    assert.equal(split.backgroundMax, 55);
  });

  it("keeps 30 % for users under low activity", () => {
    const split = computeAdaptiveSplit(60, activity(2, [1, 1]), config);
    assert.equal(split.regime, "low");
    assert.equal(split.userReserved, 18);
    assert.equal(split.backgroundMax, 42);
    assert.match(split.reason, /Low user activity \(2 in 15 min\)/);
  });

  it("scales the user share with moderate activity and its trend, up to maxUserScaling", () => {
    const stable = computeAdaptiveSplit(60, activity(5, [2, 2]), config);
    assert.equal(stable.regime, "moderate");
    // 40 % x (1 + 5/10) = 60 %
    assert.equal(stable.userReserved, 36);
    assert.equal(stable.backgroundPaused, false);
    assert.match(stable.reason, /1\.50x/);
    const falling = computeAdaptiveSplit(60, activity(5, [0, 5]), config);
    // 40 % x 1.5 x 0.8 = 48 %
    assert.equal(falling.userReserved, 29);
    const capped = computeAdaptiveSplit(
      60,
      activity(9, [3, 3]),
      { ...config, maxUserScaling: 1.2 },
    );
    // 40 % x min(1.2, 1.9) = 48 %
    assert.equal(capped.userReserved, 29);
  });

  it("gives users most of the budget under high activity", () => {
    const split = computeAdaptiveSplit(60, activity(15, [5, 5]), config);
    assert.equal(split.regime, "high");
    assert.equal(split.userReserved, 54);
    assert.equal(split.backgroundMax, 6);
    assert.equal(split.backgroundPaused, false);
    assert.match(split.reason, /High user activity \(15 in 15 min\)/);
    const modest = computeAdaptiveSplit(
      60,
      activity(15, [5, 5]),
      { ...config, maxUserScaling: 1 },
    );
    assert.equal(modest.userReserved, 30);
  });

  it("pauses background while user traffic rises under moderate or high activity, when enabled", () => {
    const rising = [8, 2] as [number, number];
    const high = computeAdaptiveSplit(60, activity(12, rising), config);
    assert.equal(high.backgroundPaused, true);
    assert.match(high.reason, /background paused/);
    const moderate = computeAdaptiveSplit(60, activity(4, [3, 1]), config);
    assert.equal(moderate.regime, "moderate");
    assert.equal(moderate.backgroundPaused, true);
    const low = computeAdaptiveSplit(60, activity(2, [2, 0]), config);
    assert.equal(low.backgroundPaused, false);
    const disabled = computeAdaptiveSplit(60, activity(12, rising), {
      ...config,
      backgroundPauseOnIncreasingTrend: false,
    });
    assert.equal(disabled.backgroundPaused, false);
  });

  it("never reserves more than the limit, for every limit, activity, trend and setting", () => {
    const configs: AdaptiveConfig[] = [
      config,
      { ...config, minUserReserved: 0, maxUserScaling: 1 },
      { ...config, minUserReserved: 50, maxUserScaling: 3.7 },
      { ...config, highActivityThreshold: 1, moderateActivityThreshold: 1 },
    ];
    const trends: [number, number][] = [[0, 0], [5, 0], [1, 1], [0, 5]];
    for (const c of configs) {
      for (let limit = 1; limit <= 120; limit++) {
        for (const recent of [0, 1, 2, 3, 5, 9, 10, 11, 40]) {
          for (const trend of trends) {
            for (const idleMs of [0, 600_000, 1_800_000, Infinity]) {
              const split = computeAdaptiveSplit(
                limit,
                activity(recent, trend, idleMs),
                c,
              );
              const what = `limit ${limit}, recent ${recent}, trend ${trend}`;
              assert.ok(Number.isInteger(split.userReserved), what);
              assert.ok(split.userReserved >= 0, what);
              assert.ok(split.backgroundMax >= 0, what);
              assert.equal(
                split.userReserved + split.backgroundMax,
                limit,
                what,
              );
              assert.ok(split.reason.length > 0);
            }
          }
        }
      }
    }
  });

  it("handles limits smaller than minUserReserved: users first under activity, background not starved when quiet", () => {
    for (const limit of [1, 2, 3]) {
      const high = computeAdaptiveSplit(limit, activity(20, [5, 5]), config);
      assert.equal(high.userReserved, limit, `high, limit ${limit}`);
      assert.equal(high.backgroundMax, 0);
      const quiet = computeAdaptiveSplit(
        limit,
        activity(0, [0, 0], 600_000),
        config,
      );
      assert.equal(quiet.userReserved, Math.floor(limit / 2));
      assert.ok(quiet.backgroundMax >= 1, `quiet, limit ${limit}`);
    }
  });

  it("never lowers the user reserve as activity grows, for a fixed trend", () => {
    for (const limit of [1, 3, 10, 60, 200]) {
      for (const trend of [[1, 1], [3, 0], [0, 3]] as [number, number][]) {
        let previous = -1;
        for (let recent = 0; recent <= 30; recent++) {
          const { userReserved } = computeAdaptiveSplit(
            limit,
            activity(recent, trend, 60_000),
            config,
          );
          assert.ok(
            userReserved >= previous,
            `limit ${limit}, recent ${recent}: ${userReserved} >= ${previous}`,
          );
          previous = userReserved;
        }
      }
    }
  });
});

describe("admitsPriority()", () => {
  const state = {
    limit: 10,
    totalInWindow: 5,
    backgroundInWindow: 3,
    backgroundMax: 4,
    backgroundPaused: false,
  };

  it("admits users whenever the total budget has room", () => {
    assert.equal(admitsPriority("user", state), true);
    assert.equal(
      admitsPriority("user", {
        ...state,
        backgroundInWindow: 4,
        backgroundPaused: true,
      }),
      true,
    );
    assert.equal(
      admitsPriority("user", { ...state, totalInWindow: 10 }),
      false,
    );
  });

  it("admits background only below backgroundMax, unpaused, with total room", () => {
    assert.equal(admitsPriority("background", state), true);
    assert.equal(
      admitsPriority("background", { ...state, backgroundInWindow: 4 }),
      false,
    );
    assert.equal(
      admitsPriority("background", { ...state, backgroundPaused: true }),
      false,
    );
    assert.equal(
      admitsPriority("background", { ...state, totalInWindow: 10 }),
      false,
    );
    assert.equal(
      admitsPriority("background", {
        ...state,
        backgroundMax: 0,
        backgroundInWindow: 0,
      }),
      false,
    );
  });
});

describe("adaptiveRemaining()", () => {
  const state = {
    limit: 10,
    totalInWindow: 4,
    backgroundInWindow: 3,
    backgroundMax: 6,
    backgroundPaused: false,
  };

  it("gives a user the room left in the total budget", () => {
    assert.equal(adaptiveRemaining("user", state), 6);
    assert.equal(adaptiveRemaining("user", { ...state, totalInWindow: 10 }), 0);
  });

  it("gives background the smaller of the total room and its own share", () => {
    assert.equal(adaptiveRemaining("background", state), 3);
    assert.equal(
      adaptiveRemaining("background", { ...state, totalInWindow: 9 }),
      1,
    );
  });

  it("gives background nothing while it is paused", () => {
    assert.equal(
      adaptiveRemaining("background", { ...state, backgroundPaused: true }),
      0,
    );
  });

  it("never goes below zero, even when a window holds more than its limit", () => {
    assert.equal(adaptiveRemaining("user", { ...state, totalInWindow: 12 }), 0);
    assert.equal(
      adaptiveRemaining("background", { ...state, backgroundInWindow: 8 }),
      0,
    );
  });
});

describe("adaptiveWaitMs()", () => {
  const state = {
    totalWaitMs: 0,
    backgroundWaitMs: 0,
    backgroundMax: 6,
    backgroundPaused: false,
    nextSplitInMs: 20_000,
  };

  it("is zero when the request may be admitted now", () => {
    assert.equal(adaptiveWaitMs("user", state), 0);
    assert.equal(adaptiveWaitMs("background", state), 0);
  });

  it("makes a user wait only for the total budget", () => {
    assert.equal(
      adaptiveWaitMs("user", {
        ...state,
        totalWaitMs: 700,
        backgroundWaitMs: 5_000,
        backgroundPaused: true,
      }),
      700,
    );
  });

  it("makes background wait for the later of the total and its own share", () => {
    assert.equal(
      adaptiveWaitMs("background", {
        ...state,
        totalWaitMs: 700,
        backgroundWaitMs: 5_000,
      }),
      5_000,
    );
    assert.equal(
      adaptiveWaitMs("background", {
        ...state,
        totalWaitMs: 7_000,
        backgroundWaitMs: 5_000,
      }),
      7_000,
    );
  });

  it("makes paused or shareless background wait for the next split", () => {
    assert.equal(
      adaptiveWaitMs("background", { ...state, backgroundPaused: true }),
      20_000,
    );
    assert.equal(
      adaptiveWaitMs("background", { ...state, backgroundMax: 0 }),
      20_000,
    );
    assert.equal(
      adaptiveWaitMs("background", {
        ...state,
        backgroundPaused: true,
        totalWaitMs: 30_000,
      }),
      30_000,
    );
  });

  it("makes paused background wait at least 1 ms when the split is due now", () => {
    assert.equal(
      adaptiveWaitMs("background", {
        ...state,
        backgroundPaused: true,
        nextSplitInMs: -50,
      }),
      1,
    );
  });

  it("never returns a negative wait", () => {
    assert.equal(adaptiveWaitMs("user", { ...state, totalWaitMs: -3 }), 0);
  });
});

describe("adaptiveResetAt()", () => {
  const state: AdaptiveWindowState = {
    now: 5_000,
    windowMs: 60_000,
    oldestAt: 1_000,
    limit: 10,
    totalInWindow: 2,
    backgroundInWindow: 2,
    backgroundMax: 2,
    backgroundPaused: false,
    totalWaitMs: 0,
    backgroundWaitMs: 56_500,
    nextSplitInMs: 25_000,
  };

  it("is when the oldest admission leaves while there is room", () => {
    assert.equal(adaptiveResetAt("user", state), 61_000);
  });

  it("is now when the window is empty", () => {
    assert.equal(
      adaptiveResetAt("user", {
        ...state,
        totalInWindow: 0,
        oldestAt: undefined,
      }),
      5_000,
    );
  });

  it("is after the wait when no room is left for the priority", () => {
    assert.equal(adaptiveResetAt("background", state), 61_500);
    assert.equal(
      adaptiveResetAt("background", { ...state, backgroundPaused: true }),
      30_000,
    );
  });
});

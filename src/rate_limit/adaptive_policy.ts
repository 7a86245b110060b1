/**
 * The adaptive split of a rate budget between `"user"` and `"background"`
 * traffic. This module is pure: it holds no state and reads no clock. Every
 * adaptive store (memory, libSQL, Upstash) keeps user activity in its own
 * backend, summarises it as a {@linkcode UserActivity}, asks
 * {@linkcode computeAdaptiveSplit} for the split, and enforces it with
 * {@linkcode admitsPriority} inside its atomic acquire. Because the policy
 * lives here once, every backend and every process sees the same split for
 * the same activity.
 *
 * The regimes, in the order they are tested:
 *
 * 1. **Idle**: no user admission for `sustainedInactivityThresholdMs`.
 *    Nothing is reserved; background may take the whole limit.
 * 2. **High**: at least `highActivityThreshold` user admissions within
 *    `monitoringWindowMs`. Users get most of the budget (half the limit
 *    times `maxUserScaling`, at most 90 %), background keeps the rest.
 * 3. **Moderate**: at least `moderateActivityThreshold` user admissions. The
 *    user share is 40 % of the limit times a multiplier that grows with
 *    activity and the trend, up to `maxUserScaling` (the share is capped at
 *    70 %).
 * 4. **Low** / **quiet**: fewer user admissions (or none, but not for long
 *    enough to count as idle). A small buffer is kept for users: at least
 *    `minUserReserved`, never more than half the limit.
 *
 * In the high and moderate regimes, background traffic is paused entirely
 * while user traffic is rising (`backgroundPauseOnIncreasingTrend`).
 *
 * Users are never capped by `userReserved`: a user request is admitted
 * whenever the total budget allows. `userReserved` is what background
 * traffic may not take, so `backgroundMax = limit - userReserved`.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { Priority } from "../stores/types.ts";
import { MAX_WINDOW_MS, windowLength } from "../stores/_validate.ts";

/** How the adaptive split reacts to user activity. */
export interface AdaptiveConfig {
  /**
   * User admissions within `monitoringWindowMs` from which users get
   * priority. A positive integer.
   *
   * @default {10}
   */
  highActivityThreshold: number;
  /**
   * User admissions within `monitoringWindowMs` from which the user share
   * scales with activity. A positive integer, at most `highActivityThreshold`.
   *
   * @default {3}
   */
  moderateActivityThreshold: number;
  /**
   * How far back user activity is counted, in milliseconds. The trend
   * compares its last third with the third before. A positive integer of
   * at most 366 days.
   *
   * @default {900_000}
   */
  monitoringWindowMs: number;
  /**
   * How long without any user admission before background traffic gets the
   * whole budget, in milliseconds. A positive integer of at most 366 days.
   *
   * @default {1_800_000}
   */
  sustainedInactivityThresholdMs: number;
  /**
   * How often a store recomputes the split, in milliseconds. Between
   * recomputations the last split applies. `0` recomputes on every call.
   * A non-negative number of at most 366 days.
   *
   * @default {30_000}
   */
  recalculationIntervalMs: number;
  /**
   * The largest multiplier applied to the user share. A finite number of at
   * least `1`.
   *
   * @default {2}
   */
  maxUserScaling: number;
  /**
   * The smallest number of admissions per window kept for users while any
   * recent user activity is known (capped by the limit). A non-negative
   * integer.
   *
   * @default {5}
   */
  minUserReserved: number;
  /**
   * Whether background traffic is paused while user traffic is rising under
   * moderate or high activity.
   *
   * @default {true}
   */
  backgroundPauseOnIncreasingTrend: boolean;
}

/** The defaults of {@linkcode AdaptiveConfig}. */
export const DEFAULT_ADAPTIVE_CONFIG: Readonly<AdaptiveConfig> = Object.freeze({
  highActivityThreshold: 10,
  moderateActivityThreshold: 3,
  monitoringWindowMs: 15 * 60_000,
  sustainedInactivityThresholdMs: 30 * 60_000,
  recalculationIntervalMs: 30_000,
  maxUserScaling: 2,
  minUserReserved: 5,
  backgroundPauseOnIncreasingTrend: true,
});

/**
 * The direction of user traffic: the last third of the monitoring window
 * compared with the third before it.
 */
export type ActivityTrend = "increasing" | "stable" | "decreasing" | "none";

/** Which rule of the policy produced a split. */
export type AdaptiveRegime = "idle" | "high" | "moderate" | "low" | "quiet";

/**
 * Recent user activity of one resource, as a backend counts it. Use
 * {@linkcode activityCutoffs} to get the boundaries of each count.
 */
export interface UserActivity {
  /** User admissions at times `t > monitoringSince`. */
  recent: number;
  /** User admissions at times `t > lastThirdSince` (within the last third). */
  lastThird: number;
  /**
   * User admissions at times `previousThirdSince < t <= lastThirdSince`
   * (within the third before the last).
   */
  previousThird: number;
  /**
   * Milliseconds since the last user admission. Pass `Infinity` when the
   * backend knows of none (a store that never saw user traffic treats it as
   * idle).
   */
  idleMs: number;
}

/** The boundaries of the counts in {@linkcode UserActivity}. */
export interface ActivityCutoffs {
  /** Admissions after this time count in `recent`. */
  monitoringSince: number;
  /** Admissions after this time count in `lastThird`. */
  lastThirdSince: number;
  /** Admissions after this time, up to `lastThirdSince`, count in `previousThird`. */
  previousThirdSince: number;
}

/** The split of a resource's budget, as computed by {@linkcode computeAdaptiveSplit}. */
export interface AdaptiveSplit {
  /** Admissions per window that background traffic may not take. */
  userReserved: number;
  /** The most background admissions per window: `limit - userReserved`. */
  backgroundMax: number;
  /** Whether background traffic is paused entirely. */
  backgroundPaused: boolean;
  /** User admissions within the monitoring window. */
  recentUserActivity: number;
  /** The rule that produced the split. */
  regime: AdaptiveRegime;
  /** The user traffic trend. */
  trend: ActivityTrend;
  /** A human-readable reason for the split. */
  reason: string;
}

/** The counts an atomic acquire reads before it admits, for {@linkcode admitsPriority}. */
export interface AdmissionState {
  /** The resource's limit. */
  limit: number;
  /** Admissions of any priority within the current window. */
  totalInWindow: number;
  /** Background admissions within the current window. */
  backgroundInWindow: number;
  /** The current split's `backgroundMax`. */
  backgroundMax: number;
  /** The current split's `backgroundPaused`. */
  backgroundPaused: boolean;
}

/**
 * What a store knows of the waits in a resource's current window, for
 * {@linkcode adaptiveWaitMs}.
 */
export interface AdaptiveWaitState {
  /**
   * Milliseconds until the total window has room for one more admission;
   * `0` when it has room now.
   */
  totalWaitMs: number;
  /**
   * Milliseconds until background admissions fall below `backgroundMax`;
   * `0` when they are below it now. Not read while background is paused or
   * has no share.
   */
  backgroundWaitMs: number;
  /** The current split's `backgroundMax`. */
  backgroundMax: number;
  /** The current split's `backgroundPaused`. */
  backgroundPaused: boolean;
  /** Milliseconds until the store next recomputes the split. */
  nextSplitInMs: number;
}

/**
 * A resource's current window and split, as a store reads them for its
 * status, for {@linkcode adaptiveResetAt}.
 */
export interface AdaptiveWindowState extends AdmissionState, AdaptiveWaitState {
  /** The store's current time in milliseconds. */
  now: number;
  /** The window's length in milliseconds, margin included. */
  windowMs: number;
  /** The oldest admission within the window; `undefined` when it is empty. */
  oldestAt: number | undefined;
}

const CONFIG_KEYS: readonly (keyof AdaptiveConfig)[] = Object.keys(
  DEFAULT_ADAPTIVE_CONFIG,
) as (keyof AdaptiveConfig)[];

/**
 * Validates a partial adaptive configuration and fills in the defaults.
 *
 * @param component The thing being created, named in errors, for example
 * `"MemoryAdaptiveRateLimitStore"`.
 * @param value The user's `adaptiveConfig` option; `undefined` means all
 * defaults.
 * @returns A complete, frozen configuration.
 * @throws {ConfigError} When a field is unknown or out of range.
 *
 * @example Filling in defaults
 * ```ts ignore
 * const config = validateAdaptiveConfig("MyStore", { minUserReserved: 2 });
 * console.log(config.highActivityThreshold); // 10
 * ```
 */
export function validateAdaptiveConfig(
  component: string,
  value: unknown,
): Readonly<AdaptiveConfig> {
  if (value === undefined) return DEFAULT_ADAPTIVE_CONFIG;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      component,
      "adaptiveConfig",
      value,
      "an object of adaptive settings",
    );
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(
        component,
        `adaptiveConfig.${key}`,
        input[key],
        `one of the known settings (${CONFIG_KEYS.join(", ")})`,
      );
    }
  }
  const pick = <K extends keyof AdaptiveConfig>(key: K): unknown =>
    input[key] === undefined ? DEFAULT_ADAPTIVE_CONFIG[key] : input[key];
  const positiveInt = (key: keyof AdaptiveConfig): number => {
    const v = pick(key);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw new ConfigError(
        component,
        `adaptiveConfig.${key}`,
        v,
        "a positive integer",
      );
    }
    return v;
  };
  const high = positiveInt("highActivityThreshold");
  const moderate = positiveInt("moderateActivityThreshold");
  if (moderate > high) {
    throw new ConfigError(
      component,
      "adaptiveConfig.moderateActivityThreshold",
      moderate,
      `at most highActivityThreshold (${high})`,
    );
  }
  const duration = (key: keyof AdaptiveConfig): number =>
    windowLength(component, `adaptiveConfig.${key}`, pick(key));
  const monitoringWindowMs = duration("monitoringWindowMs");
  const sustainedInactivityThresholdMs = duration(
    "sustainedInactivityThresholdMs",
  );
  const recalc = pick("recalculationIntervalMs");
  if (
    typeof recalc !== "number" || !Number.isFinite(recalc) || recalc < 0 ||
    recalc > MAX_WINDOW_MS
  ) {
    throw new ConfigError(
      component,
      "adaptiveConfig.recalculationIntervalMs",
      recalc,
      `a non-negative number of at most ${MAX_WINDOW_MS} (366 days)`,
    );
  }
  const scaling = pick("maxUserScaling");
  if (typeof scaling !== "number" || !Number.isFinite(scaling) || scaling < 1) {
    throw new ConfigError(
      component,
      "adaptiveConfig.maxUserScaling",
      scaling,
      "a finite number of at least 1",
    );
  }
  const minReserved = pick("minUserReserved");
  if (
    typeof minReserved !== "number" || !Number.isSafeInteger(minReserved) ||
    minReserved < 0
  ) {
    throw new ConfigError(
      component,
      "adaptiveConfig.minUserReserved",
      minReserved,
      "a non-negative integer",
    );
  }
  const pause = pick("backgroundPauseOnIncreasingTrend");
  if (typeof pause !== "boolean") {
    throw new ConfigError(
      component,
      "adaptiveConfig.backgroundPauseOnIncreasingTrend",
      pause,
      "a boolean",
    );
  }
  return Object.freeze({
    highActivityThreshold: high,
    moderateActivityThreshold: moderate,
    monitoringWindowMs,
    sustainedInactivityThresholdMs,
    recalculationIntervalMs: recalc,
    maxUserScaling: scaling,
    minUserReserved: minReserved,
    backgroundPauseOnIncreasingTrend: pause,
  });
}

/**
 * The time boundaries a backend counts user admissions against, so that
 * every backend produces the same {@linkcode UserActivity}.
 *
 * @param now The backend's current time in milliseconds.
 * @param config The adaptive configuration.
 * @returns The cutoffs; every boundary is exclusive (`t > cutoff` counts).
 */
export function activityCutoffs(
  now: number,
  config: Readonly<AdaptiveConfig>,
): ActivityCutoffs {
  const third = config.monitoringWindowMs / 3;
  return {
    monitoringSince: now - config.monitoringWindowMs,
    lastThirdSince: now - third,
    previousThirdSince: now - 2 * third,
  };
}

/**
 * Classifies the user traffic trend from two consecutive thirds of the
 * monitoring window.
 *
 * @param lastThird User admissions in the last third.
 * @param previousThird User admissions in the third before it.
 * @returns `"none"` without any, `"increasing"` when the last third holds
 * more than 1.5 times the previous, `"decreasing"` when it holds less than
 * half, `"stable"` otherwise.
 */
export function classifyTrend(
  lastThird: number,
  previousThird: number,
): ActivityTrend {
  if (lastThird === 0 && previousThird === 0) return "none";
  if (lastThird > previousThird * 1.5) return "increasing";
  if (lastThird < previousThird * 0.5) return "decreasing";
  return "stable";
}

/**
 * Splits a resource's budget between user and background traffic from its
 * recent user activity. Pure and deterministic: the same inputs always give
 * the same split.
 *
 * The result always satisfies `0 <= userReserved`, `0 <= backgroundMax` and
 * `userReserved + backgroundMax === limit`, whatever the limit (also when
 * `minUserReserved` exceeds it).
 *
 * @param limit The resource's limit, a positive integer.
 * @param activity The resource's recent user activity.
 * @param config The adaptive configuration.
 * @returns The split, with the regime, trend and a human-readable reason.
 *
 * @example A resource nobody used interactively for an hour
 * ```ts ignore
 * const split = computeAdaptiveSplit(
 *   60,
 *   { recent: 0, lastThird: 0, previousThird: 0, idleMs: 3_600_000 },
 *   DEFAULT_ADAPTIVE_CONFIG,
 * );
 * console.log(split.backgroundMax); // 60
 * ```
 */
export function computeAdaptiveSplit(
  limit: number,
  activity: UserActivity,
  config: Readonly<AdaptiveConfig>,
): AdaptiveSplit {
  const recent = Math.max(0, activity.recent);
  const trend = classifyTrend(activity.lastThird, activity.previousThird);
  const window = _formatDuration(config.monitoringWindowMs);
  const pauseOnRise = config.backgroundPauseOnIncreasingTrend &&
    trend === "increasing";
  const minReserved = Math.min(config.minUserReserved, limit);
  const halfLimit = Math.floor(limit / 2);

  let userReserved: number;
  let paused = false;
  let regime: AdaptiveRegime;
  let reason: string;

  if (activity.idleMs >= config.sustainedInactivityThresholdMs) {
    regime = "idle";
    userReserved = 0;
    reason = Number.isFinite(activity.idleMs)
      ? `Users idle for ${
        _formatDuration(activity.idleMs)
      }: background may use the full limit`
      : "No user traffic seen: background may use the full limit";
  } else if (recent >= config.highActivityThreshold) {
    regime = "high";
    const share = Math.min(0.9, 0.5 * config.maxUserScaling);
    userReserved = Math.min(
      limit,
      Math.max(_ceil(limit * share), minReserved),
    );
    paused = pauseOnRise;
    reason =
      `High user activity (${recent} in ${window}): ${userReserved} of ${limit} held for users`;
  } else if (recent >= config.moderateActivityThreshold) {
    regime = "moderate";
    let multiplier = Math.min(
      config.maxUserScaling,
      1 + recent / config.highActivityThreshold,
    );
    if (trend === "increasing") multiplier *= 1.2;
    if (trend === "decreasing") multiplier *= 0.8;
    multiplier = Math.min(config.maxUserScaling, Math.max(1, multiplier));
    const share = Math.min(0.7, 0.4 * multiplier);
    userReserved = Math.min(
      limit,
      Math.max(_ceil(limit * share), minReserved),
    );
    paused = pauseOnRise;
    reason =
      `Moderate user activity (${recent} in ${window}): user share scaled ${
        multiplier.toFixed(2)
      }x, ${userReserved} of ${limit} held for users`;
  } else if (recent > 0) {
    regime = "low";
    userReserved = Math.min(
      Math.max(Math.floor(limit * 0.3 + 1e-9), minReserved),
      halfLimit,
    );
    reason =
      `Low user activity (${recent} in ${window}): ${userReserved} of ${limit} kept as a user buffer`;
  } else {
    regime = "quiet";
    userReserved = Math.min(minReserved, halfLimit);
    reason = `No user traffic in ${window}, but users were active within ${
      _formatDuration(config.sustainedInactivityThresholdMs)
    }: ${userReserved} of ${limit} kept as a user buffer`;
  }

  userReserved = Math.min(Math.max(0, userReserved), limit);
  if (paused) reason += "; background paused while user traffic rises";
  return {
    userReserved,
    backgroundMax: limit - userReserved,
    backgroundPaused: paused,
    recentUserActivity: recent,
    regime,
    trend,
    reason,
  };
}

/**
 * The admission rule every adaptive store enforces atomically. A user
 * request needs room in the total budget; a background request also needs
 * background to be unpaused and below `backgroundMax`.
 *
 * @param priority The traffic class asking for admission.
 * @param state The counts within the current window and the current split.
 * @returns `true` when the request may be admitted now.
 *
 * @example Background is held back when its share is spent
 * ```ts ignore
 * admitsPriority("background", {
 *   limit: 10, totalInWindow: 4, backgroundInWindow: 4,
 *   backgroundMax: 4, backgroundPaused: false,
 * }); // false
 * ```
 */
export function admitsPriority(
  priority: Priority,
  state: AdmissionState,
): boolean {
  if (state.totalInWindow >= state.limit) return false;
  if (priority === "user") return true;
  return !state.backgroundPaused &&
    state.backgroundInWindow < state.backgroundMax;
}

/**
 * How many more requests of `priority` the current window admits: the room
 * in the total budget and, for background, also the room below
 * `backgroundMax` (none while background is paused).
 *
 * @param priority The traffic class asking.
 * @param state The counts within the current window and the current split.
 * @returns A non-negative integer.
 *
 * @example Background sees only its own share
 * ```ts ignore
 * adaptiveRemaining("background", {
 *   limit: 10, totalInWindow: 4, backgroundInWindow: 3,
 *   backgroundMax: 4, backgroundPaused: false,
 * }); // 1
 * ```
 */
export function adaptiveRemaining(
  priority: Priority,
  state: AdmissionState,
): number {
  let remaining = state.limit - state.totalInWindow;
  if (priority === "background") {
    remaining = state.backgroundPaused
      ? 0
      : Math.min(remaining, state.backgroundMax - state.backgroundInWindow);
  }
  return Math.max(0, remaining);
}

/**
 * How long a request of `priority` must wait before it may be admitted. A
 * user waits for room in the total budget. Background also waits for room
 * below `backgroundMax`; while it is paused or has no share, it waits at
 * least until the split is next recomputed (and at least 1 ms), since only a
 * new split can let it through.
 *
 * @param priority The traffic class asking.
 * @param state The waits of the current window and the current split.
 * @returns Milliseconds, `0` when the request may be admitted now.
 *
 * @example Paused background waits for the next split
 * ```ts ignore
 * adaptiveWaitMs("background", {
 *   totalWaitMs: 0, backgroundWaitMs: 0, backgroundMax: 4,
 *   backgroundPaused: true, nextSplitInMs: 12_000,
 * }); // 12000
 * ```
 */
export function adaptiveWaitMs(
  priority: Priority,
  state: AdaptiveWaitState,
): number {
  let wait = state.totalWaitMs;
  if (priority === "background") {
    wait = state.backgroundPaused || state.backgroundMax === 0
      ? Math.max(wait, state.nextSplitInMs, 1)
      : Math.max(wait, state.backgroundWaitMs);
  }
  return Math.max(0, wait);
}

/**
 * When the status of a request of `priority` resets: with no room left,
 * after {@linkcode adaptiveWaitMs}; otherwise when the oldest admission
 * leaves the window (now when the window is empty).
 *
 * @param priority The traffic class asking.
 * @param state The current window, its waits and the current split.
 * @returns A time in milliseconds, on the store's clock.
 *
 * @example A window with room resets when its oldest admission leaves
 * ```ts ignore
 * adaptiveResetAt("user", {
 *   now: 5_000, windowMs: 60_000, oldestAt: 1_000,
 *   limit: 10, totalInWindow: 2, backgroundInWindow: 0,
 *   backgroundMax: 10, backgroundPaused: false,
 *   totalWaitMs: 0, backgroundWaitMs: 0, nextSplitInMs: 0,
 * }); // 61000
 * ```
 */
export function adaptiveResetAt(
  priority: Priority,
  state: AdaptiveWindowState,
): number {
  if (adaptiveRemaining(priority, state) === 0) {
    return state.now + adaptiveWaitMs(priority, state);
  }
  return state.oldestAt === undefined
    ? state.now
    : state.oldestAt + state.windowMs;
}

/** Rounds up, ignoring floating-point noise (0.4 × 1.5 × 60 is 36, not 37). */
function _ceil(value: number): number {
  return Math.ceil(value - 1e-9);
}

/** Formats a duration for reason strings: "15 min", "30 s", "250 ms". */
function _formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)} min`;
  if (ms >= 1_000) return `${Math.floor(ms / 1_000)} s`;
  return `${Math.round(ms)} ms`;
}

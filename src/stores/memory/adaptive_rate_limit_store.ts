import { type Clock, systemClock } from "../../clock.ts";
import {
  activityCutoffs,
  type AdaptiveConfig,
  adaptiveRemaining,
  adaptiveResetAt,
  type AdaptiveSplit,
  adaptiveWaitMs,
  type AdaptiveWindowState,
  admitsPriority,
  computeAdaptiveSplit,
  validateAdaptiveConfig,
} from "../../rate_limit/adaptive_policy.ts";
import type {
  AdaptiveRateLimitStatus,
  AdaptiveRateLimitStore,
  Priority,
  RateLimitConfig,
} from "../types.ts";
import { Budgets } from "../_budgets.ts";
import { validClock } from "./_options.ts";
import { RateLimitBuckets } from "./_rate_limit_common.ts";
import { TimestampRing } from "./_timestamp_ring.ts";

const COMPONENT = "MemoryAdaptiveRateLimitStore";

/** Options for {@linkcode MemoryAdaptiveRateLimitStore}. */
export interface MemoryAdaptiveRateLimitStoreOptions {
  /**
   * The budget of every resource without its own entry in
   * `resourceConfigs`.
   *
   * @default {{ limit: 60, windowMs: 60_000 }}
   */
  defaultConfig?: RateLimitConfig;
  /**
   * Budgets of individual resources, as a `Map` or a plain record keyed by
   * resource.
   *
   * @default {new Map()}
   */
  resourceConfigs?:
    | ReadonlyMap<string, RateLimitConfig>
    | Readonly<Record<string, RateLimitConfig>>;
  /**
   * A safety margin, in milliseconds, added to every window. The store then
   * admits at most `limit` requests in any interval of `windowMs +
   * marginMs`, and `getWaitTime` and `getStatus().resetTime` count waits
   * against that longer window; `getResourceConfig` still reports the
   * configured `windowMs`.
   *
   * The origin counts arrivals, not admissions. A request reaches it some
   * time after the store admitted it, and that delay varies from request to
   * request (event loop, lock waits, network), so two admissions exactly
   * `windowMs` apart can arrive closer together than that. When the origin
   * enforces its limit strictly, set the margin to the spread of that delay
   * (slowest minus fastest, not the delay itself): tens of milliseconds
   * within one process, 250–400 ms across processes on a busy machine (the
   * most when they wait for one lock, as on a shared libSQL file). The
   * price is a little throughput: `limit` per `windowMs + marginMs`. A
   * non-negative integer.
   *
   * @default {0}
   */
  marginMs?: number;
  /**
   * How the split between user and background traffic follows user
   * activity. Omitted fields take their defaults.
   *
   * @default {DEFAULT_ADAPTIVE_CONFIG}
   */
  adaptiveConfig?: Partial<AdaptiveConfig>;
  /**
   * The time source for windows, activity and cooldowns.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

interface _Bucket {
  /** Admission times of any priority within the window, at most `limit`. */
  all: TimestampRing;
  /** Background admission times within the window, at most `limit`. */
  background: TimestampRing;
  /** User admission times within the monitoring window. */
  users: TimestampRing;
  /** The time of the last user admission; `-Infinity` when none. */
  lastUserAt: number;
  /** The split in force and when it was computed. */
  split: AdaptiveSplit | null;
  splitAt: number;
  /** When the cooldown ends; `-Infinity` when none. */
  cooldownUntil: number;
}

/**
 * An {@linkcode AdaptiveRateLimitStore} held in process memory. It keeps an
 * exact sliding window per resource, like `MemoryRateLimitStore`, and splits
 * the budget between `"user"` and `"background"` traffic from recent user
 * activity, using the shared adaptive policy.
 *
 * - A user request is admitted whenever the total budget has room.
 * - A background request also needs background to be unpaused and under
 *   `backgroundMax` within the window.
 * - The split is recomputed at most every `recalculationIntervalMs`, and at
 *   once when a user request arrives after a period of sustained
 *   inactivity, so users never wait long for their reserve to return.
 *
 * A call without a priority counts as `"background"`. No timer runs; state
 * of idle resources is dropped lazily.
 *
 * @example Users first
 * ```ts
 * import { MemoryAdaptiveRateLimitStore } from "@sluice/http";
 *
 * const store = new MemoryAdaptiveRateLimitStore({
 *   defaultConfig: { limit: 100, windowMs: 60_000 },
 * });
 * await store.acquire("search", "user");
 * const status = await store.getStatus("search", "background");
 * console.log(status.userReserved + status.backgroundMax <= status.limit); // true
 * await store.close();
 * ```
 */
export class MemoryAdaptiveRateLimitStore implements AdaptiveRateLimitStore {
  readonly #configs: Budgets;
  readonly #adaptive: Readonly<AdaptiveConfig>;
  readonly #clock: Clock;
  readonly #buckets: RateLimitBuckets<_Bucket>;

  /**
   * Creates a store with no admissions.
   *
   * @param options Budgets, margin, adaptive settings and clock.
   * @throws {ConfigError} When a budget, `marginMs` or an adaptive setting
   * is invalid, or `clock` has no `now()`.
   */
  constructor(options: MemoryAdaptiveRateLimitStoreOptions = {}) {
    const { adaptiveConfig, clock = systemClock } = options;
    this.#configs = new Budgets(COMPONENT, options);
    this.#adaptive = validateAdaptiveConfig(COMPONENT, adaptiveConfig);
    this.#clock = validClock(COMPONENT, clock);
    this.#buckets = new RateLimitBuckets<_Bucket>(COMPONENT, this.#clock, {
      create: (resource) => {
        const { limit } = this.#configs.get(resource);
        return {
          all: new TimestampRing(limit),
          background: new TimestampRing(limit),
          users: new TimestampRing(Infinity),
          lastUserAt: -Infinity,
          split: null,
          splitAt: -Infinity,
          cooldownUntil: -Infinity,
        };
      },
      prune: (bucket, resource, now) => {
        const since = now - this.#configs.windowMs(resource);
        bucket.all.dropThrough(since);
        bucket.background.dropThrough(since);
        bucket.users.dropThrough(now - this.#adaptive.monitoringWindowMs);
      },
      isIdle: (bucket, now) =>
        bucket.all.size === 0 && bucket.users.size === 0 &&
        bucket.cooldownUntil <= now &&
        now - bucket.lastUserAt >=
          this.#adaptive.sustainedInactivityThresholdMs,
    });
  }

  /**
   * Admits a request of `priority` if the budget and the split allow it,
   * recording it.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `true` when admitted.
   */
  acquire(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    return this.#buckets.run("acquire", () => {
      const now = this.#clock.now();
      const bucket = this.#buckets.bucket(resource, now);
      if (!this.#admits(bucket, resource, priority, now)) return false;
      this.#record(bucket, priority, now);
      return true;
    });
  }

  /**
   * Tells whether a request of `priority` would be admitted now.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   */
  canProceed(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    return this.#buckets.run("canProceed", () => {
      const now = this.#clock.now();
      return this.#admits(
        this.#buckets.bucket(resource, now),
        resource,
        priority,
        now,
      );
    });
  }

  /**
   * Records an admission of `priority` unconditionally.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   */
  record(resource: string, priority: Priority = "background"): Promise<void> {
    return this.#buckets.run("record", () => {
      const now = this.#clock.now();
      this.#record(this.#buckets.bucket(resource, now), priority, now);
    });
  }

  /**
   * Reads the budget and the current split.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class whose `remaining` is reported.
   */
  getStatus(
    resource: string,
    priority: Priority = "background",
  ): Promise<AdaptiveRateLimitStatus> {
    return this.#buckets.run("getStatus", () => {
      const now = this.#clock.now();
      const bucket = this.#buckets.bucket(resource, now);
      const split = this.#split(bucket, resource, now);
      const window = this.#window(bucket, resource, now, split);
      return {
        remaining: adaptiveRemaining(priority, window),
        resetTime: new Date(adaptiveResetAt(priority, window)),
        limit: window.limit,
        userReserved: split.userReserved,
        backgroundMax: split.backgroundMax,
        backgroundPaused: split.backgroundPaused,
        recentUserActivity: bucket.users.size,
        reason: split.reason,
      };
    });
  }

  /**
   * Forgets the admissions, the activity and the cooldown of a resource.
   *
   * @param resource The rate-limited resource.
   */
  reset(resource: string): Promise<void> {
    return this.#buckets.reset(resource);
  }

  /**
   * Tells how long until a request of `priority` may be admitted.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `0` when admitted now. Otherwise the milliseconds until enough
   * admissions leave the window (`windowMs + marginMs`); while background
   * is paused or has no share, the time until the split is next recomputed.
   */
  getWaitTime(
    resource: string,
    priority: Priority = "background",
  ): Promise<number> {
    return this.#buckets.run("getWaitTime", () => {
      const now = this.#clock.now();
      const bucket = this.#buckets.bucket(resource, now);
      // A user's wait reads no split, so it leaves the split's schedule alone.
      const split = priority === "background"
        ? this.#split(bucket, resource, now)
        : null;
      return adaptiveWaitMs(
        priority,
        this.#window(bucket, resource, now, split),
      );
    });
  }

  /**
   * Sets the budget of one resource. The split is recomputed for the new
   * limit at the next call.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void {
    const { limit } = this.#configs.set(resource, config);
    const bucket = this.#buckets.get(resource);
    if (bucket !== undefined) {
      bucket.all.setCapacity(limit);
      bucket.background.setCapacity(limit);
      bucket.split = null;
    }
  }

  /**
   * Returns the budget that applies to a resource.
   *
   * @param resource The rate-limited resource.
   */
  getResourceConfig(resource: string): RateLimitConfig {
    return { ...this.#configs.get(resource) };
  }

  /**
   * Holds back a resource for `durationMs` from now, unless a longer
   * cooldown already runs.
   *
   * @param resource The rate-limited resource.
   * @param durationMs How long, in milliseconds.
   * @throws {RangeError} When `durationMs` is negative or not finite.
   */
  setCooldown(resource: string, durationMs: number): Promise<void> {
    return this.#buckets.setCooldown(resource, durationMs);
  }

  /**
   * Tells how long the cooldown of a resource still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left, or `0`.
   */
  getCooldown(resource: string): Promise<number> {
    return this.#buckets.getCooldown(resource);
  }

  /** Drops all state. Later calls reject with a `StoreError`. Safe to call twice. */
  close(): Promise<void> {
    return this.#buckets.close();
  }

  #record(bucket: _Bucket, priority: Priority, now: number): void {
    bucket.all.push(now);
    if (priority === "user") {
      bucket.users.push(now);
      bucket.lastUserAt = Math.max(bucket.lastUserAt, now);
      // Users coming back after sustained inactivity get their reserve at
      // once instead of at the next scheduled recomputation.
      if (bucket.split?.regime === "idle") bucket.split = null;
    } else {
      bucket.background.push(now);
    }
  }

  #split(bucket: _Bucket, resource: string, now: number): AdaptiveSplit {
    const config = this.#adaptive;
    if (
      bucket.split !== null &&
      now - bucket.splitAt < config.recalculationIntervalMs &&
      now >= bucket.splitAt
    ) {
      return bucket.split;
    }
    const cutoffs = activityCutoffs(now, config);
    const lastThird = bucket.users.countAfter(cutoffs.lastThirdSince);
    const split = computeAdaptiveSplit(
      this.#configs.get(resource).limit,
      {
        recent: bucket.users.countAfter(cutoffs.monitoringSince),
        lastThird,
        previousThird: bucket.users.countAfter(cutoffs.previousThirdSince) -
          lastThird,
        idleMs: now - bucket.lastUserAt,
      },
      config,
    );
    bucket.split = split;
    bucket.splitAt = now;
    return split;
  }

  #admits(
    bucket: _Bucket,
    resource: string,
    priority: Priority,
    now: number,
  ): boolean {
    const split = this.#split(bucket, resource, now);
    return admitsPriority(priority, {
      limit: this.#configs.get(resource).limit,
      totalInWindow: bucket.all.size,
      backgroundInWindow: bucket.background.size,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
    });
  }

  /**
   * A bucket and the split in force, as the adaptive policy reads them. A
   * `null` split stands for one that is not read (a user's wait).
   */
  #window(
    bucket: _Bucket,
    resource: string,
    now: number,
    split: AdaptiveSplit | null,
  ): AdaptiveWindowState {
    const { limit } = this.#configs.get(resource);
    const windowMs = this.#configs.windowMs(resource);
    const backgroundMax = split?.backgroundMax ?? limit;
    const leaves = (ring: TimestampRing, max: number): number =>
      ring.size < max || max === 0
        ? 0
        : ring.at(ring.size - max) + windowMs - now;
    return {
      now,
      windowMs,
      limit,
      totalInWindow: bucket.all.size,
      backgroundInWindow: bucket.background.size,
      backgroundMax,
      backgroundPaused: split?.backgroundPaused ?? false,
      oldestAt: bucket.all.size > 0 ? bucket.all.at(0) : undefined,
      totalWaitMs: leaves(bucket.all, limit),
      backgroundWaitMs: leaves(bucket.background, backgroundMax),
      nextSplitInMs: bucket.splitAt + this.#adaptive.recalculationIntervalMs -
        now,
    };
  }
}

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
  type UserActivity,
  validateAdaptiveConfig,
} from "../../src/rate_limit/adaptive_policy.ts";
import type {
  AdaptiveRateLimitStatus,
  AdaptiveRateLimitStore,
  Priority,
  RateLimitConfig,
} from "../../src/stores/types.ts";
import { Budgets } from "../../src/stores/_budgets.ts";
import { _Connection, _integers } from "./_connection.ts";
import { _Cooldowns, _localDate, _Members } from "./_rate_limit_common.ts";
import { ADAPTIVE_ACQUIRE, ADAPTIVE_STATUS } from "./_rate_limit_scripts.ts";
import type { UpstashRateLimitStoreOptions } from "./rate_limit_store.ts";

const COMPONENT = "UpstashAdaptiveRateLimitStore";

/** Options for {@linkcode UpstashAdaptiveRateLimitStore}. */
export interface UpstashAdaptiveRateLimitStoreOptions
  extends UpstashRateLimitStoreOptions {
  /**
   * How the split between user and background traffic follows user
   * activity. Omitted fields take their defaults.
   *
   * @default {DEFAULT_ADAPTIVE_CONFIG}
   */
  adaptiveConfig?: Partial<AdaptiveConfig>;
}

interface _CachedSplit {
  split: AdaptiveSplit;
  /** When it was computed, by this process's clock. */
  at: number;
  /** The limit it was computed for. */
  limit: number;
}

interface _Snapshot {
  now: number;
  total: number;
  oldest: number;
  totalWait: number;
  background: number;
  backgroundWait: number;
  activity: UserActivity;
}

/**
 * An {@linkcode AdaptiveRateLimitStore} in Upstash Redis: the exact sliding
 * window of `UpstashRateLimitStore`, split between `"user"` and
 * `"background"` traffic from user activity that every process shares.
 *
 * Per resource, Redis holds the window of every admission
 * (`sluice:<resource>`), the window of background admissions
 * (`…:background`) and the user admissions of the monitoring horizon
 * (`…:user`), all in the Redis server's clock. The split itself is computed
 * here, by the shared adaptive policy, from activity read at most every
 * `recalculationIntervalMs`. Each acquire also brings the activity back, so
 * a resource in use pays no extra round trip; a read of its own is needed
 * only when no call refreshed the split within the interval (on every call
 * when the interval is `0`). The split is then passed to the one-script
 * acquire, which admits atomically: total below `limit`, and for background
 * also below `backgroundMax` and not paused.
 *
 * A call without a priority counts as `"background"`. Budgets and the
 * adaptive configuration live in each process: give every process the same.
 *
 * @example Users first, across every process
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { UpstashAdaptiveRateLimitStore } from "@sluice/http/upstash";
 *
 * const limits = new UpstashAdaptiveRateLimitStore({
 *   redis: Redis.fromEnv(),
 *   defaultConfig: { limit: 100, windowMs: 60_000 },
 * });
 * await limits.acquire("search", "user");
 * const status = await limits.getStatus("search", "background");
 * console.log(status.backgroundMax, status.reason);
 * ```
 */
export class UpstashAdaptiveRateLimitStore implements AdaptiveRateLimitStore {
  readonly #connection: _Connection;
  readonly #budgets: Budgets;
  readonly #adaptive: Readonly<AdaptiveConfig>;
  readonly #members: _Members = new _Members();
  readonly #cooldowns: _Cooldowns;
  readonly #splits = new Map<string, _CachedSplit>();
  /** Cutoff offsets from now, and how long user admissions are kept. */
  readonly #offsets: [string, string, string];
  readonly #userHorizonMs: string;

  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token), budgets and
   * adaptive settings.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a budget, `marginMs` or an adaptive setting is invalid.
   */
  constructor(options: UpstashAdaptiveRateLimitStoreOptions) {
    this.#connection = new _Connection(COMPONENT, "ratelimit", options);
    this.#budgets = new Budgets(COMPONENT, options);
    this.#cooldowns = new _Cooldowns(this.#connection, COMPONENT);
    this.#adaptive = validateAdaptiveConfig(COMPONENT, options.adaptiveConfig);
    // Admission times are whole milliseconds, so `t > cutoff` is the same as
    // `t > floor(cutoff)`: the script gets whole offsets.
    const cutoffs = activityCutoffs(0, this.#adaptive);
    this.#offsets = [
      String(Math.floor(cutoffs.monitoringSince)),
      String(Math.floor(cutoffs.lastThirdSince)),
      String(Math.floor(cutoffs.previousThirdSince)),
    ];
    this.#userHorizonMs = String(
      Math.max(
        this.#adaptive.monitoringWindowMs,
        this.#adaptive.sustainedInactivityThresholdMs,
      ),
    );
  }

  /**
   * Admits a request of `priority` if the budget and the split allow it,
   * recording it: one script (plus one read when the split is due for
   * recomputation and no recent call brought the activity back).
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `true` when admitted.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  acquire(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    return this.#admit("acquire", resource, priority, false);
  }

  /**
   * Tells whether a request of `priority` would be admitted now.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async canProceed(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    const split = await this.#split("canProceed", resource);
    const snapshot = await this.#snapshot("canProceed", resource, split);
    return admitsPriority(priority, this.#window(resource, split, snapshot));
  }

  /**
   * Records an admission of `priority` unconditionally.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async record(
    resource: string,
    priority: Priority = "background",
  ): Promise<void> {
    await this.#admit("record", resource, priority, true);
  }

  /**
   * Reads the budget and the current split.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class whose `remaining` is reported.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async getStatus(
    resource: string,
    priority: Priority = "background",
  ): Promise<AdaptiveRateLimitStatus> {
    const split = await this.#split("getStatus", resource);
    const snapshot = await this.#snapshot("getStatus", resource, split);
    const window = this.#window(resource, split, snapshot);
    return {
      remaining: adaptiveRemaining(priority, window),
      resetTime: _localDate(adaptiveResetAt(priority, window), snapshot.now),
      limit: window.limit,
      userReserved: split.userReserved,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
      recentUserActivity: snapshot.activity.recent,
      reason: split.reason,
    };
  }

  /**
   * Forgets the admissions, the activity and the cooldown of a resource:
   * one `DEL`.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async reset(resource: string): Promise<void> {
    const window = this.#connection.key(resource);
    this.#splits.delete(resource);
    await this.#connection.run(
      "reset",
      (r) =>
        r.del(
          window,
          `${window}:background`,
          `${window}:user`,
          `${window}:cooldown`,
        ),
    );
  }

  /**
   * Tells how long until a request of `priority` may be admitted.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `0` when admitted now. Otherwise the milliseconds until enough
   * admissions leave the window; while background is paused or has no
   * share, the time until this process next recomputes the split.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async getWaitTime(
    resource: string,
    priority: Priority = "background",
  ): Promise<number> {
    const split = await this.#split("getWaitTime", resource);
    const snapshot = await this.#snapshot("getWaitTime", resource, split);
    return adaptiveWaitMs(priority, this.#window(resource, split, snapshot));
  }

  /**
   * Sets the budget of one resource in this process. The split is
   * recomputed for the new limit at the next call.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void {
    this.#budgets.set(resource, config);
    this.#splits.delete(resource);
  }

  /**
   * Returns the budget that applies to a resource.
   *
   * @param resource The rate-limited resource.
   */
  getResourceConfig(resource: string): RateLimitConfig {
    return { ...this.#budgets.get(resource) };
  }

  /**
   * Holds back a resource for `durationMs` from now (server time), unless a
   * longer cooldown already runs: one script.
   *
   * @param resource The rate-limited resource.
   * @param durationMs How long, in milliseconds.
   * @throws {RangeError} When `durationMs` is negative or not finite.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  setCooldown(resource: string, durationMs: number): Promise<void> {
    return this.#cooldowns.set(resource, durationMs);
  }

  /**
   * Tells how long the cooldown of a resource still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left, or `0`.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  getCooldown(resource: string): Promise<number> {
    return this.#cooldowns.get(resource);
  }

  /** Refuses later operations. Safe to call twice. */
  close(): Promise<void> {
    this.#connection.close();
    this.#splits.clear();
    return Promise.resolve();
  }

  #keys(resource: string): string[] {
    const window = this.#connection.key(resource);
    return [window, `${window}:background`, `${window}:user`];
  }

  async #admit(
    operation: string,
    resource: string,
    priority: Priority,
    force: boolean,
  ): Promise<boolean> {
    const { limit, windowMs } = this.#budgets.effective(resource);
    const split = await this.#split(operation, resource);
    const [admitted, now, ...activity] = await this.#connection.script(
      operation,
      ADAPTIVE_ACQUIRE,
      this.#keys(resource),
      [
        String(limit),
        String(windowMs),
        this.#members.next(),
        priority === "user" ? "user" : "background",
        String(split.backgroundMax),
        split.backgroundPaused ? "1" : "0",
        force ? "1" : "0",
        this.#userHorizonMs,
        ...this.#offsets,
      ],
      (reply) => _integers(reply, 6),
    );
    // The reply carries the activity as of this admission: refresh the split
    // when it is due, or at once when users return after sustained
    // inactivity, so that their reserve never waits for the next interval.
    const cached = this.#splits.get(resource);
    const returning = admitted === 1 && priority === "user" &&
      cached?.split.regime === "idle";
    if (
      returning || cached === undefined ||
      Date.now() - cached.at >= this.#adaptive.recalculationIntervalMs
    ) {
      this.#remember(resource, limit, _activity(now!, activity));
    }
    return admitted === 1;
  }

  /** The split in force: cached, or computed from freshly read activity. */
  async #split(operation: string, resource: string): Promise<AdaptiveSplit> {
    const { limit } = this.#budgets.effective(resource);
    const cached = this.#splits.get(resource);
    const age = cached === undefined ? Infinity : Date.now() - cached.at;
    if (
      cached !== undefined && cached.limit === limit && age >= 0 &&
      age < this.#adaptive.recalculationIntervalMs
    ) {
      return cached.split;
    }
    const snapshot = await this.#snapshot(operation, resource, undefined);
    return this.#remember(resource, limit, snapshot.activity);
  }

  #remember(
    resource: string,
    limit: number,
    activity: UserActivity,
  ): AdaptiveSplit {
    const split = computeAdaptiveSplit(limit, activity, this.#adaptive);
    this.#splits.set(resource, { split, at: Date.now(), limit });
    return split;
  }

  #snapshot(
    operation: string,
    resource: string,
    split: AdaptiveSplit | undefined,
  ): Promise<_Snapshot> {
    const { limit, windowMs } = this.#budgets.effective(resource);
    return this.#connection.script(
      operation,
      ADAPTIVE_STATUS,
      this.#keys(resource),
      [
        String(limit),
        String(windowMs),
        String(split?.backgroundMax ?? limit),
        ...this.#offsets,
      ],
      (reply) => {
        const [
          now,
          total,
          oldest,
          totalWait,
          background,
          backgroundWait,
          ...activity
        ] = _integers(reply, 10);
        return {
          now: now!,
          total: total!,
          oldest: oldest!,
          totalWait: totalWait!,
          background: background!,
          backgroundWait: backgroundWait!,
          activity: _activity(now!, activity),
        };
      },
    );
  }

  /** A snapshot and the split in force, as the adaptive policy reads them. */
  #window(
    resource: string,
    split: AdaptiveSplit,
    snapshot: _Snapshot,
  ): AdaptiveWindowState {
    const { limit, windowMs } = this.#budgets.effective(resource);
    // The split's schedule runs on this process's clock, the window on the
    // server's.
    const local = Date.now();
    const splitAt = this.#splits.get(resource)?.at ?? local;
    return {
      now: snapshot.now,
      windowMs,
      limit,
      totalInWindow: snapshot.total,
      backgroundInWindow: snapshot.background,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
      oldestAt: snapshot.total > 0 ? snapshot.oldest : undefined,
      totalWaitMs: snapshot.totalWait,
      backgroundWaitMs: snapshot.backgroundWait,
      nextSplitInMs: splitAt + this.#adaptive.recalculationIntervalMs - local,
    };
  }
}

/** Turns the script's activity counts into the policy's input. */
function _activity(now: number, counts: number[]): UserActivity {
  const [recent = 0, lastThird = 0, previousThird = 0, lastUser = -1] = counts;
  return {
    recent,
    lastThird,
    previousThird,
    idleMs: lastUser < 0 ? Infinity : now - lastUser,
  };
}

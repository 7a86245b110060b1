/**
 * An {@linkcode AdaptiveRateLimitStore} in a libSQL database: the budget of
 * each resource is split between `"user"` and `"background"` traffic from
 * user activity that every process on the database shares.
 *
 * @module
 */

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
} from "../../src/rate_limit/adaptive_policy.ts";
import type {
  AdaptiveRateLimitStatus,
  AdaptiveRateLimitStore,
  Priority,
  RateLimitConfig,
} from "../../src/stores/types.ts";
import { Budgets } from "../../src/stores/_budgets.ts";
import { _Connection, _int } from "./_connection.ts";
import {
  _admissionTime,
  _Cooldowns,
  _readStats,
  type _WindowCounts,
  _windowCounts,
  _windowStatement,
  type LibsqlRateLimitStats,
} from "./_rate_limit_common.ts";
import type { LibsqlStatement } from "./client.ts";
import type { LibsqlRateLimitStoreOptions } from "./rate_limit_store.ts";

/** Options for {@linkcode LibsqlAdaptiveRateLimitStore}. */
export interface LibsqlAdaptiveRateLimitStoreOptions
  extends LibsqlRateLimitStoreOptions {
  /**
   * How the split between user and background traffic follows user
   * activity. Omitted fields take their defaults. Give every process that
   * shares a resource the same settings.
   *
   * @default {DEFAULT_ADAPTIVE_CONFIG}
   */
  adaptiveConfig?: Partial<AdaptiveConfig>;
}

/** Statistics of an adaptive rate-limit store. */
export interface LibsqlAdaptiveRateLimitStats extends LibsqlRateLimitStats {
  /** User activity across all resources. */
  adaptiveMetrics: {
    /** User admissions within the monitoring window, all resources together. */
    recentUserRequests: number;
    /** Resources with a user admission within the monitoring window. */
    resourcesWithRecentUsers: number;
  };
}

const COMPONENT = "LibsqlAdaptiveRateLimitStore";
/** The most resources whose split a store keeps in memory. */
const MAX_CACHED_SPLITS = 10_000;

interface _CachedSplit {
  split: AdaptiveSplit;
  at: number;
}

/** A resource's window and the split in force, read at `now`. */
interface _State {
  now: number;
  split: AdaptiveSplit;
  splitAt: number;
  counts: _WindowCounts;
}

/**
 * An adaptive rate-limit store backed by libSQL tables.
 *
 * - The admission log holds each admission's priority, so every process
 *   counts the same window, the same background share, and the same user
 *   activity; a restart loses none of it.
 * - The split comes from the shared adaptive policy, computed from activity
 *   read from the database, at most every `recalculationIntervalMs` per
 *   resource and process.
 * - `acquire` enforces the split atomically in one write transaction: a
 *   user request needs room in the total budget; a background request also
 *   needs background to be unpaused and under `backgroundMax`. It costs one
 *   round trip, plus one when the split is due for recomputation.
 * - When users come back after sustained inactivity, background requests in
 *   every process stop being admitted under the idle split at once, and the
 *   split is recomputed.
 *
 * A call without a priority counts as `"background"`.
 *
 * @example Users first, across processes
 * ```ts
 * import { LibsqlAdaptiveRateLimitStore } from "@sluice/http/libsql";
 *
 * const limits = new LibsqlAdaptiveRateLimitStore({
 *   url: "file:sluice.db",
 *   defaultConfig: { limit: 100, windowMs: 60_000 },
 * });
 * await limits.acquire("search", "user");
 * const status = await limits.getStatus("search", "background");
 * console.log(status.reason);
 * await limits.close();
 * ```
 */
export class LibsqlAdaptiveRateLimitStore implements AdaptiveRateLimitStore {
  readonly #db: _Connection;
  readonly #budgets: Budgets;
  readonly #adaptive: Readonly<AdaptiveConfig>;
  readonly #cooldowns: _Cooldowns;
  readonly #table: string;
  readonly #activity: string;
  readonly #splits = new Map<string, _CachedSplit>();

  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, the budgets, the margin and
   * adaptive settings.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlAdaptiveRateLimitStoreOptions) {
    this.#db = new _Connection(COMPONENT, options);
    this.#budgets = new Budgets(COMPONENT, options);
    this.#adaptive = validateAdaptiveConfig(COMPONENT, options.adaptiveConfig);
    this.#cooldowns = new _Cooldowns(this.#db, COMPONENT);
    this.#table = this.#db.tables.rateLimit;
    this.#activity = this.#db.tables.activity;
  }

  /**
   * Admits a request of `priority` if the budget and the split allow it,
   * recording it, atomically across processes.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `true` when admitted.
   * @throws {StoreError} When the database fails.
   */
  async acquire(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    return await this.#acquire(resource, _priority(priority), true);
  }

  /**
   * Tells whether a request of `priority` would be admitted now, without
   * recording it.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When the database fails.
   */
  async canProceed(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    const now = this.#db.now();
    const state = await this.#state(resource, now, "canProceed");
    return admitsPriority(_priority(priority), this.#window(resource, state));
  }

  /**
   * Records an admission of `priority` unconditionally.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When the database fails.
   */
  async record(
    resource: string,
    priority: Priority = "background",
  ): Promise<void> {
    const now = this.#db.now();
    const level = _priority(priority);
    await this.#db.batch("record", "record a rate-limit admission", [
      ...this.#trimStatements(resource, now),
      {
        sql: `${
          _admissionTime(this.#table)
        } INSERT INTO ${this.#table} (resource, at, priority) SELECT ?1, t.at, ?3 FROM t`,
        args: [resource, now, level],
      },
    ]);
    if (level === "user") this.#usersReturned(resource);
  }

  /**
   * Reads the budget and the current split.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class whose `remaining` is reported.
   * @throws {StoreError} When the database fails.
   */
  async getStatus(
    resource: string,
    priority: Priority = "background",
  ): Promise<AdaptiveRateLimitStatus> {
    const level = _priority(priority);
    const state = await this.#state(
      resource,
      this.#db.now(),
      "getStatus",
      true,
    );
    const { split, counts } = state;
    const window = this.#window(resource, state);
    return {
      remaining: adaptiveRemaining(level, window),
      resetTime: new Date(adaptiveResetAt(level, window)),
      limit: window.limit,
      userReserved: split.userReserved,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
      recentUserActivity: counts.users ?? split.recentUserActivity,
      reason: split.reason,
    };
  }

  /**
   * Forgets the admissions, the user activity and the cooldown of a
   * resource, for every process.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the database fails.
   */
  async reset(resource: string): Promise<void> {
    await this.#db.batch("reset", "reset a rate-limited resource", [
      {
        sql: `DELETE FROM ${this.#table} WHERE resource = ?1`,
        args: [resource],
      },
      {
        sql: `DELETE FROM ${this.#activity} WHERE resource = ?1`,
        args: [resource],
      },
      this.#cooldowns.deleteStatement(resource),
    ]);
    this.#splits.delete(resource);
  }

  /**
   * Tells how long until a request of `priority` may be admitted.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `0` when admitted now. Otherwise the milliseconds until enough
   * admissions leave the window; while background is paused or has no
   * share, the time until this store next recomputes the split.
   * @throws {StoreError} When the database fails.
   */
  async getWaitTime(
    resource: string,
    priority: Priority = "background",
  ): Promise<number> {
    const state = await this.#state(resource, this.#db.now(), "getWaitTime");
    return adaptiveWaitMs(_priority(priority), this.#window(resource, state));
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
   * Holds back a resource for `durationMs` from now, for every process on
   * the database, unless a longer cooldown already runs.
   *
   * @param resource The rate-limited resource.
   * @param durationMs How long, in milliseconds.
   * @throws {RangeError} When `durationMs` is negative or not finite.
   * @throws {StoreError} When the database fails.
   */
  setCooldown(resource: string, durationMs: number): Promise<void> {
    return this.#cooldowns.set(resource, durationMs);
  }

  /**
   * Tells how long the cooldown of a resource still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left, or `0`.
   * @throws {StoreError} When the database fails.
   */
  getCooldown(resource: string): Promise<number> {
    return this.#cooldowns.get(resource);
  }

  /**
   * Removes admissions and activity too old to matter, and cooldowns that
   * ended, for every resource.
   *
   * @throws {StoreError} When the database fails.
   */
  async cleanup(): Promise<void> {
    const now = this.#db.now();
    const longest = this.#budgets.longestWindowMs();
    await this.#db.batch("cleanup", "remove old rate-limit admissions", [
      {
        sql:
          `DELETE FROM ${this.#table} WHERE (priority = 'background' AND at <= ?1) OR at <= ?2`,
        args: [
          now - longest,
          now - Math.max(longest, this.#adaptive.monitoringWindowMs),
        ],
      },
      {
        sql: `DELETE FROM ${this.#activity} WHERE last_user_at <= ?1`,
        args: [now - this.#adaptive.sustainedInactivityThresholdMs],
      },
      this.#cooldowns.cleanupStatement(now),
    ]);
  }

  /**
   * Counts admissions, spent budgets and user activity across resources:
   * one round trip.
   *
   * @returns The counts.
   * @throws {StoreError} When the database fails.
   */
  async getStats(): Promise<LibsqlAdaptiveRateLimitStats> {
    const since = this.#db.now() - this.#adaptive.monitoringWindowMs;
    const { extra, ...stats } = await _readStats(this.#db, this.#budgets, {
      sql:
        `SELECT count(*) AS n, count(DISTINCT resource) AS resources FROM ${this.#table} WHERE priority = 'user' AND at > ?1`,
      args: [since],
    });
    return {
      ...stats,
      adaptiveMetrics: {
        recentUserRequests: _int(extra?.n) ?? 0,
        resourcesWithRecentUsers: _int(extra?.resources) ?? 0,
      },
    };
  }

  /** Closes the client if this store created it. Safe to call twice. */
  close(): Promise<void> {
    this.#splits.clear();
    return this.#db.close();
  }

  /** Same as {@linkcode LibsqlAdaptiveRateLimitStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #acquire(
    resource: string,
    priority: Priority,
    mayRetry: boolean,
  ): Promise<boolean> {
    const now = this.#db.now();
    const { limit, windowMs } = this.#budgets.effective(resource);
    const { split, at: splitAt } = await this.#split(resource, now, "acquire");
    // Under the idle split, background may take the whole budget only as
    // long as no user came back since the split was computed, in any process.
    const idleSince = split.regime === "idle" ? splitAt : null;
    const statements: LibsqlStatement[] = [
      ...this.#trimStatements(resource, now),
      {
        sql: `${
          _admissionTime(this.#table)
        } INSERT INTO ${this.#table} (resource, at, priority) SELECT ?1, t.at, ?3 FROM t WHERE (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND at > t.at - ?4) < ?5 AND (?3 = 'user' OR (?6 = 0 AND (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND priority = 'background' AND at > t.at - ?4) < ?7 AND (?8 IS NULL OR coalesce((SELECT last_user_at FROM ${this.#activity} WHERE resource = ?1), ?8) <= ?8))) RETURNING id`,
        args: [
          resource,
          now,
          priority,
          windowMs,
          limit,
          split.backgroundPaused ? 1 : 0,
          split.backgroundMax,
          idleSince,
        ],
      },
    ];
    if (idleSince !== null) {
      statements.push({
        sql: `SELECT last_user_at FROM ${this.#activity} WHERE resource = ?1`,
        args: [resource],
      });
    }
    const results = await this.#db.batch(
      "acquire",
      "acquire a rate-limit slot",
      statements,
    );
    const admitted = (results[2]?.rows.length ?? 0) > 0;
    if (admitted) {
      if (priority === "user") this.#usersReturned(resource);
      return true;
    }
    const lastUserAt = _int(results[3]?.rows[0]?.last_user_at);
    if (
      idleSince !== null && lastUserAt !== undefined && lastUserAt > idleSince
    ) {
      this.#splits.delete(resource);
      if (mayRetry) return await this.#acquire(resource, priority, false);
    }
    return false;
  }

  /** Trims the log of one resource: background past the window, users past the monitoring window. */
  #trimStatements(resource: string, now: number): LibsqlStatement[] {
    const { windowMs } = this.#budgets.effective(resource);
    return [
      {
        sql:
          `DELETE FROM ${this.#table} WHERE resource = ?1 AND priority = 'background' AND at <= ?2`,
        args: [resource, now - windowMs],
      },
      {
        sql:
          `DELETE FROM ${this.#table} WHERE resource = ?1 AND priority = 'user' AND at <= ?2`,
        args: [
          resource,
          now - Math.max(windowMs, this.#adaptive.monitoringWindowMs),
        ],
      },
    ];
  }

  /** A user admission after an idle split brings the user reserve back at once. */
  #usersReturned(resource: string): void {
    if (this.#splits.get(resource)?.split.regime === "idle") {
      this.#splits.delete(resource);
    }
  }

  #cached(resource: string, now: number): _CachedSplit | undefined {
    const cached = this.#splits.get(resource);
    if (
      cached !== undefined &&
      now - cached.at < this.#adaptive.recalculationIntervalMs &&
      now >= cached.at
    ) {
      return cached;
    }
    return undefined;
  }

  /** The split in force: cached, or computed from activity read now. */
  async #split(
    resource: string,
    now: number,
    operation: string,
  ): Promise<_CachedSplit> {
    const cached = this.#cached(resource, now);
    if (cached !== undefined) return cached;
    const result = await this.#db.execute(
      operation,
      "read user activity",
      this.#activityStatement(resource, now),
    );
    return this.#computeSplit(resource, now, result.rows[0]);
  }

  /**
   * Reads the window and the split in force, in one round trip when the
   * cached split is current (and in two when it must be recomputed).
   */
  async #state(
    resource: string,
    now: number,
    operation: string,
    withUsers = false,
  ): Promise<_State> {
    const { split, at } = await this.#split(resource, now, operation);
    const { limit, windowMs } = this.#budgets.effective(resource);
    const result = await this.#db.execute(
      operation,
      "read a rate-limit window",
      _windowStatement(
        this.#table,
        resource,
        now - windowMs,
        limit,
        split.backgroundMax,
        withUsers ? activityCutoffs(now, this.#adaptive).monitoringSince : null,
      ),
    );
    return { now, split, splitAt: at, counts: _windowCounts(result.rows[0]) };
  }

  #activityStatement(resource: string, now: number): LibsqlStatement {
    const cutoffs = activityCutoffs(now, this.#adaptive);
    return {
      sql:
        `SELECT (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND priority = 'user' AND at > ?2) AS recent, (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND priority = 'user' AND at > ?3) AS last_third, (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND priority = 'user' AND at > ?4 AND at <= ?3) AS previous_third, (SELECT last_user_at FROM ${this.#activity} WHERE resource = ?1) AS last_user_at`,
      args: [
        resource,
        cutoffs.monitoringSince,
        cutoffs.lastThirdSince,
        cutoffs.previousThirdSince,
      ],
    };
  }

  #computeSplit(
    resource: string,
    now: number,
    row: Readonly<Record<string, unknown>> | undefined,
  ): _CachedSplit {
    const lastUserAt = _int(row?.last_user_at);
    const split = computeAdaptiveSplit(
      this.#budgets.effective(resource).limit,
      {
        recent: _int(row?.recent) ?? 0,
        lastThird: _int(row?.last_third) ?? 0,
        previousThird: _int(row?.previous_third) ?? 0,
        idleMs: lastUserAt === undefined ? Infinity : now - lastUserAt,
      },
      this.#adaptive,
    );
    const entry = { split, at: now };
    this.#splits.delete(resource);
    if (this.#splits.size >= MAX_CACHED_SPLITS) {
      // Maps iterate in insertion order: drop the least recently computed.
      const oldest = this.#splits.keys().next();
      if (oldest.done !== true) this.#splits.delete(oldest.value);
    }
    this.#splits.set(resource, entry);
    return entry;
  }

  /** A window read by `#state`, as the adaptive policy reads it. */
  #window(resource: string, state: _State): AdaptiveWindowState {
    const { now, split, splitAt, counts } = state;
    const { limit, windowMs } = this.#budgets.effective(resource);
    const leaves = (
      count: number,
      releaseAt: number | undefined,
      max: number,
    ): number =>
      count < max || releaseAt === undefined ? 0 : releaseAt + windowMs - now;
    return {
      now,
      windowMs,
      limit,
      totalInWindow: counts.total,
      backgroundInWindow: counts.background,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
      oldestAt: counts.oldest,
      totalWaitMs: leaves(counts.total, counts.releaseAt, limit),
      backgroundWaitMs: leaves(
        counts.background,
        counts.backgroundReleaseAt,
        split.backgroundMax,
      ),
      nextSplitInMs: splitAt + this.#adaptive.recalculationIntervalMs - now,
    };
  }
}

function _priority(priority: unknown): Priority {
  return priority === "user" ? "user" : "background";
}

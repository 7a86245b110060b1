/**
 * A {@linkcode RateLimitStore} in a libSQL database: one exact sliding
 * window per resource, shared by every process on the database.
 *
 * @module
 */

import type {
  RateLimitConfig,
  RateLimitStatus,
  RateLimitStore,
} from "../../src/stores/types.ts";
import { Budgets } from "../../src/stores/_budgets.ts";
import { _Connection, type LibsqlConnectionOptions } from "./_connection.ts";
import {
  _admissionTime,
  _Cooldowns,
  _readStats,
  _windowCounts,
  _windowStatement,
  type LibsqlRateLimitStats,
} from "./_rate_limit_common.ts";

export type { LibsqlRateLimitStats } from "./_rate_limit_common.ts";

/** Options for {@linkcode LibsqlRateLimitStore}. */
export interface LibsqlRateLimitStoreOptions extends LibsqlConnectionOptions {
  /**
   * The budget of every resource without its own entry in
   * `resourceConfigs`.
   *
   * @default {{ limit: 60, windowMs: 60_000 }}
   */
  defaultConfig?: RateLimitConfig;
  /**
   * Budgets of individual resources, as a `Map` or a plain record keyed by
   * resource. Budgets live in the process, not in the database: give every
   * process that shares a resource the same budget.
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
}

const COMPONENT = "LibsqlRateLimitStore";

/**
 * A rate-limit store backed by a libSQL table holding a log of admission
 * times per resource.
 *
 * `acquire` counts the admissions of the last `windowMs` (plus `marginMs`)
 * and records a new one in the same statement, inside one write transaction
 * (one round trip), so any number of processes on the same database never
 * admit more than `limit` in any interval of that length. The log is
 * trimmed as it goes.
 *
 * Cooldowns are stored in the database too, so a `Retry-After` seen by one
 * process holds back all of them; they only ever extend.
 *
 * @example Ten requests a second, shared by every process on a file
 * ```ts
 * import { LibsqlRateLimitStore } from "@sluice/http/libsql";
 *
 * const limits = new LibsqlRateLimitStore({
 *   url: "file:sluice.db",
 *   defaultConfig: { limit: 10, windowMs: 1_000 },
 * });
 * if (await limits.acquire("search")) {
 *   // make the request
 * }
 * await limits.close();
 * ```
 */
export class LibsqlRateLimitStore implements RateLimitStore {
  readonly #db: _Connection;
  readonly #budgets: Budgets;
  readonly #cooldowns: _Cooldowns;
  readonly #table: string;

  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, the budgets and the margin.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlRateLimitStoreOptions) {
    this.#db = new _Connection(COMPONENT, options);
    this.#budgets = new Budgets(COMPONENT, options);
    this.#cooldowns = new _Cooldowns(this.#db, COMPONENT);
    this.#table = this.#db.tables.rateLimit;
  }

  /**
   * Admits a request if the window has room, recording it: one round trip.
   *
   * @param resource The rate-limited resource.
   * @returns `true` when admitted.
   * @throws {StoreError} When the database fails.
   */
  async acquire(resource: string): Promise<boolean> {
    const now = this.#db.now();
    const { limit, windowMs } = this.#budgets.effective(resource);
    const [, admitted] = await this.#db.batch(
      "acquire",
      "acquire a rate-limit slot",
      [
        this.#trimStatement(resource, now - windowMs),
        {
          sql: `${
            _admissionTime(this.#table)
          } INSERT INTO ${this.#table} (resource, at, priority) SELECT ?1, t.at, 'background' FROM t WHERE (SELECT count(*) FROM ${this.#table} WHERE resource = ?1 AND at > t.at - ?3) < ?4 RETURNING id`,
          args: [resource, now, windowMs, limit],
        },
      ],
    );
    return (admitted?.rows.length ?? 0) > 0;
  }

  /**
   * Tells whether a request would be admitted now, without recording it.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the database fails.
   */
  async canProceed(resource: string): Promise<boolean> {
    const { limit } = this.#budgets.effective(resource);
    return (await this.#window(resource, "canProceed")).total < limit;
  }

  /**
   * Records an admission whether or not the window has room.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the database fails.
   */
  async record(resource: string): Promise<void> {
    const now = this.#db.now();
    const { windowMs } = this.#budgets.effective(resource);
    await this.#db.batch("record", "record a rate-limit admission", [
      this.#trimStatement(resource, now - windowMs),
      {
        sql: `${
          _admissionTime(this.#table)
        } INSERT INTO ${this.#table} (resource, at, priority) SELECT ?1, t.at, 'background' FROM t`,
        args: [resource, now],
      },
    ]);
  }

  /**
   * Reads the budget of a resource: one round trip.
   *
   * @param resource The rate-limited resource.
   * @returns What remains, when the oldest admission leaves the window (now
   * when there is none), and the limit.
   * @throws {StoreError} When the database fails.
   */
  async getStatus(resource: string): Promise<RateLimitStatus> {
    const now = this.#db.now();
    const { limit, windowMs } = this.#budgets.effective(resource);
    const counts = await this.#window(resource, "getStatus", now);
    return {
      remaining: Math.max(0, limit - counts.total),
      resetTime: new Date(
        counts.oldest === undefined ? now : counts.oldest + windowMs,
      ),
      limit,
    };
  }

  /**
   * Forgets the admissions and the cooldown of a resource.
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
      this.#cooldowns.deleteStatement(resource),
    ]);
  }

  /**
   * Tells how long until a resource admits again: one round trip.
   *
   * @param resource The rate-limited resource.
   * @returns `0` when a request is admitted now; otherwise the exact
   * milliseconds until the oldest admission in the window leaves it.
   * @throws {StoreError} When the database fails.
   */
  async getWaitTime(resource: string): Promise<number> {
    const now = this.#db.now();
    const { limit, windowMs } = this.#budgets.effective(resource);
    const counts = await this.#window(resource, "getWaitTime", now);
    if (counts.total < limit || counts.releaseAt === undefined) return 0;
    return Math.max(0, counts.releaseAt + windowMs - now);
  }

  /**
   * Sets the budget of one resource in this process. Admissions already
   * recorded still count against the new budget.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void {
    this.#budgets.set(resource, config);
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
   * Removes admissions older than the longest configured window and
   * cooldowns that ended, for every resource. `acquire` already trims the
   * resource it touches; this also clears resources nobody touches any more.
   *
   * @throws {StoreError} When the database fails.
   */
  async cleanup(): Promise<void> {
    const now = this.#db.now();
    await this.#db.batch("cleanup", "remove old rate-limit admissions", [
      {
        sql:
          `DELETE FROM ${this.#table} WHERE priority = 'background' AND at <= ?1`,
        args: [now - this.#budgets.longestWindowMs()],
      },
      this.#cooldowns.cleanupStatement(now),
    ]);
  }

  /**
   * Counts admissions and spent budgets across resources: one round trip.
   *
   * @returns The counts.
   * @throws {StoreError} When the database fails.
   */
  getStats(): Promise<LibsqlRateLimitStats> {
    return _readStats(this.#db, this.#budgets);
  }

  /** Closes the client if this store created it. Safe to call twice. */
  close(): Promise<void> {
    return this.#db.close();
  }

  /** Same as {@linkcode LibsqlRateLimitStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #trimStatement(resource: string, through: number) {
    // User admissions are left to the adaptive store, which keeps them for
    // its monitoring window.
    return {
      sql:
        `DELETE FROM ${this.#table} WHERE resource = ?1 AND priority = 'background' AND at <= ?2`,
      args: [resource, through],
    };
  }

  async #window(resource: string, operation: string, now = this.#db.now()) {
    const { limit, windowMs } = this.#budgets.effective(resource);
    const result = await this.#db.execute(
      operation,
      "read a rate-limit window",
      _windowStatement(this.#table, resource, now - windowMs, limit, limit),
    );
    return _windowCounts(result.rows[0]);
  }
}

import { Budgets } from "../../src/stores/_budgets.ts";
import type {
  RateLimitConfig,
  RateLimitStatus,
  RateLimitStore,
} from "../../src/stores/types.ts";
import {
  _Connection,
  _integers,
  type UpstashConnectionOptions,
} from "./_connection.ts";
import { _Cooldowns, _localDate, _Members } from "./_rate_limit_common.ts";
import { ACQUIRE, STATUS } from "./_rate_limit_scripts.ts";

const COMPONENT = "UpstashRateLimitStore";

/** Options for {@linkcode UpstashRateLimitStore}. */
export interface UpstashRateLimitStoreOptions extends UpstashConnectionOptions {
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
}

/**
 * A {@linkcode RateLimitStore} in Upstash Redis: one exact sliding window per
 * resource, shared by every process that reaches the database.
 *
 * Each resource is a sorted set of admission times under `sluice:<resource>`.
 * `acquire` is one Lua script (one round trip) that trims the window,
 * counts it and records the admission atomically, so that no interval of
 * `windowMs` (plus `marginMs`) ever holds more than `limit` admissions
 * across all processes.
 * Every script reads the Redis server's clock, so processes with skewed
 * clocks cannot stretch the budget. Cooldowns are kept as an absolute end in
 * server time under `sluice:<resource>:cooldown`; they are reported, and do
 * not block `acquire` (the client waits them out first).
 *
 * Budgets (`defaultConfig`, `resourceConfigs`) live in each process: give
 * every process the same configuration.
 *
 * @example Ten requests a second across every process
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { UpstashRateLimitStore } from "@sluice/http/upstash";
 *
 * const limits = new UpstashRateLimitStore({
 *   redis: Redis.fromEnv(),
 *   defaultConfig: { limit: 10, windowMs: 1_000 },
 * });
 * if (!(await limits.acquire("search"))) {
 *   console.log(`retry in ${await limits.getWaitTime("search")} ms`);
 * }
 * ```
 */
export class UpstashRateLimitStore implements RateLimitStore {
  readonly #connection: _Connection;
  readonly #budgets: Budgets;
  readonly #members: _Members = new _Members();
  readonly #cooldowns: _Cooldowns;

  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token) and the budgets.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a budget or `marginMs` is invalid.
   */
  constructor(options: UpstashRateLimitStoreOptions) {
    this.#connection = new _Connection(COMPONENT, "ratelimit", options);
    this.#budgets = new Budgets(COMPONENT, options);
    this.#cooldowns = new _Cooldowns(this.#connection, COMPONENT);
  }

  /**
   * Admits a request if the window has room, recording it: one script.
   *
   * @param resource The rate-limited resource.
   * @returns `true` when admitted.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  acquire(resource: string): Promise<boolean> {
    return this.#admit("acquire", resource, false);
  }

  /**
   * Tells whether a request would be admitted now, without recording it.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async canProceed(resource: string): Promise<boolean> {
    const { count, limit } = await this.#status("canProceed", resource);
    return count < limit;
  }

  /**
   * Records an admission whether or not the window has room.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async record(resource: string): Promise<void> {
    await this.#admit("record", resource, true);
  }

  /**
   * Reads the budget of a resource.
   *
   * @param resource The rate-limited resource.
   * @returns What remains, when the oldest admission leaves the window (now
   * when there is none), in this process's clock, and the limit.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async getStatus(resource: string): Promise<RateLimitStatus> {
    const { now, count, oldest, limit, windowMs } = await this.#status(
      "getStatus",
      resource,
    );
    return {
      remaining: Math.max(0, limit - count),
      resetTime: _localDate(count > 0 ? oldest + windowMs : now, now),
      limit,
    };
  }

  /**
   * Forgets the admissions and the cooldown of a resource: one `DEL`.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async reset(resource: string): Promise<void> {
    const window = this.#connection.key(resource);
    await this.#connection.run(
      "reset",
      (r) => r.del(window, `${window}:cooldown`),
    );
  }

  /**
   * Tells how long until a resource admits again.
   *
   * @param resource The rate-limited resource.
   * @returns `0` when a request is admitted now; otherwise the milliseconds
   * until enough admissions leave the window.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async getWaitTime(resource: string): Promise<number> {
    const { wait } = await this.#status("getWaitTime", resource);
    return Math.max(0, wait);
  }

  /**
   * Sets the budget of one resource in this process.
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
    return Promise.resolve();
  }

  #admit(
    operation: string,
    resource: string,
    force: boolean,
  ): Promise<boolean> {
    const { limit, windowMs } = this.#budgets.effective(resource);
    return this.#connection.script(
      operation,
      ACQUIRE,
      [this.#connection.key(resource)],
      [
        String(limit),
        String(windowMs),
        this.#members.next(),
        force ? "1" : "0",
      ],
      (reply) => _integers(reply, 2)[0] === 1,
    );
  }

  #status(operation: string, resource: string): Promise<{
    now: number;
    count: number;
    oldest: number;
    wait: number;
    limit: number;
    windowMs: number;
  }> {
    const { limit, windowMs } = this.#budgets.effective(resource);
    return this.#connection.script(
      operation,
      STATUS,
      [this.#connection.key(resource)],
      [String(limit), String(windowMs)],
      (reply) => {
        const [now, count, oldest, wait] = _integers(reply, 4);
        return {
          now: now!,
          count: count!,
          oldest: oldest!,
          wait: wait!,
          limit,
          windowMs,
        };
      },
    );
  }
}

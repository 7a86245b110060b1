import { type Clock, systemClock } from "../../clock.ts";
import type {
  RateLimitConfig,
  RateLimitStatus,
  RateLimitStore,
} from "../types.ts";
import { Budgets } from "../_budgets.ts";
import { validClock } from "./_options.ts";
import { RateLimitBuckets } from "./_rate_limit_common.ts";
import { TimestampRing } from "./_timestamp_ring.ts";

const COMPONENT = "MemoryRateLimitStore";

/** Options for {@linkcode MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
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
   * The time source for windows and cooldowns.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

interface _Bucket {
  /** Admission times within the window, oldest first, at most `limit`. */
  log: TimestampRing;
  /** When the cooldown ends, in clock time; `-Infinity` when none. */
  cooldownUntil: number;
}

/**
 * A {@linkcode RateLimitStore} held in process memory, with an exact sliding
 * window log per resource.
 *
 * Each resource keeps the times of its last `limit` admissions in a ring
 * buffer, so `acquire` is O(1) and the wait it reports is exact: the time
 * until the oldest admission leaves the window. All checks and writes happen
 * in one synchronous step, so concurrent calls never admit more than
 * `limit` in any window. State of idle resources is dropped lazily; no timer
 * runs.
 *
 * Cooldowns (`setCooldown`) are kept and reported; they do not block
 * `acquire`, which the client calls only after waiting out the cooldown.
 *
 * @example Ten requests a second
 * ```ts
 * import { MemoryRateLimitStore } from "@sluice/http";
 *
 * const store = new MemoryRateLimitStore({
 *   defaultConfig: { limit: 10, windowMs: 1_000 },
 * });
 * if (await store.acquire("search")) {
 *   // make the request
 * } else {
 *   console.log(`retry in ${await store.getWaitTime("search")} ms`);
 * }
 * await store.close();
 * ```
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #configs: Budgets;
  readonly #clock: Clock;
  readonly #buckets: RateLimitBuckets<_Bucket>;

  /**
   * Creates a store with no admissions.
   *
   * @param options Budgets, margin and clock.
   * @throws {ConfigError} When a budget's `limit` or `windowMs` is not a
   * positive integer, `resourceConfigs` is malformed, `marginMs` is not a
   * non-negative integer, or `clock` has no `now()`.
   */
  constructor(options: MemoryRateLimitStoreOptions = {}) {
    const { clock = systemClock } = options;
    this.#configs = new Budgets(COMPONENT, options);
    this.#clock = validClock(COMPONENT, clock);
    this.#buckets = new RateLimitBuckets(COMPONENT, this.#clock, {
      create: (resource) => ({
        log: new TimestampRing(this.#configs.get(resource).limit),
        cooldownUntil: -Infinity,
      }),
      prune: (bucket, resource, now) =>
        bucket.log.dropThrough(now - this.#configs.windowMs(resource)),
      isIdle: (bucket, now) =>
        bucket.log.size === 0 && bucket.cooldownUntil <= now,
    });
  }

  /**
   * Admits a request if the window has room, recording it.
   *
   * @param resource The rate-limited resource.
   * @returns `true` when admitted.
   */
  acquire(resource: string): Promise<boolean> {
    return this.#buckets.run("acquire", () => {
      const now = this.#clock.now();
      const { limit } = this.#configs.get(resource);
      const bucket = this.#buckets.bucket(resource, now);
      if (bucket.log.size >= limit) return false;
      bucket.log.push(now);
      return true;
    });
  }

  /**
   * Tells whether a request would be admitted now, without recording it.
   *
   * @param resource The rate-limited resource.
   */
  canProceed(resource: string): Promise<boolean> {
    return this.#buckets.run("canProceed", () => {
      const now = this.#clock.now();
      return (this.#buckets.pruned(resource, now)?.log.size ?? 0) <
        this.#configs.get(resource).limit;
    });
  }

  /**
   * Records an admission whether or not the window has room.
   *
   * @param resource The rate-limited resource.
   */
  record(resource: string): Promise<void> {
    return this.#buckets.run("record", () => {
      const now = this.#clock.now();
      this.#buckets.bucket(resource, now).log.push(now);
    });
  }

  /**
   * Reads the budget of a resource.
   *
   * @param resource The rate-limited resource.
   * @returns What remains, when the oldest admission leaves the window (now
   * when there is none), and the limit.
   */
  getStatus(resource: string): Promise<RateLimitStatus> {
    return this.#buckets.run("getStatus", () => {
      const now = this.#clock.now();
      const { limit } = this.#configs.get(resource);
      const windowMs = this.#configs.windowMs(resource);
      const log = this.#buckets.pruned(resource, now)?.log;
      const count = log?.size ?? 0;
      return {
        remaining: Math.max(0, limit - count),
        resetTime: new Date(count > 0 ? log!.at(0) + windowMs : now),
        limit,
      };
    });
  }

  /**
   * Forgets the admissions and the cooldown of a resource.
   *
   * @param resource The rate-limited resource.
   */
  reset(resource: string): Promise<void> {
    return this.#buckets.reset(resource);
  }

  /**
   * Tells how long until a resource admits again.
   *
   * @param resource The rate-limited resource.
   * @returns `0` when a request is admitted now; otherwise the milliseconds
   * until the oldest admission in the window leaves it.
   */
  getWaitTime(resource: string): Promise<number> {
    return this.#buckets.run("getWaitTime", () => {
      const now = this.#clock.now();
      const { limit } = this.#configs.get(resource);
      const windowMs = this.#configs.windowMs(resource);
      const log = this.#buckets.pruned(resource, now)?.log;
      if (log === undefined || log.size < limit) return 0;
      return Math.max(0, log.at(log.size - limit) + windowMs - now);
    });
  }

  /**
   * Sets the budget of one resource. Admissions already recorded still
   * count against the new budget.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void {
    const { limit } = this.#configs.set(resource, config);
    this.#buckets.get(resource)?.log.setCapacity(limit);
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
}

import type { Clock } from "../../src/clock.ts";
import {
  type RateLimitBudgetOptions,
  WindowRateLimitStore,
} from "../../src/stores/window_rate_limit_store.ts";
import type { UpstashConnectionOptions } from "./_connection.ts";
import { _UpstashRateWindow } from "./_rate_window.ts";

const COMPONENT = "UpstashRateLimitStore";

/** Options for {@linkcode UpstashRateLimitStore}. */
export interface UpstashRateLimitStoreOptions
  extends UpstashConnectionOptions, RateLimitBudgetOptions {
  /**
   * The clock of this process. Windows and cooldowns run on the Redis
   * server's clock; this one times the adaptive split and turns the
   * server's times into `Date`s (`getStatus().resetTime`).
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/**
 * A {@linkcode RateLimitStore} in Upstash Redis: one exact sliding window per
 * resource, shared by every process that reaches the database.
 *
 * Each resource is a sorted set of admission times under
 * `sluice:ratelimit:w:<resource>`. `acquire` is one Lua script (one round
 * trip) that trims the window, counts it and records the admission
 * atomically, so that no interval of `windowMs` (plus the margin) ever holds
 * more than `limit` admissions across all processes. `admit` does the same
 * after checking the cooldown, and a refusal carries the exact wait: the
 * client's cooldown check and admission cost one request, refused or not.
 * Every script reads the Redis server's clock, so processes with skewed
 * clocks cannot stretch the budget. Cooldowns are kept as an absolute end in
 * server time under `sluice:ratelimit:cd:<resource>`.
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
export class UpstashRateLimitStore extends WindowRateLimitStore {
  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token) and the budgets.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a budget, `marginMs` or `clock` is invalid.
   */
  constructor(options: UpstashRateLimitStoreOptions) {
    super(new _UpstashRateWindow(COMPONENT, options), options, COMPONENT);
  }
}

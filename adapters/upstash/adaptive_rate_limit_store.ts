import type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
import { WindowAdaptiveRateLimitStore } from "../../src/stores/window_adaptive_rate_limit_store.ts";
import { _UpstashRateWindow } from "./_rate_window.ts";
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

/**
 * An {@linkcode AdaptiveRateLimitStore} in Upstash Redis: the exact sliding
 * window of `UpstashRateLimitStore`, split between `"user"` and
 * `"background"` traffic from user activity that every process shares.
 *
 * Per resource, Redis holds the window of every admission
 * (`sluice:ratelimit:w:<resource>`), the window of background admissions
 * (`…:bg:<resource>`) and the user admissions of the monitoring horizon
 * (`…:u:<resource>`), all in the Redis server's clock. The split itself is
 * computed in the process, by the shared adaptive policy, at most every
 * `recalculationIntervalMs` of its clock, from the activity that a user admission's
 * reply brings back (or, for a background request when the split is due, a
 * read of its own). The one-script acquire then admits atomically: total
 * below `limit`, and for background also below `backgroundMax`, not paused,
 * and, under an idle split, only while no user came back in any process.
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
export class UpstashAdaptiveRateLimitStore
  extends WindowAdaptiveRateLimitStore {
  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token), budgets and
   * adaptive settings.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a budget, `marginMs`, an adaptive setting or `clock` is
   * invalid.
   */
  constructor(options: UpstashAdaptiveRateLimitStoreOptions) {
    super(new _UpstashRateWindow(COMPONENT, options), options, COMPONENT);
  }
}

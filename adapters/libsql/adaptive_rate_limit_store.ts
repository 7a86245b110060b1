/**
 * An {@linkcode AdaptiveRateLimitStore} in a libSQL database: the budget of
 * each resource is split between `"user"` and `"background"` traffic from
 * user activity that every process on the database shares.
 *
 * @module
 */

import type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
import { WindowAdaptiveRateLimitStore } from "../../src/stores/window_adaptive_rate_limit_store.ts";
import type { AdaptiveRateLimitStoreStats } from "../../src/stores/types.ts";
import { _LibsqlRateWindow } from "./_rate_window.ts";
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

/** Statistics of an adaptive libSQL rate-limit store. */
export type LibsqlAdaptiveRateLimitStats = AdaptiveRateLimitStoreStats;

const COMPONENT = "LibsqlAdaptiveRateLimitStore";

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
 *   round trip, plus one for a background request when the split is due
 *   for recomputation.
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
export class LibsqlAdaptiveRateLimitStore extends WindowAdaptiveRateLimitStore {
  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, the budgets, the margin and
   * adaptive settings.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlAdaptiveRateLimitStoreOptions) {
    const window = new _LibsqlRateWindow(COMPONENT, options);
    super(window, { ...options, clock: window.clock }, COMPONENT);
  }
}

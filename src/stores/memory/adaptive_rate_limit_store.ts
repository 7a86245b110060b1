import type { Clock } from "../../clock.ts";
import {
  WindowAdaptiveRateLimitStore,
  type WindowAdaptiveRateLimitStoreOptions,
} from "../window_adaptive_rate_limit_store.ts";
import { memoryWindow } from "./_rate_window.ts";

const COMPONENT = "MemoryAdaptiveRateLimitStore";

/** Options for {@linkcode MemoryAdaptiveRateLimitStore}. */
export interface MemoryAdaptiveRateLimitStoreOptions
  extends WindowAdaptiveRateLimitStoreOptions {
  /**
   * The time source for windows, activity, cooldowns and the split.
   *
   * @default {systemClock}
   */
  clock?: Clock;
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
export class MemoryAdaptiveRateLimitStore extends WindowAdaptiveRateLimitStore {
  /**
   * Creates a store with no admissions.
   *
   * @param options Budgets, margin, adaptive settings and clock.
   * @throws {ConfigError} When a budget, `marginMs` or an adaptive setting
   * is invalid, or `clock` has no `now()`.
   */
  constructor(options: MemoryAdaptiveRateLimitStoreOptions = {}) {
    super(memoryWindow(COMPONENT, options), options, COMPONENT);
  }
}

import type { Clock } from "../../clock.ts";
import {
  WindowRateLimitStore,
  type WindowRateLimitStoreOptions,
} from "../window_rate_limit_store.ts";
import { memoryWindow } from "./_rate_window.ts";

const COMPONENT = "MemoryRateLimitStore";

/** Options for {@linkcode MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions
  extends WindowRateLimitStoreOptions {
  /**
   * The time source for windows and cooldowns.
   *
   * @default {systemClock}
   */
  clock?: Clock;
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
 * `acquire`. `admit`, which the client calls, checks the cooldown and the
 * window in one step.
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
export class MemoryRateLimitStore extends WindowRateLimitStore {
  /**
   * Creates a store with no admissions.
   *
   * @param options Budgets, margin and clock.
   * @throws {ConfigError} When a budget's `limit` is not a positive integer
   * or its `windowMs` not an integer from 50 ms to 366 days,
   * `resourceConfigs` is malformed, `marginMs` is not a non-negative integer
   * of at most 366 days, or `clock` has no `now()`.
   */
  constructor(options: MemoryRateLimitStoreOptions = {}) {
    super(memoryWindow(COMPONENT, options), options, COMPONENT);
  }
}

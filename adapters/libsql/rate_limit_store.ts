/**
 * A {@linkcode RateLimitStore} in a libSQL database: one exact sliding
 * window per resource, shared by every process on the database.
 *
 * @module
 */

import {
  type RateLimitBudgetOptions,
  WindowRateLimitStore,
} from "../../src/stores/window_rate_limit_store.ts";
import type { LibsqlConnectionOptions } from "./_connection.ts";
import { _LibsqlRateWindow } from "./_rate_window.ts";

export type { LibsqlRateLimitStats } from "./_rate_window.ts";

/** Options for {@linkcode LibsqlRateLimitStore}. */
export interface LibsqlRateLimitStoreOptions
  extends LibsqlConnectionOptions, RateLimitBudgetOptions {}

const COMPONENT = "LibsqlRateLimitStore";

/**
 * A rate-limit store backed by a libSQL table holding a log of admission
 * times per resource.
 *
 * `acquire` (and `admit`, which also checks the cooldown) counts the
 * admissions of the last `windowMs` (plus the margin) and records a new one
 * in one write transaction (one round trip), so any number of processes on
 * the same database never admit more than `limit` in any interval of that
 * length. A refused `admit` brings the exact wait back in the same round
 * trip. The log is trimmed as it goes.
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
export class LibsqlRateLimitStore extends WindowRateLimitStore {
  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, the budgets and the margin.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlRateLimitStoreOptions) {
    const window = new _LibsqlRateWindow(COMPONENT, options);
    super(window, { ...options, clock: window.clock }, COMPONENT);
  }
}

/**
 * A {@linkcode RateLimitStore} in a DynamoDB table: exact sliding windows
 * shared by every process that reaches it.
 *
 * @module
 */

import type { Clock } from "../../src/clock.ts";
import {
  type RateLimitBudgetOptions,
  WindowRateLimitStore,
} from "../../src/stores/window_rate_limit_store.ts";
import type { DynamoDBConnectionOptions } from "./_connection.ts";
import { _DynamoRateWindow } from "./_rate_window.ts";

const COMPONENT = "DynamoDBRateLimitStore";

/** Options for {@linkcode DynamoDBRateLimitStore}. */
export interface DynamoDBRateLimitStoreOptions
  extends DynamoDBConnectionOptions, RateLimitBudgetOptions {
  /**
   * The clock of this process. DynamoDB has no server clock: admissions,
   * windows and cooldowns are all in this clock, so every process sharing
   * a table must keep its clock close to the others', and `marginMs` must
   * cover the skew between them.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/**
 * A {@linkcode RateLimitStore} in DynamoDB: one exact sliding window per
 * resource, shared by every process that reaches the table, without
 * transactions.
 *
 * Each resource keeps a ring of `limit` slots under `pk`
 * `sluice:ratelimit:<resource>`. An admission takes a ticket (one
 * `UpdateItem` that adds to a counter and returns the resource's meta
 * item, cooldown included) and writes the ticket's slot with a condition:
 * the slot is empty or its admission has left the window. No write ever
 * replaces an admission still in the window, so no window of `windowMs`
 * (plus the margin) ever holds more than `limit` admissions, however many
 * processes race: `acquire` and `admit` cost two requests. A ticket whose
 * write finds its slot taken reads the window (one consistent `Query`) and
 * is decided exactly, with the exact wait when refused; a refusal leaves a
 * hint that lets later callers refuse after their ticket alone, so a
 * refusal in a full window costs one request.
 *
 * DynamoDB has no server clock: every time is this process's clock, and
 * `marginMs` (15% of the window by default) must cover the clock skew
 * between the processes sharing the table, as well as the time their
 * requests take to reach the origin.
 *
 * Budgets (`defaultConfig`, `resourceConfigs`) live in each process: give
 * every process the same configuration.
 *
 * @example Ten requests a second across every process
 * ```ts
 * import { DynamoDBRateLimitStore } from "@sluice/http/dynamodb";
 *
 * const limits = new DynamoDBRateLimitStore({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 *   defaultConfig: { limit: 10, windowMs: 1_000 },
 * });
 * if (!(await limits.acquire("search"))) {
 *   console.log(`retry in ${await limits.getWaitTime("search")} ms`);
 * }
 * ```
 */
export class DynamoDBRateLimitStore extends WindowRateLimitStore {
  /**
   * Creates a store. Nothing is sent until the first operation.
   *
   * @param options The client (or region and credentials) and the budgets.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: DynamoDBRateLimitStoreOptions) {
    super(new _DynamoRateWindow(COMPONENT, options), options, COMPONENT);
  }
}

/**
 * An {@linkcode AdaptiveRateLimitStore} in a DynamoDB table: user traffic
 * before background, across every process that reaches it.
 *
 * @module
 */

import type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
import { WindowAdaptiveRateLimitStore } from "../../src/stores/window_adaptive_rate_limit_store.ts";
import { _DynamoRateWindow } from "./_rate_window.ts";
import type { DynamoDBRateLimitStoreOptions } from "./rate_limit_store.ts";

const COMPONENT = "DynamoDBAdaptiveRateLimitStore";

/** Options for {@linkcode DynamoDBAdaptiveRateLimitStore}. */
export interface DynamoDBAdaptiveRateLimitStoreOptions
  extends DynamoDBRateLimitStoreOptions {
  /**
   * How the split between user and background traffic follows user
   * activity. Omitted fields take their defaults.
   *
   * @default {DEFAULT_ADAPTIVE_CONFIG}
   */
  adaptiveConfig?: Partial<AdaptiveConfig>;
}

/**
 * An {@linkcode AdaptiveRateLimitStore} in DynamoDB: the exact windows of
 * `DynamoDBRateLimitStore`, split between `"user"` and `"background"`
 * traffic from user activity that every process shares.
 *
 * Per resource, the table holds the ring of every admission, a ring of
 * `backgroundMax` slots for background admissions, and the user admissions
 * of the monitoring window. A user admission costs two requests (the
 * ticket and the slot, with the user's record written alongside); a
 * background one under a reduced share three (its own ring's slot first,
 * then the total's), and under the full share two. The split itself is
 * computed in the process by the shared adaptive policy.
 *
 * A call without a priority counts as `"background"`. Times are this
 * process's clock (DynamoDB has none): `marginMs` must cover the clock skew
 * between processes.
 *
 * @example Users first, across every process
 * ```ts
 * import { DynamoDBAdaptiveRateLimitStore } from "@sluice/http/dynamodb";
 *
 * const limits = new DynamoDBAdaptiveRateLimitStore({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 *   defaultConfig: { limit: 100, windowMs: 60_000 },
 * });
 * await limits.acquire("search", "user");
 * const status = await limits.getStatus("search", "background");
 * console.log(status.backgroundMax, status.reason);
 * ```
 */
export class DynamoDBAdaptiveRateLimitStore
  extends WindowAdaptiveRateLimitStore {
  /**
   * Creates a store. Nothing is sent until the first operation.
   *
   * @param options The client (or region and credentials), budgets and
   * adaptive settings.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: DynamoDBAdaptiveRateLimitStoreOptions) {
    super(new _DynamoRateWindow(COMPONENT, options), options, COMPONENT);
  }
}

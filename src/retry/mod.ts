/**
 * Retry decisions and exponential backoff with full jitter.
 *
 * @example
 * ```ts
 * import { backoffDelayMs, shouldRetry, validateRetryOptions } from "./mod.ts";
 *
 * const options = validateRetryOptions({ attempts: 3 });
 * if (shouldRetry("GET", 0, { status: 503 }, options)) {
 *   console.log(backoffDelayMs(0, options) < 100); // true
 * }
 * ```
 *
 * @module
 */

export * from "./retry_policy.ts";

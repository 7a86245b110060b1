/**
 * sluice puts an RFC 9111 cache, request de-duplication and rate limiting in
 * front of `fetch`, backed by pluggable stores so that many processes share
 * one cache, one set of in-flight requests and one rate budget.
 *
 * This entry point holds the store contracts, the errors and the clock.
 *
 * @example Typed errors
 * ```ts
 * import { ConfigError, isSluiceError } from "@sluice/http";
 *
 * const error = new ConfigError("HttpClient", "timeout", -1, "a positive number");
 * console.log(isSluiceError(error), error.code); // true "ERR_CONFIG"
 * ```
 *
 * @module
 */

export * from "./src/client/http_client.ts";
export type * from "./src/client/options.ts";
export type * from "./src/events.ts";
export * from "./src/errors.ts";
export * from "./src/clock.ts";
export type * from "./src/stores/types.ts";
export * from "./src/stores/memory/cache_store.ts";
export * from "./src/stores/memory/dedupe_store.ts";
export * from "./src/stores/memory/rate_limit_store.ts";
export * from "./src/stores/memory/adaptive_rate_limit_store.ts";
export {
  type AdaptiveConfig,
  DEFAULT_ADAPTIVE_CONFIG,
} from "./src/rate_limit/adaptive_policy.ts";

/**
 * Test helpers for sluice users and store authors: a manual clock, and the
 * conformance suites that every store backend must pass
 * ({@linkcode testCacheStore}, {@linkcode testDedupeStore},
 * {@linkcode testRateLimitStore}, {@linkcode testAdaptiveRateLimitStore}).
 * The suites declare their tests with `node:test`, so a store author calls
 * them from a `*_test.ts` file run by Deno, Bun or Node.
 *
 * @example Driving time by hand
 * ```ts
 * import { ManualClock } from "@sluice/http/testing";
 *
 * const clock = new ManualClock(0);
 * clock.advance(1_000);
 * console.log(clock.now()); // 1000
 * ```
 *
 * @module
 */

export * from "./manual_clock.ts";
// The contracts the suites and their factories speak of, so that a store
// author needs this entry point alone.
export type * from "../src/stores/types.ts";
export type { Clock } from "../src/clock.ts";
export type { AdaptiveConfig } from "../src/rate_limit/adaptive_policy.ts";
export type { Awaitable, StoreSuiteOptions, SuiteTime } from "./_harness.ts";
export * from "./cache_store_suite.ts";
export * from "./dedupe_store_suite.ts";
export {
  type RateLimitStoreFactory,
  type RateLimitStoreFactoryContext,
  type RateLimitStoreSuiteOptions,
  testRateLimitStore,
} from "./rate_limit_store_suite.ts";
export * from "./adaptive_rate_limit_store_suite.ts";

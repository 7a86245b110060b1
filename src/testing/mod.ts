/**
 * Test helpers for sluice users and store authors: a manual clock, and the
 * conformance suites that every store backend must pass.
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

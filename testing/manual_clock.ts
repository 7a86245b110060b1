import type { Clock } from "../src/clock.ts";

/**
 * A clock that only moves when told to. Pass it to stores and clients in
 * tests to cross TTLs and windows without sleeping.
 *
 * @example Crossing a TTL
 * ```ts
 * import { ManualClock } from "@sluice/http/testing";
 *
 * const clock = new ManualClock(1_000);
 * clock.advance(500);
 * console.log(clock.now()); // 1500
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /**
   * Creates a clock stopped at `start`.
   *
   * @param start The initial time in milliseconds since the Unix epoch.
   */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  /** Returns the current manual time. */
  now(): number {
    return this.#now;
  }

  /**
   * Moves the clock forward.
   *
   * @param ms How many milliseconds to move; must not be negative.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot advance a ManualClock by ${ms} ms`);
    }
    this.#now += ms;
  }

  /**
   * Sets the clock to an absolute time.
   *
   * @param ms The new time in milliseconds since the Unix epoch.
   */
  set(ms: number): void {
    this.#now = ms;
  }
}

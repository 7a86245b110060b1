/**
 * Time sources. Every time-dependent part of sluice takes a {@linkcode Clock},
 * so tests can move time by hand instead of sleeping.
 *
 * @module
 */

/** A source of the current time, in milliseconds since the Unix epoch. */
export interface Clock {
  /** Returns the current time in milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock: `Date.now()`. */
export const systemClock: Clock = { now: (): number => Date.now() };

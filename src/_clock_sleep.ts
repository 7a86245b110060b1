// Waits on a user's clock. A clock may come with `now()` alone (the shape
// sluice has always accepted); its waits then fall back to real timers.

import { type Clock, systemClock } from "./clock.ts";

/**
 * Waits `ms` of `clock`'s time: through `clock.sleep()` when the clock has
 * one, otherwise on real timers (see {@linkcode systemClock}).
 *
 * @param clock The clock to wait on.
 * @param ms How long to wait; a negative or `NaN` wait is no wait.
 * @param signal Stops the wait: the promise rejects with its reason.
 * @returns A promise that resolves when the wait is over; a clock whose
 * `sleep()` throws gives a rejected promise.
 */
export function sleepOn(
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  if (typeof clock.sleep !== "function") return systemClock.sleep(ms, signal);
  try {
    return Promise.resolve(clock.sleep(ms, signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Time sources. Every time-dependent part of sluice takes a {@linkcode Clock},
 * so tests can move time by hand instead of sleeping.
 *
 * @module
 */

/**
 * A source of the current time, in milliseconds since the Unix epoch, and
 * optionally of waits measured in that time.
 *
 * A clock with `now()` alone is enough: the parts of sluice that wait then
 * wait on real timers. A clock with `sleep()` as well has the waits of
 * `HttpClient` (its attempt and total deadlines, its retry backoffs) and of
 * the rate limiter measured in its own time, so a test clock can let a
 * waiting request through, or time it out, by moving time instead of by
 * sleeping.
 */
export interface Clock {
  /** Returns the current time in milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Waits `ms` milliseconds of this clock's time.
   *
   * An implementation resolves once `ms` has passed by this clock, rejects
   * with `signal.reason` as soon as `signal` aborts (at once if it is
   * already aborted), and keeps nothing running after it has settled.
   *
   * @param ms How long to wait; a negative or `NaN` wait is no wait.
   * @param signal Stops the wait: the promise rejects with its reason.
   * @returns A promise that resolves when the wait is over.
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The longest delay a timer honours (2^31 - 1 ms, about 24.8 days). A longer
 * one fires at once on every runtime, so a longer wait is cut into steps.
 */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The wall clock: `Date.now()`, and waits on `setTimeout`.
 *
 * Its `sleep()` always waits for at least one timer, even for 0 ms. A wait
 * longer than a timer can hold is made of several timers in a row, and an
 * infinite wait ends only when its signal aborts. An abort clears the timer,
 * so an aborted wait never keeps a process alive.
 *
 * @example Waiting, or stopping early
 * ```ts
 * import { systemClock } from "@sluice/http";
 *
 * const controller = new AbortController();
 * const waiting = systemClock.sleep(60_000, controller.signal);
 * controller.abort(new Error("no longer needed"));
 * await waiting.catch((error) => console.log(error.message)); // no longer needed
 * ```
 */
export const systemClock: Required<Clock> = {
  now: (): number => Date.now(),
  sleep: (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      let remaining = ms > 0 ? ms : 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const step = (): void => {
        const delay = Math.min(remaining, MAX_TIMER_MS);
        remaining -= delay;
        timer = setTimeout(() => {
          if (remaining > 0) return step();
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, delay);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      step();
    });
  },
};

// A deadline measured on a user's clock: the request timeouts pass when the
// clock says so, so a test clock moves them by hand like every other wait.

import { sleepOn } from "./_clock_sleep.ts";
import { type Clock, systemClock } from "./clock.ts";

/**
 * The longest delay a timer honours (2^31 - 1 ms). Timeouts are validated
 * below it; a longer one would fire at once.
 */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `onPass` once `ms` of `clock`'s time has passed, unless the returned
 * function is called first. A clock without `sleep()`, and
 * {@linkcode systemClock}, use one real timer; another clock's `sleep()`
 * measures the wait. When that `sleep()` fails, `onPass` is called at once
 * with its error: a deadline that cannot be measured must not hold a
 * request forever.
 *
 * @param clock The clock to measure the deadline on.
 * @param ms How long until the deadline passes.
 * @param onPass Called once when it passes, with the clock's error when
 * the clock failed to wait.
 * @returns Cancels the deadline: `onPass` is not called afterwards, and
 * nothing is left running.
 */
export function deadline(
  clock: Clock,
  ms: number,
  onPass: (failure?: unknown) => void,
): () => void {
  const sleep = clock.sleep;
  if (typeof sleep !== "function" || sleep === systemClock.sleep) {
    const timer = setTimeout(() => onPass(), Math.min(ms, MAX_TIMER_MS));
    return () => clearTimeout(timer);
  }
  const stop = new AbortController();
  sleepOn(clock, ms, stop.signal).then(() => {
    if (!stop.signal.aborted) onPass();
  }, (error: unknown) => {
    if (!stop.signal.aborted) onPass(error);
  });
  return () => stop.abort();
}

/** The latest time a `Date` holds, in milliseconds since the epoch. */
const MAX_DATE_MS = 8.64e15;

/**
 * A wait or a cooldown as a backend reported it: a finite, non-negative
 * number of milliseconds. Anything else (a corrupt value, `NaN`, a string)
 * reads as `0`.
 */
export function millis(value: unknown): number {
  return typeof value === "number" && value > 0 && value < Infinity ? value : 0;
}

/**
 * A time of the backend's clock as a `Date` of the store's clock: shifted by
 * how far the backend's `now` was ahead of the store's clock when the call
 * started (nothing for a backend that reads the store's clock), and held
 * within the range of `Date`, so that it is always valid.
 */
export function localDate(
  time: number,
  backendNow: number,
  localNow: number,
): Date {
  const shifted = time + (localNow - backendNow);
  if (Number.isNaN(shifted)) return new Date(localNow);
  return new Date(Math.min(Math.max(shifted, -MAX_DATE_MS), MAX_DATE_MS));
}

/** A value, or a promise of it. */
export type Maybe<T> = T | PromiseLike<T>;

/** Whether a backend answered with a promise rather than the value itself. */
export function isPromiseLike<T>(value: Maybe<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Runs `fn` on a backend's answer: in the same step when the backend gave
 * the value itself, after it settles otherwise. `call` throwing, or `fn`
 * throwing, rejects the returned promise.
 */
export function settle<T, R>(
  call: () => Maybe<T>,
  fn: (value: T) => Maybe<R>,
): Promise<R> {
  try {
    const value = call();
    if (isPromiseLike(value)) return Promise.resolve(value).then(fn);
    return Promise.resolve(fn(value));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `fn` on a backend's answer, as {@linkcode settle}, but returns its
 * result itself when the backend answered at once: `call` or `fn` throwing
 * then throws.
 */
export function settleNow<T, R>(
  call: () => Maybe<T>,
  fn: (value: T) => Maybe<R>,
): Maybe<R> {
  const value = call();
  if (isPromiseLike(value)) return Promise.resolve(value).then(fn);
  return fn(value);
}

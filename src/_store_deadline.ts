// A bound on one store operation: a store that stops answering (a hung
// connection, a lost reply) must not hold a request, a flight or close()
// forever. The operation counts as failed after a deadline, so the caller
// fails open (or closed, for the rate limiter, by option), and a caller's
// signal stops the wait at once.
//
// Arming a timer per operation would double the cost of a cache hit, so a
// store that answers within a few microtasks (any in-memory store) is never
// timed: the timer is armed only for an operation still pending after that.

import { deadline } from "./_clock_deadline.ts";
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { StoreError } from "./errors.ts";

/** How long one store operation may take by default, in ms. */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;

/**
 * The longest delay a timer honours (2^31 - 1 ms, about 24.8 days). A longer
 * one fires at once on every runtime, so a deadline past it must be clamped,
 * never passed on.
 */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A deadline as a timer delay: clamped to what timers honour, so that a sum
 * of long options (waits, attempts, store timeouts) waits at least as long
 * as timers can instead of not at all.
 *
 * @param ms The deadline in milliseconds.
 * @returns The delay to pass to `setTimeout`.
 */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/**
 * Runs a store operation within `timeoutMs`.
 *
 * @param operation The store method, for the error.
 * @param run Calls the store; a synchronous throw counts as a rejection.
 * @param timeoutMs The deadline; `undefined` for none (the signal alone
 * bounds the wait).
 * @param signal Stops waiting: the promise rejects with its reason.
 * @param clock Measures the deadline: the client's clock, so that a test
 * clock moves it like every other wait.
 * @returns What the store answered.
 * @throws {StoreError} When the store has not answered by the deadline.
 * @throws The store's own error, or the signal's reason.
 */
export function storeCall<T>(
  operation: string,
  run: () => T | Promise<T>,
  timeoutMs: number | undefined,
  signal?: AbortSignal,
  clock: Clock = systemClock,
): Promise<T> {
  let answer: T | Promise<T>;
  try {
    answer = run();
  } catch (error) {
    return Promise.reject(error);
  }
  // Answered at once (a synchronous read): nothing to bound.
  if (!_isThenable(answer)) return Promise.resolve(answer);
  const pending = Promise.resolve(answer);
  let settled = false;
  const mark = (): void => {
    settled = true;
  };
  pending.then(mark, mark);
  // A few microtasks: a store built on an in-memory backend answers through
  // a chain of awaits (the dedupe store's policy over its lease backend).
  let ticks = SETTLE_TICKS;
  const check = (): Promise<T> => {
    if (settled) return pending;
    if (--ticks > 0) return Promise.resolve().then(check);
    return _bounded(operation, pending, timeoutMs, signal, clock);
  };
  return Promise.resolve().then(check);
}

/** How many microtasks a store operation has to answer before it is timed. */
const SETTLE_TICKS = 4;

function _bounded<T>(
  operation: string,
  pending: Promise<T>,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  clock: Clock,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (timeoutMs === undefined && signal === undefined) return pending;
  return new Promise<T>((resolve, reject) => {
    let cancel: (() => void) | undefined;
    const onAbort = (): void => {
      cancel?.();
      reject(signal!.reason);
    };
    const settle = (): void => {
      cancel?.();
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeoutMs !== undefined) {
      cancel = deadline(clock, timerDelay(timeoutMs), () => {
        signal?.removeEventListener("abort", onAbort);
        reject(
          new StoreError(
            `The store did not answer '${operation}' within ${timeoutMs} ms`,
            "unknown",
            operation,
          ),
        );
      });
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error) => {
        settle();
        reject(error);
      },
    );
  });
}

function _isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

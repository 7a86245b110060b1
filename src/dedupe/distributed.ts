/**
 * Distributed single-flight through a {@linkcode DedupeStore}: among every
 * process sharing the store, one caller owns a job and the others wait for
 * its result.
 *
 * When an owner fails, its waiters get `undefined` from `waitFor` and run
 * `registerOrJoin` again: the store elects exactly one new owner and the
 * rest keep waiting, so a failure never sends every waiter to the origin at
 * once. A store that is down is skipped: the caller runs the job itself.
 *
 * The job learns whether the store elected its caller. An elected owner may
 * start after an earlier job for the same key completed (a later
 * `registerOrJoin` starts a new job), or after its predecessor failed having
 * done part of the work, so it may look for that work before redoing it.
 *
 * @module
 */

import { DEFAULT_STORE_TIMEOUT_MS, storeCall } from "../_store_deadline.ts";
import type { DedupeStore } from "../stores/types.ts";

/** How many elections a waiter takes part in before running the job itself. */
export const DEFAULT_MAX_ELECTIONS = 8;

/** Hooks and limits of {@linkcode runDistributedFlight}. */
export interface DistributedFlightOptions {
  /** Stops waiting (and the job, which receives it) when aborted. */
  signal?: AbortSignal;
  /**
   * How many times a waiter runs `registerOrJoin` before giving up on the
   * store and running the job itself.
   *
   * @default {8}
   */
  maxElections?: number;
  /**
   * The longest `registerOrJoin`, `complete` or `fail` may take, in ms. A
   * store slower than this counts as down. (`waitFor` waits for the owner's
   * job, so only the signal bounds it.)
   *
   * @default {5_000}
   */
  storeTimeoutMs?: number;
  /** Called when this caller becomes owner. */
  onOwner?: () => void;
  /** Called when this caller joined and received a result. */
  onJoined?: (waitedMs: number) => void;
  /**
   * Called when the store fails; the caller then runs the job without it.
   * `operation` names the store method.
   */
  onStoreError?: (error: unknown, operation: string) => void;
}

/** The outcome of {@linkcode runDistributedFlight}. */
export type DistributedFlightOutcome<R, T> =
  | { kind: "owned"; result: R }
  | { kind: "joined"; value: T };

/**
 * The work of a distributed flight.
 *
 * @typeParam R The owner's own result.
 * @typeParam T The value shared through the store.
 * @param elected `true` when the store elected this caller owner (first
 * election or re-election), `false` when the caller runs the job without the
 * store because the store failed or never produced a result.
 * @returns The owner's result and the value for waiters.
 */
export type DistributedJob<R, T> = (
  elected: boolean,
) => Promise<OwnedResult<R, T>>;

/** What the job returns: its own result, and the value handed to waiters. */
export interface OwnedResult<R, T> {
  /** What the owner's caller gets. */
  result: R;
  /** What waiters in other processes get through the store. */
  share: T;
}

/**
 * Runs `job` once across every process sharing `store`, or waits for the
 * owner that runs it.
 *
 * @typeParam R The owner's own result.
 * @typeParam T The value shared through the store.
 * @param store The dedupe store.
 * @param key The job's key.
 * @param job The work, run only when this caller owns the job, told whether
 * the store elected it. A throw is reported to the store with `fail` (when
 * elected) and rethrown.
 * @param options Signal, limits and hooks.
 * @returns The owner's result, or the value a waiter received.
 * @throws The signal's reason when it aborts while waiting; whatever `job`
 * throws when this caller owns it.
 */
export async function runDistributedFlight<R, T>(
  store: DedupeStore<T>,
  key: string,
  job: DistributedJob<R, T>,
  options: DistributedFlightOptions = {},
): Promise<DistributedFlightOutcome<R, T>> {
  const {
    signal,
    maxElections = DEFAULT_MAX_ELECTIONS,
    storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS,
  } = options;
  const started = performance.now();
  for (let round = 0; round < maxElections; round++) {
    signal?.throwIfAborted();
    let isOwner: boolean;
    try {
      ({ isOwner } = await storeCall(
        "registerOrJoin",
        () => store.registerOrJoin(key),
        storeTimeoutMs,
        signal,
      ));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      options.onStoreError?.(error, "registerOrJoin");
      return { kind: "owned", result: (await job(false)).result };
    }
    if (isOwner) {
      options.onOwner?.();
      return {
        kind: "owned",
        result: await _own(store, key, job, storeTimeoutMs, options),
      };
    }
    let value: T | undefined;
    try {
      // A store that ignores the signal must not keep this caller.
      value = await storeCall(
        "waitFor",
        () => store.waitFor(key, signal === undefined ? {} : { signal }),
        undefined,
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      options.onStoreError?.(error, "waitFor");
      return { kind: "owned", result: (await job(false)).result };
    }
    if (value !== undefined) {
      options.onJoined?.(performance.now() - started);
      return { kind: "joined", value };
    }
  }
  // The store kept answering "join" without ever producing a result or an
  // owner for us; stop trusting it for this request.
  options.onStoreError?.(
    new Error(
      `No owner completed dedupe job '${key}' after ${maxElections} elections`,
    ),
    "waitFor",
  );
  return { kind: "owned", result: (await job(false)).result };
}

async function _own<R, T>(
  store: DedupeStore<T>,
  key: string,
  job: DistributedJob<R, T>,
  storeTimeoutMs: number,
  options: DistributedFlightOptions,
): Promise<R> {
  let outcome: OwnedResult<R, T>;
  try {
    outcome = await job(true);
  } catch (error) {
    try {
      await storeCall(
        "fail",
        () =>
          store.fail(
            key,
            error instanceof Error ? error : new Error(String(error)),
          ),
        storeTimeoutMs,
      );
    } catch (storeError) {
      options.onStoreError?.(storeError, "fail");
    }
    throw error;
  }
  try {
    await storeCall(
      "complete",
      () => store.complete(key, outcome.share),
      storeTimeoutMs,
    );
  } catch (storeError) {
    options.onStoreError?.(storeError, "complete");
  }
  return outcome.result;
}

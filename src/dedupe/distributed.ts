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
 * No store fault leaves a key held: a wait for the owner is bounded
 * (`waitTimeoutMs`); an owner whose `complete` fails follows it with
 * `fail`; a registration that made a caller owner after it had gone on
 * without the store is released with `fail`; and a job this process owned
 * whose end the store never heard of is remembered ({@linkcode EndedJobs}),
 * so that the next caller fails it instead of waiting for it.
 *
 * The job learns whether the store elected its caller, and what the store
 * says the job replaced: an elected owner may start after an earlier job
 * for the same key completed (a later `registerOrJoin` starts a new job), or
 * after its predecessor failed having done part of the work, so it may look
 * for that work before redoing it.
 *
 * @module
 */

import {
  DEFAULT_STORE_TIMEOUT_MS,
  storeCall,
  timerDelay,
} from "../_store_deadline.ts";
import { deadline } from "../_clock_deadline.ts";
import { type Clock, systemClock } from "../clock.ts";
import { StoreError } from "../errors.ts";
import { follow } from "../_signals.ts";
import { type SyncDedupe, syncDedupe } from "../stores/_sync_dedupe.ts";
import type { DedupeRegistration, DedupeStore } from "../stores/types.ts";

/** How many elections a waiter takes part in before running the job itself. */
export const DEFAULT_MAX_ELECTIONS = 8;

/**
 * How long one `waitFor` may wait by default, in ms: the client's bound for
 * a request with its default deadlines and no rate limit (one 30 s attempt
 * plus the default `storeTimeoutMs`).
 */
export const DEFAULT_WAIT_TIMEOUT_MS = 35_000;

/** How many ended jobs an {@linkcode EndedJobs} remembers at most. */
const ENDED_JOBS_LIMIT = 1_024;

/**
 * The jobs this process owned and ended whose end the store may not know:
 * both `complete` and `fail` failed, or a registration arrived too late and
 * could not be released. Such a job runs in the store until its timeout,
 * and nobody will complete it; a caller that is told to join it fails it
 * instead, so that the store elects again. Share one between the flights
 * of a process. Bounded: the oldest entries are forgotten first.
 */
export class EndedJobs {
  readonly #jobs = new Map<string, string>();

  /**
   * Remembers that the job `jobId` of `key` ended.
   *
   * @param key The job's key.
   * @param jobId The job id the store gave.
   */
  remember(key: string, jobId: string): void {
    this.#jobs.delete(key);
    if (this.#jobs.size >= ENDED_JOBS_LIMIT) {
      const oldest = this.#jobs.keys().next();
      if (!oldest.done) this.#jobs.delete(oldest.value);
    }
    this.#jobs.set(key, jobId);
  }

  /**
   * Takes the memory of the job `jobId` of `key`, if there is one.
   *
   * @param key The job's key.
   * @param jobId The job id the store answered.
   * @returns Whether this process had ended that job.
   */
  take(key: string, jobId: string): boolean {
    if (this.#jobs.get(key) !== jobId) return false;
    this.#jobs.delete(key);
    return true;
  }

  /**
   * Forgets the job of `key`: the store started another one.
   *
   * @param key The job's key.
   */
  forget(key: string): void {
    this.#jobs.delete(key);
  }
}

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
   * store slower than this counts as down.
   *
   * @default {5_000}
   */
  storeTimeoutMs?: number;
  /**
   * The longest one `waitFor` may wait for the owner's job, in ms. Past it,
   * the owner counts as stalled (or the store as deaf): `onStoreError`
   * reports a {@linkcode StoreError} for `"waitFor"` and the caller runs the
   * job itself. Each election waits afresh, as each owner runs its own job.
   *
   * @default {35_000}
   */
  waitTimeoutMs?: number;
  /**
   * Where this process remembers jobs it ended that the store may still
   * run. Without it, a caller told to join such a job waits for it until
   * the store's job timeout or `waitTimeoutMs`.
   *
   * @default {undefined}
   */
  endedJobs?: EndedJobs;
  /**
   * Measures `storeTimeoutMs` and `waitTimeoutMs`, so that a test clock
   * moves them like every other wait.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /** Called when this caller becomes owner. */
  onOwner?: () => void;
  /** Called when this caller joined and received a result. */
  onJoined?: (waitedMs: number) => void;
  /**
   * Called when the store fails; the caller then runs the job without it.
   * `operation` names the store method. It may be called after the flight
   * ended, for the release of a registration that came too late.
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
 * @param previous For an elected caller, what the store says its job
 * replaced ({@linkcode DedupeRegistration.previous}); `undefined` when the
 * store does not say, or the caller was not elected.
 * @returns The owner's result and the value for waiters.
 */
export type DistributedJob<R, T> = (
  elected: boolean,
  previous: DedupeRegistration["previous"],
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
    waitTimeoutMs = DEFAULT_WAIT_TIMEOUT_MS,
    endedJobs,
  } = options;
  const alone = async (): Promise<DistributedFlightOutcome<R, T>> => ({
    kind: "owned",
    result: (await job(false, undefined)).result,
  });
  const started = performance.now();
  // A store in process memory answers at once: nothing to bound or await.
  const now = syncDedupe<T>(store);
  for (let round = 0; round < maxElections; round++) {
    signal?.throwIfAborted();
    let registration: DedupeRegistration;
    try {
      registration = now !== undefined
        ? now.registerOrJoin(key)
        : await _register(store, key, storeTimeoutMs, signal, options);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      options.onStoreError?.(error, "registerOrJoin");
      return await alone();
    }
    if (registration.isOwner) {
      endedJobs?.forget(key);
      options.onOwner?.();
      return {
        kind: "owned",
        result: await _own(store, key, registration, job, options, now),
      };
    }
    if (endedJobs?.take(key, registration.jobId)) {
      // The store runs a job this process ended: nobody will complete it.
      // Fail it, and take part in the election that follows.
      const released = await _release(
        store,
        key,
        registration.jobId,
        new Error(`Dedupe job '${key}' ended without reaching the store`),
        options,
      );
      if (!released) return await alone();
      continue;
    }
    let value: T | undefined;
    try {
      value = await _wait(
        store,
        key,
        registration.jobId,
        waitTimeoutMs,
        signal,
        options.clock ?? systemClock,
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      options.onStoreError?.(error, "waitFor");
      return await alone();
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
  return await alone();
}

// Registers within storeTimeoutMs. A reply that comes after the caller went
// on without the store, and makes it owner, would hold the key in every
// process until the store's job timeout: it is released at once.
async function _register<T>(
  store: DedupeStore<T>,
  key: string,
  storeTimeoutMs: number,
  signal: AbortSignal | undefined,
  options: DistributedFlightOptions,
): Promise<DedupeRegistration> {
  let reply: Promise<DedupeRegistration> | undefined;
  try {
    return await storeCall(
      "registerOrJoin",
      () => (reply = Promise.resolve(store.registerOrJoin(key))),
      storeTimeoutMs,
      signal,
      options.clock,
    );
  } catch (error) {
    reply?.then((late) => {
      if (late?.isOwner !== true) return;
      void _release(
        store,
        key,
        late.jobId,
        new Error(
          `The registration of dedupe job '${key}' came after its caller went on without the store`,
        ),
        options,
      );
    }, () => {});
    throw error;
  }
}

// Waits for the owner's job `jobId`, at most `waitTimeoutMs`. The store's
// wait is aborted then too, so that a store that honours the signal lets go
// of it.
async function _wait<T>(
  store: DedupeStore<T>,
  key: string,
  jobId: string,
  waitTimeoutMs: number,
  signal: AbortSignal | undefined,
  clock: Clock,
): Promise<T | undefined> {
  const bound = new AbortController();
  const cancel = deadline(clock, timerDelay(waitTimeoutMs), () => {
    bound.abort(
      new StoreError(
        `The dedupe store did not settle 'waitFor' within ${waitTimeoutMs} ms`,
        "unknown",
        "waitFor",
      ),
    );
  });
  const unfollow = signal === undefined ? undefined : follow(signal, bound);
  const waitSignal = bound.signal;
  try {
    // A store that ignores the signal must not keep this caller.
    return await storeCall(
      "waitFor",
      () => store.waitFor(key, { signal: waitSignal, jobId }),
      undefined,
      waitSignal,
    );
  } finally {
    cancel();
    unfollow?.();
  }
}

async function _own<R, T>(
  store: DedupeStore<T>,
  key: string,
  registration: DedupeRegistration,
  job: DistributedJob<R, T>,
  options: DistributedFlightOptions,
  now: SyncDedupe<T> | undefined,
): Promise<R> {
  const { storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS } = options;
  let outcome: OwnedResult<R, T>;
  try {
    outcome = await job(true, registration.previous);
  } catch (error) {
    await _release(
      store,
      key,
      registration.jobId,
      error instanceof Error ? error : new Error(String(error)),
      options,
    );
    throw error;
  }
  try {
    if (now === undefined) {
      await storeCall(
        "complete",
        () => store.complete(key, outcome.share),
        storeTimeoutMs,
        undefined,
        options.clock,
      );
    } else {
      const failing = now.complete(key, outcome.share);
      if (failing !== undefined) await failing;
    }
  } catch (storeError) {
    options.onStoreError?.(storeError, "complete");
    // Waiters must not wait for a result that will not come.
    await _release(
      store,
      key,
      registration.jobId,
      new Error(`Dedupe job '${key}' could not be completed`, {
        cause: storeError,
      }),
      options,
    );
  }
  return outcome.result;
}

// Fails the job `jobId` of `key` within storeTimeoutMs. When the store
// cannot be told, the job is remembered as ended. Resolves to whether the
// store was told; never rejects.
async function _release<T>(
  store: DedupeStore<T>,
  key: string,
  jobId: string,
  error: Error,
  options: DistributedFlightOptions,
): Promise<boolean> {
  const { storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS } = options;
  try {
    await storeCall(
      "fail",
      () => store.fail(key, error),
      storeTimeoutMs,
      undefined,
      options.clock,
    );
    return true;
  } catch (storeError) {
    options.onStoreError?.(storeError, "fail");
    options.endedJobs?.remember(key, jobId);
    return false;
  }
}

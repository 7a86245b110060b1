/**
 * The lease: the backend primitive under every dedupe store. A backend
 * holds one record per key, a job that is running under its owner's lease
 * or that settled, and offers four atomic operations on it, each one round
 * trip (one Lua script, one SQL batch, one conditional write):
 *
 * - {@linkcode LeaseBackend.claim} takes the lease, or reports the job that
 *   holds it;
 * - {@linkcode LeaseBackend.settle} records a job's outcome;
 * - {@linkcode LeaseBackend.peek} reads a job for its waiters;
 * - {@linkcode LeaseBackend.inProgress} tells whether a lease is held.
 *
 * Time is the backend's own: the server's clock where it has one (Redis),
 * otherwise the clock the backend was given. Everything above the record
 * (validation, encoding, size limits, the grace, waiting and wake-up) is the
 * policy of {@linkcode LeaseDedupeStore}, written once for every backend.
 *
 * @module
 */

import type { DedupeStoreStats } from "./types.ts";

/** What a record says about its job when it is read. */
export type LeaseState = "running" | "completed" | "failed" | "none";

/** What a claim replaced: nothing, a completed job, or a failed or abandoned one. */
export type LeasePrevious = "none" | "completed" | "failed";

/** The outcome a job settles with. */
export type LeaseOutcome = "completed" | "failed";

/** The answer of {@linkcode LeaseBackend.claim}. */
export type LeaseClaim =
  | {
    /** The caller holds the lease now. */
    owner: true;
    /** The caller's job id, as passed to the claim. */
    jobId: string;
    /**
     * What the record held before: `"none"` when there was no record,
     * `"completed"` for a completed job, `"failed"` for a failed job, a
     * lease that ran out, or a running job replaced by a claim that does
     * not join.
     */
    previous: LeasePrevious;
  }
  | {
    /** Another job holds the lease. */
    owner: false;
    /** The id of the running job. */
    jobId: string;
  };

/** The answer of {@linkcode LeaseBackend.peek}. */
export interface LeasePeek<E> {
  /**
   * The job's state. A lease that ran out reads as `"failed"` (or
   * `"none"` once the backend forgot it).
   */
  state: LeaseState;
  /** The job the answer is about; `""` when `state` is `"none"`. */
  jobId: string;
  /** The encoded result, when `state` is `"completed"`. */
  value?: E;
  /**
   * How long ago the job settled, in milliseconds of the backend's clock,
   * when `state` is `"completed"` or `"failed"`; `Infinity` when the
   * backend does not know. `0` for a running job.
   */
  settledAgoMs: number;
}

/**
 * The lease primitive a dedupe backend implements: one record per key, and
 * atomic operations on it. Each operation is one round trip to the backend
 * and is atomic against every other caller of every process sharing it.
 *
 * A backend checks nothing but its own arguments' shape and holds no
 * policy: no option defaults, no encoding, no grace, no waiting.
 *
 * @typeParam E The encoded form of a result the backend stores: bytes for
 * a BLOB column, text for Redis, the value itself in memory.
 */
export interface LeaseBackend<E> {
  /** The backend's name in a `StoreError`, for example `"libsql"`. */
  readonly backend: string;
  /**
   * The longest one operation may take before the policy gives up on it,
   * in milliseconds. Every poll of a waiter is bounded by it.
   */
  readonly timeoutMs: number;

  /**
   * Takes the lease of `key` for `jobId`, for `leaseMs`, unless `join` is
   * set and a running job holds a lease that has not run out: then nothing
   * changes and that job is reported. A claim that takes the lease replaces
   * whatever the record held, settled or running.
   *
   * @param key The job's key.
   * @param jobId The caller's new job id.
   * @param leaseMs How long the lease lasts, in milliseconds.
   * @param join Whether to join a running job rather than replace it.
   * @returns The owner's claim with what it replaced, or the running job.
   */
  claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): Promise<LeaseClaim>;

  /**
   * Records the outcome of the job of `key`, readable for at least
   * `retentionMs` afterwards.
   *
   * - `"completed"` settles the running job, whatever its id (a late result
   *   still answers the waiters of a job that took over), and when none
   *   runs records a completed job under `jobId`, so that late waiters
   *   within the grace still receive it.
   * - `"failed"` settles only a running job, and only the one of `jobId`
   *   when it is given: a fail never reaches a job that replaced it.
   *
   * @param key The job's key.
   * @param jobId The settling job's id; for `"failed"`, `undefined` fails
   * whichever job runs.
   * @param outcome The outcome.
   * @param value The encoded result of a completed job.
   * @param retentionMs How long the outcome stays readable, at least.
   * @returns Whether a record changed.
   */
  settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: E | undefined,
    retentionMs: number,
  ): Promise<boolean>;

  /**
   * Reads the job of `key` for a waiter. With `jobId`, a backend that
   * still holds that job's outcome after a newer claim replaced it reports
   * that outcome; otherwise, and without `jobId`, it reports the current
   * job.
   *
   * @param key The job's key.
   * @param jobId The job the waiter follows, if it knows one.
   * @returns The job's state, id, encoded value and settle age.
   */
  peek(key: string, jobId: string | undefined): Promise<LeasePeek<E>>;

  /**
   * Tells whether a running job holds the lease of `key`.
   *
   * @param key The job's key.
   */
  inProgress(key: string): Promise<boolean>;

  /** Counts the records by state. */
  stats(): Promise<DedupeStoreStats>;

  /**
   * Removes records whose lease or retention ended.
   *
   * @returns How many were removed; `0` for a backend that expires records
   * itself.
   */
  cleanup(): Promise<number>;

  /** Releases the backend's resources. Safe to call twice. */
  close(): Promise<void>;
}

import { type Clock, systemClock } from "../../clock.ts";
import { validCompletedGraceMs } from "../_dedupe_grace.ts";
import { positiveInteger } from "../_validate.ts";
import type {
  DedupeRegistration,
  DedupeStore,
  WaitForOptions,
} from "../types.ts";
import { closedError, validClock } from "./_options.ts";

const COMPONENT = "MemoryDedupeStore";

/**
 * How often, in real time, a job with waiters checks whether it ran past its
 * timeout by the store's clock.
 */
const TIMEOUT_POLL_MS = 250;

/** Options for {@linkcode MemoryDedupeStore}. */
export interface MemoryDedupeStoreOptions {
  /**
   * How long an owner may run before its job counts as abandoned, in
   * milliseconds. Waiters then receive `undefined` and the next
   * `registerOrJoin` becomes owner. A positive integer.
   *
   * @default {300_000}
   */
  jobTimeoutMs?: number;
  /**
   * How long after completion a job still answers `waitFor`, in
   * milliseconds. A completed job is not a cache, so this is short: a
   * non-negative number of at most 60 000.
   *
   * @default {1_000}
   */
  completedGraceMs?: number;
  /**
   * The time source for timeouts and the grace.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

type _State = "running" | "completed" | "failed";

interface _Waiter<T> {
  settle(value: T | undefined): void;
}

class _Job<T> {
  state: _State = "running";
  settledAt = Infinity;
  value: T | undefined = undefined;
  readonly waiters = new Set<_Waiter<T>>();
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  constructor(readonly id: string, readonly startedAt: number) {}
}

/**
 * A {@linkcode DedupeStore} held in process memory: single-flight
 * coordination between the callers of one process.
 *
 * - `registerOrJoin` is atomic: it runs in one synchronous step, so among
 *   any number of concurrent callers exactly one becomes owner.
 * - Waiters receive the owner's value on `complete`, and `undefined` on
 *   `fail`, on timeout, or on `close`; `waitFor` never rejects except when
 *   its signal aborts.
 * - A completed job answers `waitFor` for `completedGraceMs`, then is
 *   forgotten. A later `registerOrJoin` always starts a new job.
 *
 * Timeouts are measured with the store's clock. A job that has waiters
 * checks its deadline at least every 250 ms of real time, so waiters of an
 * abandoned job are released even when a test moves a manual clock past the
 * deadline. That timer exists only while someone waits: like a pending
 * `fetch`, a pending `waitFor` keeps the process running, because its caller
 * still has work to do once it returns. An idle store holds no timer. Jobs without waiters need no
 * timer: their timeout is noticed at the next call for their key. Finished
 * jobs are dropped lazily; memory does not grow with the number of keys
 * ever seen.
 *
 * @typeParam T The type of a job's result.
 *
 * @example One request, many callers
 * ```ts
 * import { MemoryDedupeStore } from "@sluice/http";
 *
 * const store = new MemoryDedupeStore<string>();
 * const first = await store.registerOrJoin("GET /users/1");
 * const second = await store.registerOrJoin("GET /users/1");
 * const waiting = store.waitFor("GET /users/1");
 * await store.complete("GET /users/1", "Ada");
 * console.log(first.isOwner, second.isOwner, await waiting); // true false "Ada"
 * await store.close();
 * ```
 */
export class MemoryDedupeStore<T = unknown> implements DedupeStore<T> {
  readonly #jobTimeoutMs: number;
  readonly #graceMs: number;
  readonly #clock: Clock;
  readonly #jobs = new Map<string, _Job<T>>();
  #sweepAt = 1024;
  #closed = false;

  /**
   * Creates a store with no jobs.
   *
   * @param options Timeout, grace and clock.
   * @throws {ConfigError} When `jobTimeoutMs` is not a positive integer,
   * `completedGraceMs` is negative or above 60 000, or `clock` has no
   * `now()`.
   */
  constructor(options: MemoryDedupeStoreOptions = {}) {
    const {
      jobTimeoutMs = 300_000,
      completedGraceMs = 1_000,
      clock = systemClock,
    } = options;
    this.#jobTimeoutMs = positiveInteger(
      COMPONENT,
      "jobTimeoutMs",
      jobTimeoutMs,
    );
    this.#graceMs = validCompletedGraceMs(COMPONENT, completedGraceMs);
    this.#clock = validClock(COMPONENT, clock);
  }

  /**
   * How many jobs are held: running ones, and finished ones whose grace may
   * not have been dropped yet.
   */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Starts a new job for `hash` owned by the caller. A job still running for
   * `hash` is superseded: its waiters receive `undefined`.
   *
   * @param hash The job's key.
   * @returns The new job id.
   */
  register(hash: string): Promise<string> {
    if (this.#closed) return Promise.reject(closedError(COMPONENT, "register"));
    const current = this.#current(hash, this.#clock.now());
    if (current?.state === "running") {
      this.#settle(current, "failed", undefined);
    }
    return Promise.resolve(this.#start(hash).id);
  }

  /**
   * Joins the running job for `hash`, or starts one owned by the caller when
   * none runs (or the last one ran past `jobTimeoutMs`).
   *
   * @param hash The job's key.
   * @returns The job id, and whether the caller owns it.
   */
  registerOrJoin(hash: string): Promise<DedupeRegistration> {
    if (this.#closed) {
      return Promise.reject(closedError(COMPONENT, "registerOrJoin"));
    }
    const current = this.#current(hash, this.#clock.now());
    if (current?.state === "running") {
      return Promise.resolve({ jobId: current.id, isOwner: false });
    }
    return Promise.resolve({ jobId: this.#start(hash).id, isOwner: true });
  }

  /**
   * Waits for the job of `hash` to settle.
   *
   * @param hash The job's key.
   * @param options An optional abort signal.
   * @returns The owner's value; `undefined` when the owner failed or timed
   * out, when the store closed, or when no job runs and none completed
   * within the grace.
   * @throws The signal's reason when `options.signal` aborts.
   */
  waitFor(hash: string, options: WaitForOptions = {}): Promise<T | undefined> {
    if (this.#closed) return Promise.reject(closedError(COMPONENT, "waitFor"));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const job = this.#current(hash, this.#clock.now());
    if (job === undefined) return Promise.resolve(undefined);
    if (job.state !== "running") return Promise.resolve(job.value);
    return new Promise<T | undefined>((resolve, reject) => {
      const onAbort = (): void => {
        job.waiters.delete(waiter);
        if (job.waiters.size === 0) this.#stopTimer(job);
        reject(signal!.reason);
      };
      const waiter: _Waiter<T> = {
        settle: (value) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(value);
        },
      };
      job.waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#watch(job);
    });
  }

  /**
   * Completes the job of `hash` and hands `value` to its waiters. Waiters
   * that call `waitFor` within the grace receive it too.
   *
   * @param hash The job's key.
   * @param value The result.
   */
  complete(hash: string, value: T): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(COMPONENT, "complete"));
    const now = this.#clock.now();
    let job = this.#current(hash, now);
    if (job === undefined || job.state !== "running") {
      job = new _Job<T>(crypto.randomUUID(), now);
      this.#jobs.set(hash, job);
    }
    this.#settle(job, "completed", value);
    return Promise.resolve();
  }

  /**
   * Fails the job of `hash`: its waiters receive `undefined`. Never rejects
   * and never leaves a rejection unhandled.
   *
   * @param hash The job's key.
   * @param _error Why the job failed; not kept.
   */
  fail(hash: string, _error: Error): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(COMPONENT, "fail"));
    const job = this.#current(hash, this.#clock.now());
    if (job?.state === "running") this.#settle(job, "failed", undefined);
    return Promise.resolve();
  }

  /**
   * Tells whether a job for `hash` runs and is within its timeout.
   *
   * @param hash The job's key.
   */
  isInProgress(hash: string): Promise<boolean> {
    if (this.#closed) {
      return Promise.reject(closedError(COMPONENT, "isInProgress"));
    }
    const job = this.#current(hash, this.#clock.now());
    return Promise.resolve(job?.state === "running");
  }

  /**
   * Wakes every waiter with `undefined` and drops all jobs. Later calls
   * reject with a `StoreError`. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#jobs.values()) {
      if (job.state === "running") this.#settle(job, "failed", undefined);
    }
    this.#jobs.clear();
    return Promise.resolve();
  }

  /**
   * The job of `hash` as of `now`: a running job past its timeout is failed,
   * a failed job is forgotten, and so is a completed job past the grace.
   */
  #current(hash: string, now: number): _Job<T> | undefined {
    const job = this.#jobs.get(hash);
    if (job === undefined) return undefined;
    if (job.state === "running") {
      if (now - job.startedAt < this.#jobTimeoutMs) return job;
      this.#settle(job, "failed", undefined);
    }
    // A failed job answers `undefined`, exactly like no job, so only a
    // completed one is kept, and only for the grace.
    if (job.state === "failed" || now - job.settledAt >= this.#graceMs) {
      this.#jobs.delete(hash);
      return undefined;
    }
    return job;
  }

  #start(hash: string): _Job<T> {
    if (this.#jobs.size >= this.#sweepAt) this.#sweep();
    const job = new _Job<T>(crypto.randomUUID(), this.#clock.now());
    this.#jobs.set(hash, job);
    return job;
  }

  #settle(job: _Job<T>, state: _State, value: T | undefined): void {
    job.state = state;
    job.value = value;
    job.settledAt = this.#clock.now();
    this.#stopTimer(job);
    const waiters = [...job.waiters];
    job.waiters.clear();
    for (const waiter of waiters) waiter.settle(value);
  }

  /** Releases the waiters of `job` once it runs past its timeout. */
  #watch(job: _Job<T>): void {
    if (job.timer !== undefined) return;
    const remaining = job.startedAt + this.#jobTimeoutMs - this.#clock.now();
    const delay = Math.max(0, Math.min(TIMEOUT_POLL_MS, remaining));
    const timer = setTimeout(() => {
      job.timer = undefined;
      if (job.state !== "running" || job.waiters.size === 0) return;
      if (this.#clock.now() - job.startedAt >= this.#jobTimeoutMs) {
        this.#settle(job, "failed", undefined);
      } else {
        this.#watch(job);
      }
    }, delay);
    job.timer = timer;
  }

  #stopTimer(job: _Job<T>): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const hash of [...this.#jobs.keys()]) this.#current(hash, now);
    this.#sweepAt = Math.max(1024, this.#jobs.size * 2);
  }
}

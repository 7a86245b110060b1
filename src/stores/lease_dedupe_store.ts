/**
 * The dedupe store policy, written once over the lease primitive of
 * {@linkcode LeaseBackend}: every sluice dedupe store (memory, libSQL,
 * Upstash) is this class with its own backend, and so is any store a third
 * party builds on a backend of its own.
 *
 * @module
 */

import { deadline } from "../_clock_deadline.ts";
import { type Clock, systemClock } from "../clock.ts";
import { timerDelay } from "../_store_deadline.ts";
import { _emitStoreEvent } from "./store_events.ts";
import { ConfigError, StoreError } from "../errors.ts";
import { validCompletedGraceMs } from "./_dedupe_grace.ts";
import { positiveInteger, validClock } from "./_validate.ts";
import { registerSyncDedupe, syncLease } from "./_sync_dedupe.ts";
import type { LeaseBackend, LeaseClaim, LeasePeek } from "./lease.ts";
import type {
  DedupeRegistration,
  DedupeStore,
  DedupeStoreEvent,
  DedupeStoreStats,
  WaitForOptions,
} from "./types.ts";

/**
 * How results travel through a backend: encoded before they are stored,
 * decoded for each waiter, and measured against `maxEntrySizeBytes`.
 *
 * @typeParam E The encoded form the backend stores.
 */
export interface LeaseCodec<E> {
  /**
   * Encodes a result.
   *
   * @param value The result an owner completed with.
   * @returns Its encoded form.
   * @throws When the value cannot be encoded.
   */
  encode(value: unknown): E;
  /**
   * Decodes a stored result. Each waiter receives its own decoding.
   *
   * @param encoded What the backend returned.
   * @returns The result.
   * @throws When the stored form is not one `encode` wrote.
   */
  decode(encoded: E): unknown;
  /**
   * Measures an encoded result.
   *
   * @param encoded An encoded result.
   * @returns Its size in bytes, as the backend stores it.
   */
  size(encoded: E): number;
}

/** The options every lease-based dedupe store takes. */
export interface LeaseDedupeStoreOptions {
  /**
   * How long an owner holds its lease, in milliseconds. An owner that has
   * not settled by then (it crashed, or hangs) is replaced: its waiters
   * receive `undefined` and the next `registerOrJoin` becomes owner. A
   * positive integer.
   *
   * @default {300_000}
   */
  jobTimeoutMs?: number;
  /**
   * How long after completion a job still answers a `waitFor` from a caller
   * that had not joined it, in milliseconds. A completed job is not a
   * cache, so this is short: a non-negative number of at most 60 000.
   * Waiters that joined the job while it ran receive its result whatever
   * the grace.
   *
   * @default {1_000}
   */
  completedGraceMs?: number;
  /**
   * The shortest delay between two checks of a waiting job, in
   * milliseconds. A waiter checks the job at once, then every
   * `pollIntervalMs` at first; later checks space out in proportion to the
   * time already waited (a quarter of it), up to `maxPollIntervalMs`. All
   * waiters of one key in one store share these checks, and a settle made
   * through the same store wakes them without one. A positive integer.
   *
   * @default {2}
   */
  pollIntervalMs?: number;
  /**
   * The longest delay between two checks of a waiting job, in
   * milliseconds. It trades cost for promptness: a waiter in another
   * process learns of a result on average half of it after the result
   * arrives, and a long wait costs `1000 / maxPollIntervalMs` checks per
   * second and key (50 by default; raise it where each request is billed
   * and a few hundred milliseconds of delay do not matter). A positive
   * integer, at least `pollIntervalMs`.
   *
   * @default {20}
   */
  maxPollIntervalMs?: number;
  /**
   * The largest encoded result shared with waiters, in bytes. A larger
   * result fails the job for its waiters (they receive `undefined` and may
   * elect a new owner) and is reported as `dedupe.skipped`. A positive
   * integer.
   *
   * @default {1_048_576}
   */
  maxEntrySizeBytes?: number;
  /**
   * Receives skipped and corrupt results. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: (event: DedupeStoreEvent) => void;
  /**
   * Measures the store's own waits: the delays between checks of a waiting
   * job, and the backend's timeout on each check. Each ends when it has
   * passed on real timers or, for a clock with `sleep()` (such as
   * `ManualClock`), in the clock's time, whichever comes first: moving a
   * test clock brings a check forward, and a clock nobody moves still
   * lets waiters see what other processes do. Lease expiry is the
   * backend's own time.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** What a store built on {@linkcode LeaseDedupeStore} hands to the policy. */
export interface LeaseDedupeStoreSetup<E> {
  /** The store's name in errors, for example `"LibsqlDedupeStore"`. */
  component: string;
  /** The lease primitive of the backend. */
  backend: LeaseBackend<E>;
  /** How results are encoded for the backend. */
  codec: LeaseCodec<E>;
  /**
   * The store's own defaults for the options its user left out.
   *
   * @default {{}}
   */
  defaults?: LeaseDedupeStoreOptions;
}

/**
 * A waiter checks `1 / GROWTH` of the time it has already waited later, so
 * the delay between a result and a cross-process waiter learning of it
 * stays a small fraction of the job's length until `maxPollIntervalMs`.
 */
const GROWTH = 4;
/** The least time a settled outcome stays readable for the waiters that joined it. */
const MIN_RETENTION_MS = 1_000;

const DEFAULTS: Required<
  Omit<LeaseDedupeStoreOptions, "onEvent" | "clock">
> = {
  jobTimeoutMs: 300_000,
  completedGraceMs: 1_000,
  pollIntervalMs: 2,
  maxPollIntervalMs: 20,
  maxEntrySizeBytes: 1_048_576,
};

interface _Waiter<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The waiters of one key in one store, and their shared checks. */
interface _Watch<T> {
  readonly waiters: Set<_Waiter<T>>;
  /** Cancels the next check, while one is due. */
  cancel: (() => void) | undefined;
  /** The job a check saw running: its outcome answers these waiters, grace or not. */
  followed: string | undefined;
  /** The sum of the delays between checks so far. */
  waited: number;
}

/**
 * A {@linkcode DedupeStore} over a {@linkcode LeaseBackend}: the policy of
 * every sluice dedupe store, written once.
 *
 * - Ownership is the backend's lease: `registerOrJoin` is one `claim`, so
 *   among any number of callers in any number of processes exactly one
 *   owns, and an owner that dies is replaced once its lease
 *   (`jobTimeoutMs`) runs out.
 * - A completed job is not a cache: its result answers the waiters that
 *   joined while it ran, and others only within `completedGraceMs`. A later
 *   `registerOrJoin` starts a new job, and tells its owner what the new job
 *   replaced (`previous`).
 * - `fail` fails only the job this store registered, never one that took
 *   it over; `complete` settles whichever job runs, since a late result
 *   still answers the waiters of the job that took over.
 * - A result too large for `maxEntrySizeBytes` fails the job for its
 *   waiters, and one that cannot be decoded reaches them as `undefined`;
 *   both are reported through `onEvent`.
 * - Waiters of one key in one store share one series of checks, each
 *   bounded by the backend's timeout; a settle made through the same store
 *   wakes them at once. `waitFor` honours its signal, and `close()` wakes
 *   every waiter with `undefined`.
 *
 * @typeParam T The type of a job's result.
 * @typeParam E The encoded form of a result in the backend.
 *
 * @example A dedupe store on a backend of your own
 * ```ts
 * import { LeaseDedupeStore, type LeaseBackend } from "@sluice/http";
 *
 * class MyDedupeStore<T> extends LeaseDedupeStore<T, string> {
 *   constructor(backend: LeaseBackend<string>) {
 *     super({
 *       component: "MyDedupeStore",
 *       backend,
 *       codec: {
 *         encode: (value) => JSON.stringify(value),
 *         decode: (text) => JSON.parse(text),
 *         size: (text) => new TextEncoder().encode(text).byteLength,
 *       },
 *     }, { jobTimeoutMs: 60_000 });
 *   }
 * }
 * ```
 */
export class LeaseDedupeStore<T = unknown, E = unknown>
  implements DedupeStore<T>, AsyncDisposable {
  readonly #component: string;
  readonly #backend: LeaseBackend<E>;
  readonly #codec: LeaseCodec<E>;
  readonly #jobTimeoutMs: number;
  readonly #graceMs: number;
  readonly #retentionMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxPollIntervalMs: number;
  readonly #maxEntrySizeBytes: number;
  readonly #onEvent: ((event: DedupeStoreEvent) => void) | undefined;
  readonly #clock: Clock;
  readonly #watches = new Map<string, _Watch<T>>();
  /** The jobs this store owns and has not settled, by key. */
  readonly #owned = new Map<string, string>();
  #closed = false;

  /**
   * Creates the store. Nothing is sent to the backend until the first
   * operation.
   *
   * @param setup The store's name, backend, codec and defaults.
   * @param options The user's options.
   * @throws {ConfigError} When an option is invalid: `jobTimeoutMs`,
   * `pollIntervalMs`, `maxPollIntervalMs` or `maxEntrySizeBytes` is not a
   * positive integer, `maxPollIntervalMs` is below `pollIntervalMs`,
   * `completedGraceMs` is negative or above 60 000, `onEvent` is not a
   * function, or `clock` has no `now()`.
   */
  constructor(
    setup: LeaseDedupeStoreSetup<E>,
    options: LeaseDedupeStoreOptions = {},
  ) {
    const { component, backend, codec } = setup;
    const defaults = { ...DEFAULTS, ...setup.defaults };
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(component, "options", options, "an object");
    }
    const {
      jobTimeoutMs = defaults.jobTimeoutMs,
      completedGraceMs = defaults.completedGraceMs,
      pollIntervalMs = defaults.pollIntervalMs,
      maxPollIntervalMs = defaults.maxPollIntervalMs,
      maxEntrySizeBytes = defaults.maxEntrySizeBytes,
      onEvent = defaults.onEvent,
      clock = defaults.clock ?? systemClock,
    } = options;
    this.#component = component;
    this.#backend = backend;
    this.#codec = codec;
    this.#jobTimeoutMs = positiveInteger(
      component,
      "jobTimeoutMs",
      jobTimeoutMs,
    );
    this.#graceMs = validCompletedGraceMs(component, completedGraceMs);
    this.#pollIntervalMs = positiveInteger(
      component,
      "pollIntervalMs",
      pollIntervalMs,
    );
    this.#maxPollIntervalMs = positiveInteger(
      component,
      "maxPollIntervalMs",
      maxPollIntervalMs,
    );
    if (this.#maxPollIntervalMs < this.#pollIntervalMs) {
      throw new ConfigError(
        component,
        "maxPollIntervalMs",
        maxPollIntervalMs,
        `at least pollIntervalMs (${this.#pollIntervalMs})`,
      );
    }
    this.#maxEntrySizeBytes = positiveInteger(
      component,
      "maxEntrySizeBytes",
      maxEntrySizeBytes,
    );
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new ConfigError(component, "onEvent", onEvent, "a function");
    }
    this.#onEvent = onEvent;
    this.#clock = validClock(component, clock);
    // Waiters that joined a job find its outcome at their next check,
    // however short the grace for everyone else.
    this.#retentionMs = Math.ceil(
      Math.max(this.#graceMs, 4 * this.#maxPollIntervalMs, MIN_RETENTION_MS),
    );
    const sync = syncLease<E>(backend);
    if (sync !== undefined) {
      registerSyncDedupe<T>(this, {
        registerOrJoin: (hash) => {
          this.#assertOpen("registerOrJoin");
          return this.#claimed(
            hash,
            sync.claim(hash, crypto.randomUUID(), this.#jobTimeoutMs, true),
          );
        },
        complete: (hash, value) =>
          this.#complete(hash, value, (...args) => sync.settle(...args)),
      });
    }
  }

  /**
   * Starts a new job for `hash` owned by the caller: one claim. A job still
   * running is superseded, and its waiters receive `undefined`.
   *
   * @param hash The job's key.
   * @returns The new job id.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  async register(hash: string): Promise<string> {
    return (await this.#claim("register", hash, false)).jobId;
  }

  /**
   * Joins the running job for `hash`, or becomes its owner when none runs
   * (or its owner's lease ran out): one claim, atomic across processes.
   *
   * @param hash The job's key.
   * @returns The job id, whether the caller owns it, and for an owner what
   * its job replaced.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  registerOrJoin(hash: string): Promise<DedupeRegistration> {
    return this.#claim("registerOrJoin", hash, true);
  }

  /**
   * Waits for the job of `hash` to settle.
   *
   * @param hash The job's key.
   * @param options An optional abort signal.
   * @returns The owner's result; `undefined` when it failed or its lease
   * ran out, when the result could not be shared, when the store closed,
   * or when no job runs and none completed within the grace.
   * @throws The signal's reason when `options.signal` aborts.
   * @throws {StoreError} When the store is closed, or a check of the job
   * fails or outlasts the backend's timeout.
   */
  waitFor(hash: string, options: WaitForOptions = {}): Promise<T | undefined> {
    const { signal, jobId } = options;
    if (this.#closed) return Promise.reject(this.#closedError("waitFor"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T | undefined>((resolve, reject) => {
      let watch = this.#watches.get(hash);
      const fresh = watch === undefined;
      if (watch === undefined) {
        watch = {
          waiters: new Set(),
          cancel: undefined,
          followed: undefined,
          waited: 0,
        };
        this.#watches.set(hash, watch);
      }
      // A caller that names the job it joined follows that job from the
      // first check, so its result is its answer even past the grace.
      if (typeof jobId === "string" && watch.followed === undefined) {
        watch.followed = jobId;
      }
      const current = watch;
      const waiter: _Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          current.waiters.delete(waiter);
          reject(signal.reason);
          if (current.waiters.size === 0) this.#drop(hash, current);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      current.waiters.add(waiter);
      if (fresh) void this.#check(hash, current);
    });
  }

  /**
   * Completes the job of `hash` and hands `value` to its waiters in every
   * process: one settle. This store's own waiters receive it at once.
   *
   * @param hash The job's key.
   * @param value The result.
   * @throws {StoreError} When the store is closed, the value cannot be
   * encoded, or the backend fails.
   */
  async complete(hash: string, value: T): Promise<void> {
    await this.#complete(
      hash,
      value,
      (...args) => this.#backend.settle(...args),
    );
  }

  // Settles the owner's job as completed through `settle`: at once when it
  // answers at once, else once it resolves. A result too large to share
  // fails the job instead.
  #complete(
    hash: string,
    value: T,
    settle: (
      ...args: Parameters<LeaseBackend<E>["settle"]>
    ) => boolean | Promise<boolean>,
  ): void | Promise<void> {
    const encoded = this.#encoded(hash, value);
    if (encoded === undefined) return this.#fail(hash);
    const jobId = this.#owned.get(hash);
    const settled = settle(
      hash,
      jobId ?? crypto.randomUUID(),
      "completed",
      encoded.value,
      this.#retentionMs,
    );
    const done = (): void => this.#completed(hash, jobId, encoded.value);
    if (typeof settled === "boolean") return done();
    return settled.then(done);
  }

  // The encoded result an owner completes with; `undefined` (reported)
  // when it is too large to share, so that the job fails instead.
  #encoded(hash: string, value: T): { value: E } | undefined {
    this.#assertOpen("complete");
    let encoded: E;
    try {
      encoded = this.#codec.encode(value);
    } catch (error) {
      throw new StoreError(
        `Cannot complete on ${this.#component}: the result cannot be encoded (${
          _message(error)
        })`,
        this.#backend.backend,
        "complete",
        { cause: error },
      );
    }
    const bytes = this.#codec.size(encoded);
    if (bytes > this.#maxEntrySizeBytes) {
      this.#emit({
        type: "dedupe.skipped",
        key: hash,
        bytes,
        limit: this.#maxEntrySizeBytes,
      });
      return undefined;
    }
    return { value: encoded };
  }

  // What follows a completion the backend recorded: this store no longer
  // owns the job, and its waiters receive the result.
  #completed(hash: string, jobId: string | undefined, encoded: E): void {
    this.#release(hash, jobId);
    const watch = this.#watches.get(hash);
    if (watch !== undefined) this.#deliver(hash, watch, { encoded });
  }

  /**
   * Fails the job of `hash`: its waiters receive `undefined`, and the next
   * `registerOrJoin` in any process becomes owner. When this store
   * registered the job, only that job is failed, not one that took it over.
   *
   * @param hash The job's key.
   * @param _error Why the job failed; not stored.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  async fail(hash: string, _error: Error): Promise<void> {
    this.#assertOpen("fail");
    await this.#fail(hash);
  }

  /**
   * Tells whether a job for `hash` runs within its owner's lease: one
   * round trip.
   *
   * @param hash The job's key.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  async isInProgress(hash: string): Promise<boolean> {
    this.#assertOpen("isInProgress");
    return await this.#backend.inProgress(hash);
  }

  /**
   * Counts the jobs the backend holds, by state.
   *
   * @returns The counts.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  async getStats(): Promise<DedupeStoreStats> {
    this.#assertOpen("getStats");
    return await this.#backend.stats();
  }

  /**
   * Removes the jobs whose lease or retention ended, where the backend
   * does not expire them by itself.
   *
   * @returns How many jobs were removed.
   * @throws {StoreError} When the store is closed or the backend fails.
   */
  async cleanup(): Promise<number> {
    this.#assertOpen("cleanup");
    return await this.#backend.cleanup();
  }

  /**
   * Wakes every waiter of this store with `undefined`, stops its checks and
   * releases the backend. Jobs in a shared backend are left to their
   * leases. Later calls reject with a `StoreError`. Safe to call twice.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [hash, watch] of [...this.#watches]) {
      this.#deliver(hash, watch, undefined);
    }
    this.#owned.clear();
    await this.#backend.close();
  }

  /** Same as {@linkcode LeaseDedupeStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #claim(
    operation: string,
    hash: string,
    join: boolean,
  ): Promise<DedupeRegistration> {
    this.#assertOpen(operation);
    const claim = await this.#backend.claim(
      hash,
      crypto.randomUUID(),
      this.#jobTimeoutMs,
      join,
    );
    return this.#claimed(hash, claim);
  }

  // The registration a claim of the backend made.
  #claimed(hash: string, claim: LeaseClaim): DedupeRegistration {
    if (!claim.owner) return { jobId: claim.jobId, isOwner: false };
    this.#owned.set(hash, claim.jobId);
    // This store's waiters were waiting for the job the claim replaced, or
    // for none: either way no result will come for them.
    const watch = this.#watches.get(hash);
    if (watch !== undefined && watch.followed !== claim.jobId) {
      this.#deliver(hash, watch, undefined);
    }
    return { jobId: claim.jobId, isOwner: true, previous: claim.previous };
  }

  async #fail(hash: string): Promise<void> {
    const jobId = this.#owned.get(hash);
    let changed: boolean;
    try {
      changed = await this.#backend.settle(
        hash,
        jobId,
        "failed",
        undefined,
        this.#retentionMs,
      );
    } finally {
      // Whether or not the backend heard it, the job is given up: its lease
      // ends it otherwise.
      this.#release(hash, jobId);
    }
    const watch = this.#watches.get(hash);
    if (changed && watch !== undefined) this.#deliver(hash, watch, undefined);
  }

  /** Forgets that this store owns `jobId`, unless a newer claim replaced it. */
  #release(hash: string, jobId: string | undefined): void {
    if (jobId !== undefined && this.#owned.get(hash) === jobId) {
      this.#owned.delete(hash);
    }
  }

  /** One check of the job the waiters of `hash` wait for. */
  async #check(hash: string, watch: _Watch<T>): Promise<void> {
    watch.cancel = undefined;
    let reply: LeasePeek<E>;
    try {
      reply = await this.#bounded(this.#backend.peek(hash, watch.followed));
    } catch (error) {
      if (this.#watches.get(hash) === watch) this.#reject(hash, watch, error);
      return;
    }
    // Settled through this store, aborted or closed meanwhile.
    if (this.#watches.get(hash) !== watch) return;
    const { followed } = watch;
    const ours = followed !== undefined && reply.jobId === followed;
    if (reply.state === "running" && (followed === undefined || ours)) {
      watch.followed = reply.jobId;
      const delay = Math.min(
        this.#maxPollIntervalMs,
        Math.max(this.#pollIntervalMs, Math.round(watch.waited / GROWTH)),
      );
      watch.waited += delay;
      watch.cancel = _firstOf(
        this.#clock,
        delay,
        () => void this.#check(hash, watch),
      );
      return;
    }
    // A job replaced by another answers nothing; an outcome answers the
    // waiters that joined its job, and anyone else within the grace.
    const answers = reply.state === "completed" &&
      (ours || reply.settledAgoMs < this.#graceMs);
    this.#deliver(
      hash,
      watch,
      answers ? { encoded: reply.value as E } : undefined,
    );
  }

  /**
   * Bounds one backend call by the backend's own timeout. A call that has
   * answered within a microtask (an in-memory backend) arms no timer.
   */
  async #bounded<R>(pending: Promise<R>): Promise<R> {
    let settled = false;
    const mark = (): void => {
      settled = true;
    };
    pending.then(mark, mark);
    await undefined;
    if (settled) return pending;
    const { timeoutMs, backend } = this.#backend;
    let cancel: (() => void) | undefined;
    const late = new Promise<never>((_, reject) => {
      cancel = _firstOf(this.#clock, timerDelay(timeoutMs), () => {
        reject(
          new StoreError(
            `Cannot waitFor on ${this.#component}: the backend did not answer within ${timeoutMs} ms`,
            backend,
            "waitFor",
          ),
        );
      });
    });
    return Promise.race([pending, late]).finally(() => cancel!());
  }

  /** Hands the waiters of `hash` their result: decoded for each, or `undefined`. */
  #deliver(
    hash: string,
    watch: _Watch<T>,
    result: { encoded: E } | undefined,
  ): void {
    this.#drop(hash, watch);
    let corrupt = false;
    for (const waiter of watch.waiters) {
      _forget(waiter);
      if (result === undefined || corrupt) {
        waiter.resolve(undefined);
        continue;
      }
      try {
        waiter.resolve(this.#codec.decode(result.encoded) as T);
      } catch (error) {
        // An undecodable result is no result: waiters elect a new owner.
        corrupt = true;
        this.#emit({
          type: "dedupe.corrupt",
          key: hash,
          reason: _message(error),
        });
        waiter.resolve(undefined);
      }
    }
    watch.waiters.clear();
  }

  #reject(hash: string, watch: _Watch<T>, error: unknown): void {
    this.#drop(hash, watch);
    const failure = error instanceof StoreError ? error : new StoreError(
      `Cannot waitFor on ${this.#component}: ${_message(error)}`,
      this.#backend.backend,
      "waitFor",
      { cause: error },
    );
    for (const waiter of watch.waiters) {
      _forget(waiter);
      waiter.reject(failure);
    }
    watch.waiters.clear();
  }

  #drop(hash: string, watch: _Watch<T>): void {
    watch.cancel?.();
    watch.cancel = undefined;
    if (this.#watches.get(hash) === watch) this.#watches.delete(hash);
  }

  #emit(event: DedupeStoreEvent): void {
    _emitStoreEvent(this.#onEvent, event);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw this.#closedError(operation);
  }

  #closedError(operation: string): StoreError {
    return new StoreError(
      `Cannot ${operation} on a closed ${this.#component}`,
      this.#backend.backend,
      operation,
    );
  }
}

function _forget<T>(waiter: _Waiter<T>): void {
  if (waiter.onAbort !== undefined) {
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }
}

function _message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Calls `onPass` once, when `ms` has passed on a real timer or on `clock`,
 * whichever is first, unless the returned function is called before.
 */
function _firstOf(
  clock: Clock,
  ms: number,
  onPass: () => void,
): () => void {
  if (typeof clock.sleep !== "function" || clock.sleep === systemClock.sleep) {
    return deadline(clock, ms, onPass);
  }
  let done = false;
  const pass = (): void => {
    if (done) return;
    done = true;
    cancelClock();
    clearTimeout(timer);
    onPass();
  };
  const timer = setTimeout(pass, ms);
  const cancelClock = deadline(clock, ms, pass);
  return () => {
    done = true;
    cancelClock();
    clearTimeout(timer);
  };
}

import { type Clock, systemClock } from "../../clock.ts";
import {
  type LeaseCodec,
  LeaseDedupeStore,
  type LeaseDedupeStoreOptions,
} from "../lease_dedupe_store.ts";
import { _MemoryLeaseBackend } from "./_lease_backend.ts";
import { validClock } from "./_options.ts";

const COMPONENT = "MemoryDedupeStore";

/**
 * How often, in real time, a job with waiters checks whether it ran past its
 * timeout by the store's clock. Every other outcome reaches the waiters at
 * once, since every settle goes through the store that holds them.
 */
const TIMEOUT_CHECK_MS = 250;

/** Values are held as they are: every waiter receives the owner's value. */
const AS_IS: LeaseCodec<never> = {
  encode: (value) => value as never,
  decode: (value) => value,
  size: () => 0,
};

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
   * The time source for timeouts and the grace, and for the checks of a
   * waiting job.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/**
 * A {@linkcode DedupeStore} held in process memory: single-flight
 * coordination between the callers of one process, with the policy of
 * every sluice dedupe store ({@linkcode LeaseDedupeStore}) over a lease
 * backend in a `Map`.
 *
 * - `registerOrJoin` is atomic: it runs in one synchronous step, so among
 *   any number of concurrent callers exactly one becomes owner.
 * - Waiters receive the owner's value on `complete` at once (the very
 *   value, not a copy), and `undefined` on `fail`, on timeout, or on
 *   `close`; `waitFor` never rejects except when its signal aborts or the
 *   store is closed.
 * - A completed job answers `waitFor` for `completedGraceMs`, then is
 *   forgotten. A later `registerOrJoin` always starts a new job.
 *
 * Timeouts are measured with the store's clock. A job that has waiters
 * checks its deadline every 250 ms of real time, so waiters of an abandoned
 * job are released even when a test moves a manual clock past the
 * deadline. That timer exists only while someone waits: like a pending
 * `fetch`, a pending `waitFor` keeps the process running, because its
 * caller still has work to do once it returns. An idle store holds no
 * timer. Finished and abandoned jobs are dropped in sweeps as new keys
 * arrive; memory does not grow with the number of keys ever seen.
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
export class MemoryDedupeStore<T = unknown> extends LeaseDedupeStore<T, T> {
  readonly #backend: _MemoryLeaseBackend<T>;

  /**
   * Creates a store with no jobs.
   *
   * @param options Timeout, grace and clock.
   * @throws {ConfigError} When `jobTimeoutMs` is not a positive integer,
   * `completedGraceMs` is negative or above 60 000, or `clock` has no
   * `now()`.
   */
  constructor(options: MemoryDedupeStoreOptions = {}) {
    const { clock = systemClock, ...rest } = options;
    const backend = new _MemoryLeaseBackend<T>(validClock(COMPONENT, clock));
    const policy: LeaseDedupeStoreOptions = { clock };
    if (rest.jobTimeoutMs !== undefined) {
      policy.jobTimeoutMs = rest.jobTimeoutMs;
    }
    if (rest.completedGraceMs !== undefined) {
      policy.completedGraceMs = rest.completedGraceMs;
    }
    super({
      component: COMPONENT,
      backend,
      codec: AS_IS,
      defaults: {
        pollIntervalMs: TIMEOUT_CHECK_MS,
        maxPollIntervalMs: TIMEOUT_CHECK_MS,
      },
    }, policy);
    this.#backend = backend;
  }

  /**
   * How many jobs are held: running ones, and finished or abandoned ones
   * not swept yet.
   */
  get size(): number {
    return this.#backend.size;
  }
}

/**
 * {@linkcode RetryingCacheStore}: a cache store decorator that tries an
 * operation again after a network or service failure.
 *
 * @module
 */

import { sleepOn } from "../../_clock_sleep.ts";
import { DEFAULT_STORE_TIMEOUT_MS } from "../../_store_deadline.ts";
import { type Clock, systemClock } from "../../clock.ts";
import { ConfigError } from "../../errors.ts";
import {
  nonNegativeNumber,
  positiveInteger,
  validClock,
} from "../_validate.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  optionalFunction,
  optionsObject,
  setOn,
} from "./_inner.ts";
import { isTransientStoreError } from "./_transient.ts";

const COMPONENT = "RetryingCacheStore";
/** The most tries of one operation. */
const MAX_ATTEMPTS = 10;

/** Options for {@linkcode RetryingCacheStore}. */
export interface RetryingCacheStoreOptions {
  /**
   * The most tries of one operation, the first included: `2` tries once
   * more after a failure. An integer from 1 to 10.
   *
   * @default {2}
   */
  attempts?: number;
  /**
   * The wait before the first retry, in milliseconds; each later retry
   * waits twice as long as the one before. A non-negative number.
   *
   * @default {25}
   */
  delayMs?: number;
  /**
   * The time every try of one operation must fit in, waits included, in
   * milliseconds: no retry starts when its wait would end past it. Set it
   * to the client's `storeTimeoutMs`, which bounds each store call: past
   * it the client has stopped waiting, and a retry would only load a store
   * that is already struggling. A positive integer.
   *
   * @default {5_000} (the client's default `storeTimeoutMs`)
   */
  storeTimeoutMs?: number;
  /**
   * The clock the waits are measured on (its `sleep()` when it has one).
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * Decides whether a failure is worth another try. By default, a
   * `StoreError` caused by the network (a failed `fetch`, a refused or
   * reset connection), by a timeout, by a busy backend (`SQLITE_BUSY`,
   * Redis `LOADING` / `BUSY` / `TRYAGAIN`) or by an HTTP 429 or 5xx is;
   * nothing else is: not a `ConfigError`, a closed store, a value that
   * cannot be encoded, nor a command the backend refused. A function that
   * throws counts as `false`.
   *
   * @default {the rules above}
   */
  retryOn?: (error: unknown) => boolean;
}

/**
 * A {@linkcode CacheStore} that tries an operation again when the store it
 * wraps fails for a reason that may pass: a dropped connection, a timeout,
 * a busy server. Every operation of a cache is idempotent, so each is
 * retried:
 *
 * - `get`, `delete`, `clear`, `getStats` and `cleanup` change nothing, or
 *   end in the same state however often they run;
 * - `set` writes the same value under the same key each time. A retried
 *   write's TTL counts from the try that lands, at most `storeTimeoutMs`
 *   later than the first; and should the first try have landed after all,
 *   the retry writes the same value again. Only a write of the same key
 *   by another process between the two tries can be overwritten by the
 *   retry, as by any write that arrives late. Its tags go with every try,
 *   and its age grows with the wait, so an invalidation made after the
 *   value was obtained refuses the retry as it would the first try;
 * - `invalidateTags` (when the wrapped store has it) removes the same
 *   entries however often it runs; it resolves the count of the try that
 *   answered, which misses what an earlier try that landed removed.
 *
 * A failure that is not transient (see
 * {@linkcode RetryingCacheStoreOptions.retryOn}) is thrown at once. A
 * corrupt entry is not a failure: the store reads it as a miss, and there
 * is nothing to retry. The error of the last try is thrown as it is.
 *
 * Every try and every wait fits in `storeTimeoutMs`, the bound the client
 * puts on each store call: with the defaults (2 tries, 25 ms) a call that
 * fails fast costs one more round trip 25 ms later, and one whose first
 * try hangs until the store's own timeout is not retried.
 *
 * `getStats()` and `cleanup()` are those of the wrapped store, retried the
 * same way, when it has them. `close()` closes it, once.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example Riding out a dropped connection
 * ```ts ignore
 * import { HttpClient, RetryingCacheStore } from "@sluice/http";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * const cache = new RetryingCacheStore(new UpstashCacheStore({ url, token }), {
 *   attempts: 2,
 *   delayMs: 25,
 *   storeTimeoutMs: 2_000, // the client's own
 * });
 * const client = new HttpClient({
 *   name: "github",
 *   cache: { store: cache },
 *   storeTimeoutMs: 2_000,
 * });
 * ```
 */
export class RetryingCacheStore<T = unknown> implements CacheStore<T> {
  readonly #inner: CacheStore<T> & _CacheStoreExtras;
  readonly #attempts: number;
  readonly #delayMs: number;
  readonly #budgetMs: number;
  readonly #clock: Clock;
  readonly #retryOn: (error: unknown) => boolean;
  /** The wrapped store's counts, when it has `getStats()`; absent otherwise. */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes the wrapped store's expired entries, when it has `cleanup()`;
   * absent otherwise.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags`, retrying a transient
   * failure, when the wrapped store has tag support; absent otherwise.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

  /**
   * Wraps a store.
   *
   * @param inner The store to call.
   * @param options How often and how long to retry, and what.
   * @throws {ConfigError} When `inner` is not a cache store, `attempts` is
   * not an integer from 1 to 10, `delayMs` not a non-negative number,
   * `storeTimeoutMs` not a positive integer, `clock` has no `now()`, or
   * `retryOn` is not a function.
   */
  constructor(
    inner: CacheStore<unknown>,
    options: RetryingCacheStoreOptions = {},
  ) {
    this.#inner = cacheStoreOption<T>(COMPONENT, "inner", inner);
    const record = optionsObject(COMPONENT, options);
    const {
      attempts = 2,
      delayMs = 25,
      storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS,
      clock = systemClock,
      retryOn,
    } = record;
    this.#attempts = positiveInteger(COMPONENT, "attempts", attempts);
    if (this.#attempts > MAX_ATTEMPTS) {
      throw new ConfigError(
        COMPONENT,
        "attempts",
        attempts,
        `an integer from 1 to ${MAX_ATTEMPTS}`,
      );
    }
    this.#delayMs = nonNegativeNumber(COMPONENT, "delayMs", delayMs);
    this.#budgetMs = positiveInteger(
      COMPONENT,
      "storeTimeoutMs",
      storeTimeoutMs,
    );
    this.#clock = validClock(COMPONENT, clock);
    this.#retryOn = optionalFunction<(error: unknown) => boolean>(
      COMPONENT,
      "retryOn",
      retryOn,
    ) ?? isTransientStoreError;
    const { getStats, cleanup, invalidateTags } = this.#inner;
    if (typeof getStats === "function") {
      this.getStats = () => this.#run(() => getStats.call(this.#inner));
    }
    if (typeof cleanup === "function") {
      this.cleanup = () => this.#run(() => cleanup.call(this.#inner));
    }
    if (typeof invalidateTags === "function") {
      this.invalidateTags = (tags) =>
        this.#run(() => invalidateTags.call(this.#inner, tags));
    }
  }

  /**
   * Reads an entry, retrying a transient failure.
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when missing.
   * @throws {StoreError} The last failure.
   */
  get(hash: string): Promise<T | undefined> {
    return this.#run(() => this.#inner.get(hash));
  }

  /**
   * Writes an entry, retrying a transient failure.
   *
   * @param hash The entry's key.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry.
   * @param options Tags and the value's age, passed to the wrapped store.
   * @returns What the wrapped store answered.
   * @throws {StoreError} The last failure.
   */
  set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean> {
    const ageMs = options?.ageMs;
    if (typeof ageMs !== "number" || !(ageMs >= 0) || ageMs === Infinity) {
      return this.#run(() =>
        setOn(this.#inner, hash, value, ttlSeconds, options)
      );
    }
    // Each try gives the value's age at that try, so a retry that lands
    // later still dates the value from when it was obtained.
    const obtainedAt = this.#clock.now() - ageMs;
    return this.#run(() =>
      setOn(this.#inner, hash, value, ttlSeconds, {
        ...options,
        ageMs: Math.max(0, this.#clock.now() - obtainedAt),
      })
    );
  }

  /**
   * Removes an entry, retrying a transient failure.
   *
   * @param hash The entry's key.
   * @throws {StoreError} The last failure.
   */
  delete(hash: string): Promise<void> {
    return this.#run(() => this.#inner.delete(hash));
  }

  /**
   * Removes every entry, or those whose key starts with `prefix`, retrying
   * a transient failure.
   *
   * @param prefix Clears only one client's or scope's keys.
   * @throws {StoreError} The last failure.
   */
  clear(prefix?: string): Promise<void> {
    return this.#run(() => this.#inner.clear(prefix));
  }

  /** Closes the wrapped store, without retrying. Safe to call twice. */
  async close(): Promise<void> {
    await this.#inner.close();
  }

  /** Same as {@linkcode RetryingCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run<R>(call: () => Promise<R>): Promise<R> {
    const started = this.#clock.now();
    for (let attempt = 1;; attempt++) {
      try {
        return await call();
      } catch (error) {
        const waitMs = this.#delayMs * 2 ** (attempt - 1);
        const endsAt = this.#clock.now() + waitMs;
        if (
          attempt >= this.#attempts || endsAt - started >= this.#budgetMs ||
          !this.#worthRetrying(error)
        ) {
          throw error;
        }
        await sleepOn(this.#clock, waitMs);
      }
    }
  }

  #worthRetrying(error: unknown): boolean {
    try {
      return this.#retryOn(error) === true;
    } catch {
      return false;
    }
  }
}

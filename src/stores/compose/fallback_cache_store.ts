/**
 * {@linkcode FallbackCacheStore}: cache stores in order of preference, so
 * the cache keeps working while the first one is down.
 *
 * @module
 */

import { ConfigError, isSluiceError, StoreError } from "../../errors.ts";
import { MAX_TAGS_PER_INVALIDATION, setOptions, storeTags } from "../_tags.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  messageOf,
  optionalFunction,
  optionsObject,
  setOn,
} from "./_inner.ts";

const COMPONENT = "FallbackCacheStore";

/** Options for {@linkcode FallbackCacheStore}. */
export interface FallbackCacheStoreOptions {
  /**
   * Receives the failures of an operation that some stores failed and
   * others completed: a {@linkcode StoreError} whose `cause` is an
   * `AggregateError` of the failures, in the order of the stores. The
   * operation itself succeeds. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onError?: (error: StoreError) => void;
}

type _Extended<T> = CacheStore<T> & _CacheStoreExtras;

/**
 * A {@linkcode CacheStore} over several stores in order of preference
 * (`[primary, secondary, ...]`), for a cache that stays up while one store
 * is down.
 *
 * - **Reads** ask the first store; only when it fails, the next, and so
 *   on. A miss is an answer: the next store is not asked for it.
 * - **Writes, deletes and clears** go to every store at once, so that each
 *   is ready to answer when those before it fail. They succeed when at
 *   least one store succeeds; the failures of the others go to `onError`.
 *   `set` resolves `false` when a store that answered refused the value
 *   (too large for it: a read from that store misses), `true` otherwise.
 * - **When every store fails**, the operation throws a
 *   {@linkcode StoreError} (`backend: "fallback"`) listing each failure,
 *   with an `AggregateError` of them as its `cause`.
 *
 * **A store that missed a write.** A store that was down during a write or
 * a delete may still hold the older value when it comes back, and serve it
 * as long as it is the first to answer, until that value's TTL ends. Keep
 * the TTLs short, or clear a store that comes back after an outage.
 *
 * **Only caches.** A rate-limit store or a dedupe store must not fall back
 * this way: two stores would keep two budgets, or elect two owners, and
 * the origin would see up to twice the limit. A fallback is right for a
 * cache alone, where a second copy is only a second copy.
 *
 * **Tags.** When every store has tag support, so does the fallback:
 * writes carry their tags to every store, and `invalidateTags` goes to
 * every store like a delete, succeeding when one does and resolving the
 * largest count any store answered. A store that was down during it may
 * serve entries of those tags when it comes back, as for a delete.
 *
 * `getStats()` reports the counts of the first store that answers, and
 * `cleanup()` cleans every store, summing what they removed; each is
 * present when the first store has it. `close()` closes every store.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example Redis first, process memory while Redis is down
 * ```ts ignore
 * import { FallbackCacheStore, HttpClient, MemoryCacheStore } from "@sluice/http";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * const cache = new FallbackCacheStore(
 *   [new UpstashCacheStore({ url, token }), new MemoryCacheStore()],
 *   { onError: (error) => console.warn(error.message) },
 * );
 * const client = new HttpClient({ name: "github", cache: { store: cache } });
 * ```
 *
 * @example The first answer wins
 * ```ts
 * import { FallbackCacheStore, MemoryCacheStore } from "@sluice/http";
 *
 * const primary = new MemoryCacheStore();
 * const secondary = new MemoryCacheStore();
 * const cache = new FallbackCacheStore([primary, secondary]);
 * await cache.set("a", "both", 60);
 * await primary.close(); // now every call to it fails
 * console.log(await cache.get("a")); // "both", from the secondary
 * ```
 */
export class FallbackCacheStore<T = unknown> implements CacheStore<T> {
  readonly #stores: readonly _Extended<T>[];
  readonly #onError: ((error: StoreError) => void) | undefined;
  /**
   * The counts of the first store that answers, when the first store has
   * `getStats()`; absent otherwise.
   */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes expired entries from every store that has `cleanup()`, when the
   * first one has it; absent otherwise.
   *
   * @returns How many entries the stores removed.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags` from every store, when
   * every store has tag support; absent otherwise.
   *
   * @returns The largest count a store answered.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

  /**
   * Takes the stores, most preferred first.
   *
   * @param stores One or more cache stores, each at most once.
   * @param options Where partial failures are reported.
   * @throws {ConfigError} When `stores` is not a non-empty array of
   * distinct cache stores, or `onError` is not a function.
   */
  constructor(
    stores: readonly CacheStore<unknown>[],
    options: FallbackCacheStoreOptions = {},
  ) {
    if (!Array.isArray(stores) || stores.length === 0) {
      throw new ConfigError(
        COMPONENT,
        "stores",
        stores,
        "a non-empty array of cache stores",
      );
    }
    const checked = stores.map((store, i) =>
      cacheStoreOption<T>(COMPONENT, `stores[${i}]`, store)
    );
    if (new Set(checked).size !== checked.length) {
      throw new ConfigError(
        COMPONENT,
        "stores",
        stores,
        "distinct stores (the same store is listed twice)",
      );
    }
    this.#stores = checked;
    this.#onError = optionalFunction<(error: StoreError) => void>(
      COMPONENT,
      "onError",
      optionsObject(COMPONENT, options).onError,
    );
    if (typeof checked[0]!.getStats === "function") {
      this.getStats = () =>
        this.#first("getStats", (store) => {
          if (typeof store.getStats !== "function") {
            throw new TypeError("the store has no getStats()");
          }
          return store.getStats();
        });
    }
    if (checked.every((store) => typeof store.invalidateTags === "function")) {
      this.invalidateTags = async (tags) => {
        // A bad list is the caller's error, not every store failing.
        const given = storeTags(
          COMPONENT,
          "invalidate tags",
          tags,
          MAX_TAGS_PER_INVALIDATION,
        );
        const removed = await this.#every(
          "invalidateTags",
          (store) => store.invalidateTags!(given),
        );
        return Math.max(0, ...removed);
      };
    }
    if (typeof checked[0]!.cleanup === "function") {
      this.cleanup = async () => {
        const removed = await this.#every(
          "cleanup",
          (store) =>
            typeof store.cleanup === "function"
              ? store.cleanup()
              : Promise.resolve(0),
        );
        return removed.reduce((sum, n) => sum + n, 0);
      };
    }
  }

  /**
   * Reads an entry from the first store that answers.
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when the first store that answers
   * has none.
   * @throws {StoreError} When every store fails.
   */
  get(hash: string): Promise<T | undefined> {
    return this.#first("get", (store) => store.get(hash));
  }

  /**
   * Writes an entry to every store.
   *
   * @param hash The entry's key.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry.
   * @param options Tags and the value's age, passed to every store.
   * @returns `false` when a store that answered did not keep the value,
   * `true` otherwise.
   * @throws {StoreError} When every store fails.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<boolean> {
    if (options !== undefined && this.invalidateTags !== undefined) {
      setOptions(COMPONENT, options);
    }
    const kept = await this.#every(
      "set",
      (store) => setOn(store, hash, value, ttlSeconds, options),
    );
    return !kept.includes(false);
  }

  /**
   * Removes an entry from every store.
   *
   * @param hash The entry's key.
   * @throws {StoreError} When every store fails.
   */
  async delete(hash: string): Promise<void> {
    await this.#every("delete", (store) => store.delete(hash));
  }

  /**
   * Removes every entry, or those whose key starts with `prefix`, from
   * every store.
   *
   * @param prefix Clears only one client's or scope's keys.
   * @throws {StoreError} When every store fails.
   */
  async clear(prefix?: string): Promise<void> {
    await this.#every("clear", (store) => store.clear(prefix));
  }

  /**
   * Closes every store. Safe to call twice.
   *
   * @throws {StoreError} When a store fails to close (every store is still
   * closed).
   */
  async close(): Promise<void> {
    const results = await Promise.allSettled(
      this.#stores.map((store) => _call(() => store.close())),
    );
    if (results.some((result) => result.status === "rejected")) {
      throw _error("close", results);
    }
  }

  /** Same as {@linkcode FallbackCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Asks the stores in order until one answers.
  async #first<R>(
    operation: string,
    call: (store: _Extended<T>) => Promise<R>,
  ): Promise<R> {
    const results: PromiseSettledResult<R>[] = [];
    for (const store of this.#stores) {
      try {
        return await call(store);
      } catch (error) {
        results.push({ status: "rejected", reason: error });
      }
    }
    throw _error(operation, results);
  }

  // Asks every store at once; the answers of those that answered.
  async #every<R>(
    operation: string,
    call: (store: _Extended<T>) => Promise<R>,
  ): Promise<R[]> {
    const results = await Promise.allSettled(
      this.#stores.map((store) => _call(() => call(store))),
    );
    const failed = results.filter((result) => result.status === "rejected");
    if (failed.length === results.length) throw _error(operation, results);
    if (failed.length > 0 && this.#onError !== undefined) {
      try {
        this.#onError(_error(operation, results));
      } catch {
        // A listener never breaks a store operation.
      }
    }
    return results.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : []
    );
  }
}

/** The error listing the failures among `results`, by store index. */
function _error(
  operation: string,
  results: PromiseSettledResult<unknown>[],
): StoreError {
  const errors: unknown[] = [];
  const list: string[] = [];
  results.forEach((result, i) => {
    if (result.status === "fulfilled") return;
    errors.push(result.reason);
    list.push(`[${i}] ${_describe(result.reason)}`);
  });
  const which = errors.length === results.length
    ? `all ${results.length} stores`
    : `${errors.length} of ${results.length} stores`;
  return new StoreError(
    `${COMPONENT} could not ${operation}: ${which} failed: ${list.join("; ")}`,
    "fallback",
    operation,
    { cause: new AggregateError(errors, `${which} failed '${operation}'`) },
  );
}

async function _call<R>(fn: () => Promise<R>): Promise<R> {
  return await fn();
}

function _describe(error: unknown): string {
  if (isSluiceError(error) && error instanceof StoreError) {
    return `${error.backend}: ${error.message}`;
  }
  return messageOf(error);
}

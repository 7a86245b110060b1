/**
 * {@linkcode TieredCacheStore}: a small, fast cache (L1) in front of a
 * shared one (L2).
 *
 * @module
 */

import { type Clock, systemClock } from "../../clock.ts";
import { ConfigError, StoreError } from "../../errors.ts";
import { MAX_TAGS_PER_INVALIDATION, storeTags, tagPrefix } from "../_tags.ts";
import { validClock } from "../_validate.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import { keptAtLeastUntil } from "./_entry_expiry.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  messageOf,
  optionsObject,
  setOn,
} from "./_inner.ts";

const COMPONENT = "TieredCacheStore";

/** Options for {@linkcode TieredCacheStore}. */
export interface TieredCacheStoreOptions {
  /** The first tier: small and fast, usually a `MemoryCacheStore`. */
  l1: CacheStore<unknown>;
  /** The second tier: the store every process shares. */
  l2: CacheStore<unknown>;
  /**
   * The longest an entry stays in L1, in seconds. It bounds how long this
   * process may serve an entry that another process replaced or deleted in
   * L2. A positive finite number.
   *
   * @default {5}
   */
  l1MaxTtlSeconds?: number;
  /**
   * The clock of the client that stores the entries, to tell how long an
   * entry read from L2 has left.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** A read or a write under way, which a later write of its key voids. */
interface _Pending {
  void: boolean;
}

/**
 * A {@linkcode CacheStore} in two tiers: reads try L1 first and go to L2
 * only on an L1 miss, so a hit in L1 costs no round trip to the shared
 * store.
 *
 * - **Reads** try L1, then L2. What L2 answers is put into L1 for at most
 *   `l1MaxTtlSeconds`, and never past when L2 may drop it: a response the
 *   client stored carries its own freshness and stale windows, which the
 *   client's storage TTL always covers, so L1 keeps it no longer than
 *   those; any other value is kept `l1MaxTtlSeconds`. A failing L1 is
 *   skipped.
 * - **Writes** go to L2, then to L1 with the same TTL capped at
 *   `l1MaxTtlSeconds`. When L2 does not keep the value (too large, a
 *   negative TTL) or fails, L1 drops the key too.
 * - **Deletes and clears** go to both tiers.
 * - **Tags**, when L2 has tag support: writes carry them to L2 (L1 holds
 *   its copies untagged, and need not support tags). `invalidateTags`
 *   removes the tagged entries from L2, then clears L1 under each tag's
 *   prefix (the part up to its last `:`: for the client's tags, the
 *   client's or scope's cache keys; all of L1 for a tag without one),
 *   since L1 cannot tell which of its copies carry the tag, and voids
 *   every read under way so that none refills L1 with what was removed.
 *   It resolves L2's count.
 *
 * **Staleness.** Another process's write, delete or tag invalidation
 * reaches L2 only: this process may go on serving what its L1 holds for up
 * to `l1MaxTtlSeconds` after it. Keep it short where a change must show at once everywhere.
 * Within one process, a write or delete always wins over a read of the
 * same key that was under way (the read does not refill L1).
 *
 * `getStats()` reports L2's counts (the shared, complete tier); `cleanup()`
 * cleans both tiers and sums what they removed. Each is present when L2
 * has it. `close()` closes both tiers.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example An in-process cache in front of Redis
 * ```ts ignore
 * import { HttpClient, MemoryCacheStore, TieredCacheStore } from "@sluice/http";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * const cache = new TieredCacheStore({
 *   l1: new MemoryCacheStore({ maxEntries: 500 }),
 *   l2: new UpstashCacheStore({ url, token }),
 *   l1MaxTtlSeconds: 5,
 * });
 * const client = new HttpClient({ name: "github", cache: { store: cache } });
 * ```
 *
 * @example Two memory tiers
 * ```ts
 * import { MemoryCacheStore, TieredCacheStore } from "@sluice/http";
 *
 * const l2 = new MemoryCacheStore();
 * const cache = new TieredCacheStore({ l1: new MemoryCacheStore(), l2 });
 * await l2.set("a", "from l2", 60);
 * console.log(await cache.get("a")); // "from l2", now in L1 for 5 s too
 * ```
 */
export class TieredCacheStore<T = unknown> implements CacheStore<T> {
  readonly #l1: CacheStore<T> & _CacheStoreExtras;
  readonly #l2: CacheStore<T> & _CacheStoreExtras;
  readonly #l1MaxTtlSeconds: number;
  readonly #clock: Clock;
  /** Reads and writes under way, by key. */
  readonly #pending = new Map<string, Set<_Pending>>();
  /** L2's counts, when L2 has `getStats()`; absent otherwise. */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes expired entries of both tiers, when L2 has `cleanup()` (and L1
   * too when it has one); absent otherwise.
   *
   * @returns How many entries both tiers removed.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags` from L2 and clears L1
   * under the tags' prefixes, when L2 has tag support; absent otherwise.
   *
   * @returns How many entries L2 removed.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

  /**
   * Takes the two tiers.
   *
   * @param options The tiers, the L1 TTL cap and the clock.
   * @throws {ConfigError} When `l1` or `l2` is not a cache store, both are
   * the same store, `l1MaxTtlSeconds` is not a positive finite number, or
   * `clock` has no `now()`.
   */
  constructor(options: TieredCacheStoreOptions) {
    const record = optionsObject(COMPONENT, options);
    const { l1MaxTtlSeconds = 5, clock = systemClock } = record;
    this.#l1 = cacheStoreOption<T>(COMPONENT, "l1", record.l1);
    this.#l2 = cacheStoreOption<T>(COMPONENT, "l2", record.l2);
    if (this.#l1 === this.#l2) {
      throw new ConfigError(
        COMPONENT,
        "l2",
        record.l2,
        "another store than 'l1'",
      );
    }
    if (
      typeof l1MaxTtlSeconds !== "number" ||
      !Number.isFinite(l1MaxTtlSeconds) || l1MaxTtlSeconds <= 0
    ) {
      throw new ConfigError(
        COMPONENT,
        "l1MaxTtlSeconds",
        l1MaxTtlSeconds,
        "a positive finite number of seconds",
      );
    }
    this.#l1MaxTtlSeconds = l1MaxTtlSeconds;
    this.#clock = validClock(COMPONENT, clock);
    const l1 = this.#l1;
    const l2 = this.#l2;
    if (typeof l2.getStats === "function") {
      const getStats = l2.getStats;
      this.getStats = () => getStats.call(l2);
    }
    if (typeof l2.invalidateTags === "function") {
      const invalidateTags = l2.invalidateTags;
      this.invalidateTags = async (tags) => {
        const given = storeTags(
          COMPONENT,
          "invalidate tags",
          tags,
          MAX_TAGS_PER_INVALIDATION,
        );
        // Reads and writes under way, before and during the call, must not
        // fill L1 with what it removes.
        this.#voidAll();
        const removed = await invalidateTags.call(l2, given);
        this.#voidAll();
        const prefixes = new Set(given.map(tagPrefix));
        await Promise.all(
          [...prefixes].map((prefix) =>
            _settled(() => l1.clear(prefix === "" ? undefined : prefix))
          ),
        );
        return removed;
      };
    }
    if (typeof l2.cleanup === "function") {
      const cleanup = l2.cleanup;
      this.cleanup = async () => {
        const [first, second] = await Promise.all([
          typeof l1.cleanup === "function" ? l1.cleanup() : 0,
          cleanup.call(l2),
        ]);
        return first + second;
      };
    }
  }

  /**
   * Reads an entry: from L1, or from L2 on an L1 miss (then L1 keeps it).
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when neither tier has it.
   * @throws {StoreError} When L2 fails.
   */
  async get(hash: string): Promise<T | undefined> {
    try {
      const near = await this.#l1.get(hash);
      if (near !== undefined) return near;
    } catch {
      // A failing L1 only costs the round trip to L2.
    }
    const pending = this.#begin(hash);
    let value: T | undefined;
    try {
      value = await this.#l2.get(hash);
    } finally {
      this.#end(hash, pending);
    }
    if (value === undefined || pending.void) return value;
    const ttl = this.#fillTtl(value);
    if (ttl > 0) {
      try {
        await this.#l1.set(hash, value, ttl);
      } catch {
        // The value is served; L1 just does not keep it.
      }
    }
    return value;
  }

  /**
   * Writes an entry to L2, then to L1 for at most `l1MaxTtlSeconds`.
   *
   * @param hash The entry's key.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never (in
   * L2); negative or NaN removes the entry from both tiers.
   * @param options Tags and the value's age, passed to L2.
   * @returns What L2 answered.
   * @throws {StoreError} When L2 fails (L1 then drops the key), or L1 can
   * neither keep the value nor drop the key.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean> {
    this.#voidPending(hash);
    const pending = this.#begin(hash);
    let kept: void | boolean;
    try {
      kept = await setOn(this.#l2, hash, value, ttlSeconds, options);
    } catch (error) {
      this.#end(hash, pending);
      await _settled(() => this.#l1.delete(hash));
      throw error;
    }
    this.#end(hash, pending);
    if (kept === false) {
      await this.#l1.delete(hash);
      return kept;
    }
    // A later write or delete of the key handles L1 itself.
    if (pending.void) return kept;
    const ttl = ttlSeconds === 0
      ? this.#l1MaxTtlSeconds
      : Math.min(ttlSeconds, this.#l1MaxTtlSeconds);
    try {
      await this.#l1.set(hash, value, ttl);
    } catch (error) {
      // An older value must not stay in L1 in place of the one just written.
      try {
        await this.#l1.delete(hash);
      } catch {
        throw new StoreError(
          `Cannot set an entry in ${COMPONENT}: L2 kept it, but L1 could neither keep it nor drop an older value: ${
            messageOf(error)
          }`,
          "tiered",
          "set",
          { cause: error },
        );
      }
    }
    return kept;
  }

  /**
   * Removes an entry from both tiers.
   *
   * @param hash The entry's key.
   * @throws {StoreError} When either tier fails (the other is still asked).
   */
  async delete(hash: string): Promise<void> {
    this.#voidPending(hash);
    await _both(
      "delete",
      () => this.#l1.delete(hash),
      () => this.#l2.delete(hash),
    );
  }

  /**
   * Removes every entry, or those whose key starts with `prefix`, from
   * both tiers.
   *
   * @param prefix Clears only one client's or scope's keys.
   * @throws {StoreError} When either tier fails (the other is still asked).
   */
  async clear(prefix?: string): Promise<void> {
    for (const [key, set] of this.#pending) {
      if (prefix === undefined || key.startsWith(prefix)) {
        for (const pending of set) pending.void = true;
      }
    }
    await _both(
      "clear",
      () => this.#l1.clear(prefix),
      () => this.#l2.clear(prefix),
    );
  }

  /** Closes both tiers. Safe to call twice. */
  async close(): Promise<void> {
    await _both("close", () => this.#l1.close(), () => this.#l2.close());
  }

  /** Same as {@linkcode TieredCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // How long L1 keeps a value read from L2: the cap, or less when the value
  // says L2 may drop it sooner.
  #fillTtl(value: T): number {
    const until = keptAtLeastUntil(value);
    if (until === undefined) return this.#l1MaxTtlSeconds;
    return Math.min(
      this.#l1MaxTtlSeconds,
      (until - this.#clock.now()) / 1000,
    );
  }

  #begin(hash: string): _Pending {
    const pending: _Pending = { void: false };
    let set = this.#pending.get(hash);
    if (set === undefined) {
      set = new Set();
      this.#pending.set(hash, set);
    }
    set.add(pending);
    return pending;
  }

  #end(hash: string, pending: _Pending): void {
    const set = this.#pending.get(hash);
    if (set === undefined) return;
    set.delete(pending);
    if (set.size === 0) this.#pending.delete(hash);
  }

  #voidAll(): void {
    for (const set of this.#pending.values()) {
      for (const pending of set) pending.void = true;
    }
  }

  #voidPending(hash: string): void {
    const set = this.#pending.get(hash);
    if (set === undefined) return;
    for (const pending of set) pending.void = true;
  }
}

/**
 * Runs an operation on both tiers at once; once both ended, throws L2's
 * failure, else L1's.
 */
async function _both(
  operation: string,
  onL1: () => Promise<void>,
  onL2: () => Promise<void>,
): Promise<void> {
  const [l1, l2] = await Promise.allSettled([_call(onL1), _call(onL2)]);
  const failed = l2.status === "rejected" ? l2 : l1;
  if (failed.status === "rejected") {
    const error: unknown = failed.reason;
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      `Cannot ${operation} on ${COMPONENT}: ${messageOf(error)}`,
      "tiered",
      operation,
      { cause: error },
    );
  }
}

/** Calls `fn`; a synchronous throw becomes a rejection. */
async function _call(fn: () => Promise<void>): Promise<void> {
  await fn();
}

/** Calls `fn` and ignores how it ends. */
async function _settled(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch {
    // Ignored on purpose.
  }
}

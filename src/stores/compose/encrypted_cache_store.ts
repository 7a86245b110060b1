/**
 * {@linkcode EncryptedCacheStore}: a cache store decorator that encrypts
 * every value with AES-GCM-256 before it reaches the store it wraps.
 *
 * @module
 */

import { StoreError } from "../../errors.ts";
import { CodecError } from "../codec.ts";
import { ttlToMs } from "../_payload.ts";
import { MAX_TAGS_PER_INVALIDATION, setOptions, storeTags } from "../_tags.ts";
import type { StoreEventListener } from "../store_events.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  corruptMiss,
  messageOf,
  setOn,
} from "./_inner.ts";
import { type _Sealer, open, seal, sealerOptions } from "./_sealed.ts";
import { _TagHasher } from "./_tag_hash.ts";
import type { EncryptionOptions } from "./encryption_options.ts";

const COMPONENT = "EncryptedCacheStore";

/** Options for {@linkcode EncryptedCacheStore}. */
export type EncryptedCacheStoreOptions = EncryptionOptions;

/**
 * A {@linkcode CacheStore} that encrypts every value with AES-GCM-256
 * before handing it to the store it wraps, so that a shared backend (Redis,
 * a database file, a hosted service) never holds a response body, a header
 * value or anything else of a value in the clear.
 *
 * - **What is encrypted.** The whole value: for a cached response its body,
 *   its header names and values, its URL and its status. Each write draws
 *   a fresh random 96-bit IV (`crypto.getRandomValues`).
 * - **What stays visible.** The store keys (the wrapped store needs them
 *   to find entries; the client's keys are hashes, with the client's name
 *   and scopes in the clear), each value's size, its TTL, and the id of
 *   the key that encrypted it.
 * - **Tags.** When the wrapped store has tag support, so does this one. A
 *   tag reaches it hashed: the part after its last `:` (for the client's
 *   tags, the label you chose, such as `user:42` escaped) becomes an
 *   HMAC-SHA-256 under a key derived from the current AES key; the part
 *   before stays, so `clear(prefix)` still reaches one scope's tags, and
 *   which entries share a tag stays visible. `invalidateTags` hashes with
 *   every key of the ring that can encrypt (raw keys, or CryptoKeys with
 *   `"encrypt"` among their usages), so that entries tagged before a
 *   rotation are still reached: keep an old key able to encrypt until its
 *   entries expired.
 * - **Bound to its key.** The store key is authenticated with each value,
 *   so a value copied under another key, or another tenant's key, does not
 *   decrypt. The client's keys hold its name and scopes; stores that are
 *   kept apart only by the wrapped store's own key prefix see the same keys,
 *   so give each of them a keyring of its own.
 * - **A miss, never an error.** A value that does not open (a wrong key, a
 *   key id no longer in the ring, a changed byte, a moved value, a value
 *   written without encryption) is a miss: it is deleted, and `onEvent`
 *   receives `cache.corrupt`.
 * - **Rotation.** List the new key next to the old ones and make it
 *   `current`: new writes use it, older entries still decrypt with theirs,
 *   and expire with their TTL. Drop an old key once the longest TTL has
 *   passed since the switch; entries still under it are then misses. With
 *   several processes, first deploy the new key as a non-current member of
 *   the ring everywhere, then make it current: a process that meets a key
 *   id it lacks deletes the entry.
 * - **The IV limit.** With random IVs, NIST SP 800-38D allows at most 2^32
 *   encryptions under one key, across every process that shares it. Rotate
 *   well before: at a hundred writes per second that is about 16 months,
 *   at a thousand about 50 days.
 * - **Compression.** With `compress`, values are gzip-compressed (when
 *   worth it) before they are encrypted; see
 *   {@linkcode EncryptionOptions.compress} for what sizes then reveal.
 *
 * `getStats()` and `cleanup()` are those of the wrapped store, when it has
 * them (sizes are those of the encrypted values). `close()` closes it.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example Encrypting a shared cache, with a key from the environment
 * ```ts ignore
 * import { EncryptedCacheStore, HttpClient } from "@sluice/http";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * // 32 random bytes, base64-encoded, kept in a secret manager.
 * const key = Uint8Array.from(atob(Deno.env.get("CACHE_KEY")!), (c) => c.charCodeAt(0));
 * const cache = new EncryptedCacheStore(new UpstashCacheStore({ url, token }), {
 *   keys: { k1: key },
 *   compress: true,
 * });
 * const client = new HttpClient({ name: "github", cache: { store: cache } });
 * ```
 *
 * @example Rotating keys
 * ```ts
 * import { EncryptedCacheStore, MemoryCacheStore } from "@sluice/http";
 *
 * const k1 = crypto.getRandomValues(new Uint8Array(32));
 * const k2 = crypto.getRandomValues(new Uint8Array(32));
 * const inner = new MemoryCacheStore();
 * const before = new EncryptedCacheStore(inner, { keys: { k1 } });
 * await before.set("a", { hello: "world" }, 60);
 *
 * const after = new EncryptedCacheStore(inner, { keys: { k2, k1 }, current: "k2" });
 * console.log(await after.get("a")); // { hello: "world" }, opened with k1
 * await after.set("b", { hello: "again" }, 60); // encrypted with k2
 * ```
 */
export class EncryptedCacheStore<T = unknown> implements CacheStore<T> {
  readonly #inner: CacheStore<T> & _CacheStoreExtras;
  readonly #sealer: _Sealer;
  readonly #onEvent: StoreEventListener | undefined;
  /**
   * The wrapped store's counts, when it has `getStats()`; absent otherwise.
   */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes the wrapped store's expired entries, when it has `cleanup()`;
   * absent otherwise.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags` (hashed as described
   * above) from the wrapped store, when it has tag support; absent
   * otherwise.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;
  readonly #tags: _TagHasher;

  /**
   * Wraps a store.
   *
   * @param inner The store that keeps the encrypted values.
   * @param options The keyring, compression and event listener.
   * @throws {ConfigError} When `inner` is not a cache store, `keys` holds
   * no valid key, `current` names none of them, or another option is bad.
   */
  constructor(
    inner: CacheStore<unknown>,
    options: EncryptedCacheStoreOptions,
  ) {
    this.#inner = cacheStoreOption<T>(COMPONENT, "inner", inner);
    const { sealer, onEvent } = sealerOptions(COMPONENT, "cache", options);
    this.#sealer = sealer;
    this.#onEvent = onEvent;
    this.#tags = new _TagHasher(sealer.keyring);
    const { getStats, cleanup, invalidateTags } = this.#inner;
    if (typeof getStats === "function") {
      this.getStats = () => getStats.call(this.#inner);
    }
    if (typeof cleanup === "function") {
      this.cleanup = () => cleanup.call(this.#inner);
    }
    if (typeof invalidateTags === "function") {
      this.invalidateTags = async (tags) => {
        const given = storeTags(
          COMPONENT,
          "invalidate tags",
          tags,
          MAX_TAGS_PER_INVALIDATION,
        );
        const hashed = await this.#tags.every(given);
        let removed = 0;
        for (let i = 0; i < hashed.length; i += MAX_TAGS_PER_INVALIDATION) {
          removed += await invalidateTags.call(
            this.#inner,
            hashed.slice(i, i + MAX_TAGS_PER_INVALIDATION),
          );
        }
        return removed;
      };
    }
  }

  /**
   * Reads and decrypts an entry.
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when missing, expired, or not
   * decryptable under `hash` with the keyring (such an entry is deleted).
   * @throws {StoreError} When the wrapped store fails.
   */
  async get(hash: string): Promise<T | undefined> {
    const stored: unknown = await this.#inner.get(hash);
    if (stored === undefined) return undefined;
    try {
      return await open(this.#sealer, hash, stored) as T;
    } catch (error) {
      if (!(error instanceof CodecError)) {
        throw new StoreError(
          `Cannot decrypt an entry of ${COMPONENT}: ${messageOf(error)}`,
          "encrypted",
          "get",
          { cause: error },
        );
      }
      return await corruptMiss(this.#inner, this.#onEvent, hash, error.message);
    }
  }

  /**
   * Encrypts and writes an entry.
   *
   * @param hash The entry's key, bound to the ciphertext.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry (nothing is encrypted).
   * @param options Tags (hashed before they reach the wrapped store) and
   * the value's age, for a wrapped store with tag support.
   * @returns What the wrapped store answered; `false` for a negative TTL.
   * @throws {TypeError} When `options` are invalid.
   * @throws {StoreError} When the value cannot be encoded, or the wrapped
   * store fails.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean> {
    let passed = options;
    if (options !== undefined && this.invalidateTags !== undefined) {
      const { tags, ageMs } = setOptions(COMPONENT, options);
      passed = tags.length === 0
        ? { ageMs }
        : { tags: await this.#tags.current(tags), ageMs };
    }
    if (ttlToMs(ttlSeconds) === undefined) {
      await this.#inner.delete(hash);
      return false;
    }
    let sealed: Uint8Array;
    try {
      sealed = await seal(this.#sealer, hash, value);
    } catch (error) {
      throw new StoreError(
        `Cannot set an entry in ${COMPONENT}: ${messageOf(error)}`,
        "encrypted",
        "set",
        { cause: error },
      );
    }
    return await setOn(this.#inner, hash, sealed as T, ttlSeconds, passed);
  }

  /**
   * Removes an entry.
   *
   * @param hash The entry's key.
   */
  async delete(hash: string): Promise<void> {
    await this.#inner.delete(hash);
  }

  /**
   * Removes every entry, or those whose key starts with `prefix`.
   *
   * @param prefix Clears only one client's or scope's keys.
   */
  async clear(prefix?: string): Promise<void> {
    await this.#inner.clear(prefix);
  }

  /** Closes the wrapped store. Safe to call twice. */
  async close(): Promise<void> {
    await this.#inner.close();
  }

  /** Same as {@linkcode EncryptedCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * {@linkcode CompressedCacheStore}: a cache store decorator that stores
 * values gzip-compressed when that is worth it.
 *
 * @module
 */

import { StoreError } from "../../errors.ts";
import { CodecError, encodeBinary } from "../codec.ts";
import { ttlToMs } from "../_payload.ts";
import type { StoreEventListener } from "../store_events.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import { compressionPolicy } from "./_compression_policy.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  corruptMiss,
  messageOf,
  optionalFunction,
  optionsObject,
  setOn,
} from "./_inner.ts";
import {
  type _CompressionPolicy,
  compressFrame,
  isPacked,
  packCompressed,
  packStored,
  unpack,
} from "./_packed.ts";
import type { CompressionOptions } from "./compression_options.ts";

const COMPONENT = "CompressedCacheStore";

/** Options for {@linkcode CompressedCacheStore}. */
export interface CompressedCacheStoreOptions extends CompressionOptions {
  /**
   * Receives a `cache.corrupt` event for each stored value that could not
   * be inflated (corrupt, or inflating past `maxDecompressedBytes`). A
   * listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: StoreEventListener;
}

/**
 * A {@linkcode CacheStore} that gzip-compresses values before handing them
 * to the store it wraps, with the runtime's `CompressionStream`. JSON
 * responses typically shrink five to ten times, so a remote store moves
 * and keeps that much less, and a size-limited one (Upstash's 1 MiB
 * requests) keeps larger responses.
 *
 * A value is stored as it is, uncompressed, when compressing it would not
 * pay:
 *
 * - its encoded form is shorter than `minBytes` (1 KiB);
 * - it is a response whose body is already compressed: images (but SVG),
 *   audio, video, archives (zip, gzip, zstd, brotli, 7z, rar, xz, bzip2),
 *   WOFF fonts, PDF, `+zip` types, or a body still in the gzip, deflate or
 *   zstd coding its `Content-Encoding` names (a runtime's `fetch` decodes
 *   bodies but keeps the header, so most bodies with that header are plain
 *   and are compressed);
 * - gzip saves less than 10 % of it.
 *
 * Reading inflates at most `maxDecompressedBytes` (32 MiB): a value that
 * would inflate further, as a decompression bomb planted in a shared store
 * would, stops being read there and is a miss, as is any value that does
 * not inflate (it is deleted, and `onEvent` receives `cache.corrupt`).
 *
 * Compressed values are bytes with a small header, in the wrapped store's
 * own encoding. Values stored uncompressed read back as they were, so a
 * store that held values before compression was added keeps serving them.
 * `getStats()` and `cleanup()` are those of the wrapped store, when it has
 * them (sizes are compressed sizes). `close()` closes it.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example Compressing a remote cache
 * ```ts
 * import { CompressedCacheStore, MemoryCacheStore } from "@sluice/http";
 *
 * const inner = new MemoryCacheStore();
 * const cache = new CompressedCacheStore(inner, { minBytes: 1024 });
 * const rows = Array.from({ length: 500 }, (_, id) => ({ id, name: `user ${id}`, active: true }));
 * await cache.set("users", { rows }, 60);
 * console.log((await cache.get("users") as { rows: unknown[] }).rows.length); // 500
 * console.log(await inner.get("users") instanceof Uint8Array); // true: compressed
 * ```
 */
export class CompressedCacheStore<T = unknown> implements CacheStore<T> {
  readonly #inner: CacheStore<T> & _CacheStoreExtras;
  readonly #policy: _CompressionPolicy;
  readonly #onEvent: StoreEventListener | undefined;
  /** The wrapped store's counts, when it has `getStats()`; absent otherwise. */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes the wrapped store's expired entries, when it has `cleanup()`;
   * absent otherwise.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags`, when the wrapped store
   * has tag support; absent otherwise. Tags pass through unchanged.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

  /**
   * Wraps a store.
   *
   * @param inner The store that keeps the values.
   * @param options When to compress, how far to inflate, and the event
   * listener.
   * @throws {ConfigError} When `inner` is not a cache store, `minBytes` is
   * not a non-negative integer, `maxDecompressedBytes` not a positive
   * integer, or `onEvent` not a function.
   */
  constructor(
    inner: CacheStore<unknown>,
    options: CompressedCacheStoreOptions = {},
  ) {
    this.#inner = cacheStoreOption<T>(COMPONENT, "inner", inner);
    const record = optionsObject(COMPONENT, options);
    this.#policy = compressionPolicy(COMPONENT, "", record);
    this.#onEvent = optionalFunction<StoreEventListener>(
      COMPONENT,
      "onEvent",
      record.onEvent,
    );
    const { getStats, cleanup, invalidateTags } = this.#inner;
    if (typeof getStats === "function") {
      this.getStats = () => getStats.call(this.#inner);
    }
    if (typeof cleanup === "function") {
      this.cleanup = () => cleanup.call(this.#inner);
    }
    if (typeof invalidateTags === "function") {
      this.invalidateTags = (tags) => invalidateTags.call(this.#inner, tags);
    }
  }

  /**
   * Reads an entry, inflating it when it was stored compressed.
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when missing, expired, or not
   * inflatable within `maxDecompressedBytes` (such an entry is deleted).
   * @throws {StoreError} When the wrapped store fails.
   */
  async get(hash: string): Promise<T | undefined> {
    const stored = await this.#inner.get(hash);
    if (!isPacked(stored)) return stored;
    try {
      return await unpack(stored, this.#policy.maxDecompressedBytes) as T;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      return await corruptMiss(this.#inner, this.#onEvent, hash, error.message);
    }
  }

  /**
   * Writes an entry, compressed when that is worth it.
   *
   * @param hash The entry's key.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry.
   * @param options Tags and the value's age, passed to the wrapped store.
   * @returns What the wrapped store answered.
   * @throws {StoreError} When the value cannot be encoded, or the wrapped
   * store fails.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean> {
    // Nothing will be kept: the wrapped store removes the entry.
    if (ttlToMs(ttlSeconds) === undefined) {
      return await setOn(this.#inner, hash, value, ttlSeconds, options);
    }
    let frame: Uint8Array;
    let compressed: Uint8Array | undefined;
    try {
      frame = encodeBinary(value);
      compressed = await compressFrame(value, frame, this.#policy);
    } catch (error) {
      throw new StoreError(
        `Cannot set an entry in ${COMPONENT}: ${messageOf(error)}`,
        "compressed",
        "set",
        { cause: error },
      );
    }
    let stored: unknown = value;
    if (compressed !== undefined) stored = packCompressed(compressed, frame);
    // Bytes that would read as a compressed value are wrapped, so that
    // they read back as themselves.
    else if (isPacked(value)) stored = packStored(frame);
    return await setOn(this.#inner, hash, stored as T, ttlSeconds, options);
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

  /** Same as {@linkcode CompressedCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

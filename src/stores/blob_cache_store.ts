/**
 * A {@linkcode CacheStore} over any {@linkcode BlobBackend}: the one place
 * where the cache's storage rules live, whatever the backend.
 *
 * @module
 */

import { ConfigError, StoreError } from "../errors.ts";
import { CodecError } from "./codec.ts";
import {
  decodePayload,
  encodePayload,
  oversize,
  type Payload,
  ttlToMs,
} from "./_payload.ts";
import { positiveInteger } from "./_validate.ts";
import type { BlobBackend } from "./blob_backend.ts";
import { _emitStoreEvent, type StoreEventListener } from "./store_events.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "./types.ts";

/** The options every cache store over a {@linkcode BlobBackend} takes. */
export interface BlobCacheStoreOptions {
  /**
   * The largest encoded entry kept, in bytes. A larger one is not stored,
   * any older value under its key is removed (so it is never served stale),
   * `set` resolves to `false`, and `onEvent` receives `cache.skipped`. A
   * positive integer.
   *
   * @default {1_048_576} (each backend may choose its own)
   */
  maxEntrySizeBytes?: number;
  /**
   * Receives entries skipped for size and entries that could not be
   * decoded. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: StoreEventListener;
}

/** How a backend's store describes itself to {@linkcode BlobCacheStore}. */
export interface BlobCacheStoreInit<S extends CacheStoreStats> {
  /** The public class name, for errors: `"LibsqlCacheStore"`. */
  component: string;
  /** The backend. */
  backend: BlobBackend<S>;
  /** The backend's default `maxEntrySizeBytes`. */
  defaultMaxEntrySizeBytes: number;
}

/**
 * A cache store whose storage is a {@linkcode BlobBackend}. It holds every
 * rule of the cache contract, so that each backend keeps only its storage
 * statements:
 *
 * - TTLs: `> 0` expires after that many seconds (fractions rounded up to
 *   the millisecond), `0` or `Infinity` never; a negative TTL, NaN or a
 *   non-number removes the entry and resolves `false`.
 * - Size: an entry over `maxEntrySizeBytes` is not kept and removes the
 *   older value under its key.
 * - Encoding: values round-trip exactly, `Uint8Array` parts included, in
 *   the backend's form (bytes or text).
 * - Corruption: a value that cannot be decoded is a miss, is reported, and
 *   is deleted unless another writer replaced it meanwhile.
 * - Tags: when the backend has `writeTagged` and `removeTagged`,
 *   `supportsTags` is `true`; otherwise `set` with tags and `invalidateTags`
 *   throw a `ConfigError` naming the store.
 *
 * Store authors extend it with a backend; users construct the backend's
 * own class (`LibsqlCacheStore`, `UpstashCacheStore`).
 *
 * @typeParam T The type of the stored values.
 * @typeParam S The statistics the backend reports.
 *
 * @example A cache over a backend of your own
 * ```ts ignore
 * import { BlobCacheStore } from "@sluice/http";
 *
 * class MyCacheStore<T> extends BlobCacheStore<T> {
 *   constructor(options = {}) {
 *     super({
 *       component: "MyCacheStore",
 *       backend: new MyBlobBackend(),
 *       defaultMaxEntrySizeBytes: 1_048_576,
 *     }, options);
 *   }
 * }
 * ```
 */
export class BlobCacheStore<
  T = unknown,
  S extends CacheStoreStats = CacheStoreStats,
> implements CacheStore<T> {
  readonly #component: string;
  readonly #backend: BlobBackend<S>;
  readonly #maxEntrySizeBytes: number;
  readonly #onEvent: StoreEventListener | undefined;

  /**
   * Validates the options and takes the backend.
   *
   * @param init The backend and how to name the store in errors.
   * @param options Size limit and event listener.
   * @throws {ConfigError} When `maxEntrySizeBytes` is not a positive integer
   * or `onEvent` is not a function.
   */
  constructor(init: BlobCacheStoreInit<S>, options: BlobCacheStoreOptions) {
    const { component, backend, defaultMaxEntrySizeBytes } = init;
    const {
      maxEntrySizeBytes = defaultMaxEntrySizeBytes,
      onEvent,
    } = options;
    this.#maxEntrySizeBytes = positiveInteger(
      component,
      "maxEntrySizeBytes",
      maxEntrySizeBytes,
    );
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new ConfigError(component, "onEvent", onEvent, "a function");
    }
    this.#component = component;
    this.#backend = backend;
    this.#onEvent = onEvent;
  }

  /**
   * Reads an entry: one round trip.
   *
   * @param hash The entry's key.
   * @returns The stored value, or `undefined` when missing, expired or
   * undecodable (an undecodable entry is deleted).
   * @throws {StoreError} When the backend fails.
   */
  async get(hash: string): Promise<T | undefined> {
    const stored = await this.#backend.read(hash);
    if (stored === undefined || stored === null) return undefined;
    try {
      return decodePayload(stored, this.#backend.encoding) as T;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      _emitStoreEvent(this.#onEvent, {
        type: "cache.corrupt",
        key: hash,
        reason: error.message,
      });
      // A miss is the answer whether or not the removal succeeds.
      try {
        await this.#backend.removeIfUnchanged(hash, stored);
      } catch {
        // Ignored on purpose.
      }
      return undefined;
    }
  }

  /**
   * Writes an entry, replacing any earlier value: one round trip.
   *
   * @param hash The entry's key.
   * @param value The value: JSON data that may hold `Uint8Array`s.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry.
   * @returns `true` when the value was kept; `false` when the TTL or the
   * size kept it out (any older value is removed then).
   * @throws {StoreError} When the value cannot be encoded or the backend
   * fails.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<boolean> {
    const tags = options?.tags;
    const tagged = tags !== undefined && tags.length > 0;
    if (tagged && !this.supportsTags) throw this.#noTags("tags");
    const ttlMs = ttlToMs(ttlSeconds);
    if (ttlMs === undefined) {
      await this.#backend.remove(hash);
      return false;
    }
    let payload: Payload;
    try {
      payload = encodePayload(value, this.#backend.encoding);
    } catch (error) {
      throw new StoreError(
        `Cannot set an entry in ${this.#component}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        this.#backend.name,
        "set",
        { cause: error },
      );
    }
    const bytes = oversize(payload, this.#maxEntrySizeBytes);
    if (bytes !== undefined) {
      _emitStoreEvent(this.#onEvent, {
        type: "cache.skipped",
        key: hash,
        bytes,
        limit: this.#maxEntrySizeBytes,
      });
      await this.#backend.remove(hash);
      return false;
    }
    if (tagged) {
      await this.#backend.writeTagged!(hash, payload, ttlMs, tags);
    } else {
      await this.#backend.write(hash, payload, ttlMs);
    }
    return true;
  }

  /** Whether the backend keeps tags: it has `writeTagged` and `removeTagged`. */
  get supportsTags(): boolean {
    return typeof this.#backend.writeTagged === "function" &&
      typeof this.#backend.removeTagged === "function";
  }

  /**
   * Removes every entry set with any of `tags`: one round trip.
   *
   * @param tags The tags.
   * @returns How many entries were removed.
   * @throws {ConfigError} When the backend has no tag support.
   * @throws {StoreError} When the backend fails.
   */
  async invalidateTags(tags: readonly string[]): Promise<number> {
    if (!this.supportsTags) throw this.#noTags("invalidateTags");
    if (tags.length === 0) return 0;
    return await this.#backend.removeTagged!(tags);
  }

  #noTags(option: string): ConfigError {
    return new ConfigError(
      this.#component,
      option,
      undefined,
      `a backend with tag support ('${this.#backend.name}' has none)`,
    );
  }

  /**
   * Removes an entry: one round trip.
   *
   * @param hash The entry's key.
   * @throws {StoreError} When the backend fails.
   */
  async delete(hash: string): Promise<void> {
    await this.#backend.remove(hash);
  }

  /**
   * Removes every entry, or only those whose key starts with `prefix`.
   *
   * @param prefix Clears only one client's or scope's keys.
   * @throws {StoreError} When the backend fails.
   */
  async clear(prefix?: string): Promise<void> {
    await this.#backend.removePrefix(prefix ?? "");
  }

  /**
   * Counts entries and bytes.
   *
   * @returns The backend's statistics.
   * @throws {StoreError} When the backend fails.
   */
  async getStats(): Promise<S> {
    return await this.#backend.stats();
  }

  /**
   * Removes expired entries now.
   *
   * @returns How many were removed (`0` on backends that expire entries
   * themselves).
   * @throws {StoreError} When the backend fails.
   */
  async cleanup(): Promise<number> {
    return await this.#backend.cleanup();
  }

  /** Releases the backend; later calls fail. Safe to call twice. */
  async close(): Promise<void> {
    await this.#backend.close();
  }

  /** Same as {@linkcode BlobCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

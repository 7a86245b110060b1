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
import {
  INVALIDATION_MARK_MS,
  MAX_TAGS_PER_INVALIDATION,
  setOptions,
  storeTags,
} from "./_tags.ts";
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
 * - Tags, when the backend has a tag index (`writeTagged` and
 *   `dropTagged`): the store then has `invalidateTags`; tags and ages are
 *   validated here, and invalidations are remembered for five minutes.
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
  readonly #tagged: boolean;
  /**
   * Removes every entry stored with one of `tags`, when the backend has a
   * tag index; absent otherwise. A write of a value obtained before this
   * call, of one of those tags or of a removed key, is refused for five
   * minutes after it.
   *
   * @param tags Non-empty strings of at most 2 048 UTF-16 code units, at
   * most 1 000 of them.
   * @returns How many live entries were removed.
   * @throws {TypeError} When `tags` is not such a list.
   * @throws {StoreError} When the backend fails.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

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
    const { writeTagged, dropTagged } = backend;
    this.#tagged = typeof writeTagged === "function" &&
      typeof dropTagged === "function";
    if (!this.#tagged && (writeTagged ?? dropTagged) !== undefined) {
      throw new ConfigError(
        component,
        "backend",
        backend.name,
        "a backend with both writeTagged() and dropTagged(), or neither",
      );
    }
    if (this.#tagged) {
      this.invalidateTags = async (tags) => {
        const list = storeTags(
          component,
          "invalidate tags",
          tags,
          MAX_TAGS_PER_INVALIDATION,
        );
        if (list.length === 0) return 0;
        return await backend.dropTagged!(list, INVALIDATION_MARK_MS);
      };
    }
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
   * @param options Tags and the value's age, with a tag index; ignored
   * otherwise.
   * @returns `true` when the value was kept; `false` when the TTL or the
   * size kept it out (any older value is removed then), or an
   * invalidation since the value was obtained refused it (the key is left
   * as it was).
   * @throws {TypeError} When the backend has a tag index and `options` are
   * invalid.
   * @throws {StoreError} When the value cannot be encoded or the backend
   * fails.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<boolean> {
    const tagging = this.#tagged
      ? setOptions(this.#component, options)
      : undefined;
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
    if (tagging !== undefined) {
      return await this.#backend.writeTagged!(
        hash,
        payload,
        ttlMs,
        tagging.tags,
        tagging.ageMs,
      );
    }
    await this.#backend.write(hash, payload, ttlMs);
    return true;
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
   * @param prefix Clears only one client's or scope's keys (and, with a
   * tag index, forgets the tags that start with it).
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

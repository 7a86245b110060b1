import { ConfigError } from "../../src/errors.ts";
import { positiveInteger } from "../../src/stores/_validate.ts";
import type { CacheStore } from "../../src/stores/types.ts";
import { _Connection, type UpstashConnectionOptions } from "./_connection.ts";
import {
  _decodeValue,
  _emit,
  _encodeValue,
  _oversize,
  type UpstashStoreEvent,
} from "./_values.ts";

const COMPONENT = "UpstashCacheStore";

/** Options for {@linkcode UpstashCacheStore}. */
export interface UpstashCacheStoreOptions extends UpstashConnectionOptions {
  /**
   * The largest encoded entry stored, in bytes. Larger entries are skipped
   * (reported through `onEvent`), not refused with an error. The default is
   * Upstash's request size limit on the free plan.
   *
   * @default {1_048_576}
   */
  maxEntrySizeBytes?: number;
  /**
   * How many keys `clear` asks for per `SCAN` step. A positive integer.
   *
   * @default {1_000}
   */
  scanCount?: number;
  /**
   * Receives skipped and corrupt entries. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: (event: UpstashStoreEvent) => void;
}

/**
 * Escapes the glob metacharacters of Redis `MATCH` patterns, so that a key
 * prefix matches only itself.
 */
function _escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * A {@linkcode CacheStore} in Upstash Redis, shared by every process that
 * reaches the database.
 *
 * Each entry is one Redis string under `sluice:<key>`, with Redis's own
 * millisecond expiry: `get` is one `GET`, `set` one `SET ... PX`. Values
 * round-trip exactly, byte arrays included. `clear(prefix)` walks the
 * matching keys with `SCAN` and removes them with `UNLINK` in batches, never
 * with `KEYS`.
 *
 * @typeParam T The type of the stored values.
 *
 * @example Sharing a cache through Upstash
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * const cache = new UpstashCacheStore({ redis: Redis.fromEnv() });
 * await cache.set("github:cache:1", { status: 200 }, 60);
 * console.log(await cache.get("github:cache:1")); // { status: 200 }
 * ```
 */
export class UpstashCacheStore<T = unknown> implements CacheStore<T> {
  readonly #connection: _Connection;
  readonly #maxEntrySizeBytes: number;
  readonly #scanCount: number;
  readonly #onEvent: ((event: UpstashStoreEvent) => void) | undefined;

  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token) and limits.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a limit is not a positive integer.
   */
  constructor(options: UpstashCacheStoreOptions) {
    this.#connection = new _Connection(COMPONENT, "cache", options);
    const {
      maxEntrySizeBytes = 1_048_576,
      scanCount = 1_000,
      onEvent,
    } = options;
    this.#maxEntrySizeBytes = positiveInteger(
      COMPONENT,
      "maxEntrySizeBytes",
      maxEntrySizeBytes,
    );
    this.#scanCount = positiveInteger(COMPONENT, "scanCount", scanCount);
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new ConfigError(COMPONENT, "onEvent", onEvent, "a function");
    }
    this.#onEvent = onEvent;
  }

  /**
   * Reads an entry in one `GET`.
   *
   * @param hash The entry's key.
   * @returns The stored value, or `undefined` when missing, expired or
   * undecodable (an undecodable entry is deleted).
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async get(hash: string): Promise<T | undefined> {
    const key = this.#connection.key(hash);
    const stored = await this.#connection.run("get", (r) => r.get(key));
    if (stored === null || stored === undefined) return undefined;
    try {
      return _decodeValue(stored) as T;
    } catch {
      _emit(this.#onEvent, { type: "cache.corrupt", key: hash });
      await this.#connection.run("get", (r) => r.del(key));
      return undefined;
    }
  }

  /**
   * Writes an entry in one `SET` (`PX` for a positive TTL), or deletes it
   * when `ttlSeconds` is negative.
   *
   * @param hash The entry's key.
   * @param value The value to store.
   * @param ttlSeconds `> 0` expires after that many seconds (fractions
   * allowed), `0` never expires, `< 0` removes the entry.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async set(hash: string, value: T, ttlSeconds: number): Promise<void> {
    const key = this.#connection.key(hash);
    if (!(ttlSeconds >= 0)) {
      await this.#connection.run("set", (r) => r.del(key));
      return;
    }
    const text = _encodeValue(value);
    const bytes = _oversize(text, this.#maxEntrySizeBytes);
    if (bytes !== undefined) {
      _emit(this.#onEvent, {
        type: "cache.skipped",
        key: hash,
        bytes,
        limit: this.#maxEntrySizeBytes,
      });
      return;
    }
    const px = Math.max(1, Math.ceil(ttlSeconds * 1000));
    await this.#connection.run(
      "set",
      (r) =>
        ttlSeconds === 0 || !Number.isFinite(ttlSeconds)
          ? r.set(key, text)
          : r.set(key, text, { px }),
    );
  }

  /**
   * Removes an entry in one `DEL`.
   *
   * @param hash The entry's key.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async delete(hash: string): Promise<void> {
    const key = this.#connection.key(hash);
    await this.#connection.run("delete", (r) => r.del(key));
  }

  /**
   * Removes the entries under a prefix (or every cache entry under the
   * store's key prefix), with `SCAN MATCH ... TYPE string` and `UNLINK`.
   * Only Redis strings are removed, so dedupe jobs and rate-limit windows
   * under the same prefix are left alone.
   *
   * @param prefix The client or scope prefix to clear; every entry when
   * omitted.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async clear(prefix?: string): Promise<void> {
    const match = _escapeGlob(this.#connection.key(prefix ?? "")) + "*";
    let cursor: string | number = "0";
    do {
      const [next, keys] = await this.#connection.run(
        "clear",
        (r) =>
          r.scan(cursor, { match, count: this.#scanCount, type: "string" }),
      );
      if (keys.length > 0) {
        await this.#connection.run("clear", (r) => r.unlink(...keys));
      }
      cursor = String(next);
    } while (cursor !== "0");
  }

  /**
   * Refuses later operations. The Upstash client holds no connection, so
   * nothing else needs releasing. Safe to call twice.
   */
  close(): Promise<void> {
    this.#connection.close();
    return Promise.resolve();
  }
}

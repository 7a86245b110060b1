/**
 * A {@linkcode CacheStore} in a libSQL database: a local file shared by
 * processes, or a sqld / Turso server shared by everything that reaches it.
 *
 * @module
 */

import { ConfigError } from "../../src/errors.ts";
import {
  CodecError,
  decodeBinary,
  encodeBinary,
} from "../../src/stores/codec.ts";
import type { CacheStore } from "../../src/stores/types.ts";
import {
  _bytes,
  _Connection,
  _int,
  type LibsqlConnectionOptions,
} from "./_connection.ts";
import type { LibsqlStatement } from "./client.ts";

/** Something the cache store did that is worth knowing but is not an error. */
export type LibsqlCacheEvent =
  | {
    /** An entry was not stored because it is larger than `maxEntrySizeBytes`. */
    type: "cache.skipped";
    /** The entry's key. */
    key: string;
    /** Its encoded size in bytes. */
    bytes: number;
    /** The configured limit in bytes. */
    limit: number;
  }
  | {
    /** A stored entry could not be decoded; it was treated as a miss and deleted. */
    type: "cache.corrupt";
    /** The entry's key. */
    key: string;
    /** Why it could not be decoded. */
    reason: string;
  };

/** Options for {@linkcode LibsqlCacheStore}. */
export interface LibsqlCacheStoreOptions extends LibsqlConnectionOptions {
  /**
   * The largest encoded entry stored, in bytes. A larger entry is skipped
   * (and any older value under its key removed) with a `cache.skipped` event.
   *
   * @default {5242880}
   */
  maxEntrySizeBytes?: number;
  /**
   * The least time between two automatic removals of expired rows, which run
   * inside a `set` (no timer). `0` turns automatic removal off; call
   * `cleanup()` yourself then.
   *
   * @default {60000}
   */
  cleanupIntervalMs?: number;
  /**
   * Receives events such as skipped or corrupt entries. A throwing listener
   * is ignored.
   */
  onEvent?: (event: LibsqlCacheEvent) => void;
}

/** Counts returned by {@linkcode LibsqlCacheStore.getStats}. */
export interface LibsqlCacheStats {
  /** Rows in the cache table, expired or not. */
  totalItems: number;
  /** Rows that are expired but not yet removed. */
  expiredItems: number;
  /** The summed encoded size of all entries, in bytes. */
  totalBytes: number;
  /** The size of the whole database, in KiB (all tables, not only the cache). */
  databaseSizeKB: number;
}

const COMPONENT = "LibsqlCacheStore";
const DEFAULT_MAX_ENTRY_BYTES = 5 * 1024 * 1024;

/**
 * A cache store backed by a libSQL table. Values are encoded byte-exact
 * (`Uint8Array` bodies included) into BLOBs; every operation is one round
 * trip; expired rows are never returned and are removed lazily.
 *
 * @typeParam T The type of the stored values.
 *
 * @example Sharing a cache file between processes
 * ```ts
 * import { LibsqlCacheStore } from "@sluice/http/libsql";
 *
 * const cache = new LibsqlCacheStore({ url: "file:sluice.db" });
 * await cache.set("github:cache:abc", { status: 200 }, 60);
 * console.log(await cache.get("github:cache:abc")); // { status: 200 }
 * await cache.close();
 * ```
 */
export class LibsqlCacheStore<T = unknown> implements CacheStore<T> {
  readonly #db: _Connection;
  readonly #table: string;
  readonly #maxEntrySizeBytes: number;
  readonly #cleanupIntervalMs: number;
  readonly #onEvent: ((event: LibsqlCacheEvent) => void) | undefined;
  #nextCleanupAt = Number.NEGATIVE_INFINITY;

  /**
   * Creates a cache store. No connection is made until the first operation.
   *
   * @param options Where the database is, and the store's limits.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlCacheStoreOptions) {
    this.#db = new _Connection(COMPONENT, options);
    const {
      maxEntrySizeBytes = DEFAULT_MAX_ENTRY_BYTES,
      cleanupIntervalMs = 60_000,
      onEvent,
    } = options;
    if (
      typeof maxEntrySizeBytes !== "number" ||
      !Number.isSafeInteger(maxEntrySizeBytes) || maxEntrySizeBytes <= 0
    ) {
      throw new ConfigError(
        COMPONENT,
        "maxEntrySizeBytes",
        maxEntrySizeBytes,
        "a positive integer",
      );
    }
    if (
      typeof cleanupIntervalMs !== "number" ||
      !Number.isSafeInteger(cleanupIntervalMs) || cleanupIntervalMs < 0
    ) {
      throw new ConfigError(
        COMPONENT,
        "cleanupIntervalMs",
        cleanupIntervalMs,
        "a non-negative integer",
      );
    }
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new ConfigError(COMPONENT, "onEvent", onEvent, "a function");
    }
    this.#table = this.#db.tables.cache;
    this.#maxEntrySizeBytes = maxEntrySizeBytes;
    this.#cleanupIntervalMs = cleanupIntervalMs;
    this.#onEvent = onEvent;
  }

  /**
   * Reads an entry: one round trip. An expired entry is a miss; an entry that
   * cannot be decoded is a miss and is deleted.
   *
   * @param hash The entry's key.
   * @returns The stored value, or `undefined`.
   * @throws {StoreError} When the database fails.
   */
  async get(hash: string): Promise<T | undefined> {
    const now = this.#db.now();
    const result = await this.#db.execute("get", "read a cache entry", {
      sql:
        `SELECT value FROM ${this.#table} WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)`,
      args: [hash, now],
    });
    const row = result.rows[0];
    if (row === undefined) return undefined;
    const bytes = _bytes(row.value);
    try {
      if (bytes === undefined) {
        throw new CodecError("Cannot decode store value: not a BLOB");
      }
      return decodeBinary(bytes) as T;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      this.#emit({ type: "cache.corrupt", key: hash, reason: error.message });
      await this.#deleteCorrupt(hash, row.value);
      return undefined;
    }
  }

  /**
   * Writes an entry, replacing any earlier value: one round trip (which
   * may also remove expired rows, at most once per `cleanupIntervalMs`).
   *
   * @param hash The entry's key.
   * @param value The value; JSON data that may hold `Uint8Array`s.
   * @param ttlSeconds `> 0` expires after that many seconds (fractions
   * allowed), `0` never expires, `< 0` removes the entry.
   * @throws {StoreError} When the value cannot be encoded or the database fails.
   */
  async set(hash: string, value: T, ttlSeconds: number): Promise<void> {
    if (typeof ttlSeconds !== "number" || Number.isNaN(ttlSeconds)) {
      throw this.#db.error(
        "set",
        "write a cache entry",
        new TypeError(`ttlSeconds must be a number: received ${ttlSeconds}`),
      );
    }
    if (ttlSeconds < 0) return this.delete(hash);
    let encoded: Uint8Array;
    try {
      encoded = encodeBinary(value);
    } catch (error) {
      throw this.#db.error("set", "encode a cache entry", error);
    }
    if (encoded.byteLength > this.#maxEntrySizeBytes) {
      this.#emit({
        type: "cache.skipped",
        key: hash,
        bytes: encoded.byteLength,
        limit: this.#maxEntrySizeBytes,
      });
      // An older value would now be out of date; do not leave it behind.
      return this.delete(hash);
    }
    const now = this.#db.now();
    const expiresAt = ttlSeconds === 0 || ttlSeconds === Infinity
      ? null
      : now + Math.max(1, Math.ceil(ttlSeconds * 1000));
    const statements: LibsqlStatement[] = [{
      sql:
        `INSERT INTO ${this.#table} (key, value, size, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size, expires_at = excluded.expires_at, created_at = excluded.created_at`,
      args: [hash, encoded, encoded.byteLength, expiresAt, now],
    }];
    if (this.#cleanupIntervalMs > 0 && now >= this.#nextCleanupAt) {
      this.#nextCleanupAt = now + this.#cleanupIntervalMs;
      statements.push(this.#cleanupStatement(now));
    }
    if (statements.length === 1) {
      await this.#db.execute("set", "write a cache entry", statements[0]!);
    } else {
      await this.#db.batch("set", "write a cache entry", statements);
    }
  }

  /**
   * Removes an entry: one round trip.
   *
   * @param hash The entry's key.
   * @throws {StoreError} When the database fails.
   */
  async delete(hash: string): Promise<void> {
    await this.#db.execute("delete", "delete a cache entry", {
      sql: `DELETE FROM ${this.#table} WHERE key = ?1`,
      args: [hash],
    });
  }

  /**
   * Removes every entry, or only those whose key starts with `prefix`: one
   * round trip, using the key index (no `LIKE`, so `%` and `_` in a prefix
   * are plain characters).
   *
   * @param prefix Clears only the keys that start with it.
   * @throws {StoreError} When the database fails.
   */
  async clear(prefix?: string): Promise<void> {
    if (prefix === undefined || prefix === "") {
      await this.#db.execute("clear", "clear the cache", {
        sql: `DELETE FROM ${this.#table}`,
        args: [],
      });
      return;
    }
    const upper = _prefixUpperBound(prefix);
    await this.#db.execute("clear", "clear cache entries by prefix", {
      sql: upper === undefined
        ? `DELETE FROM ${this.#table} WHERE key >= ?1 AND substr(key, 1, length(?1)) = ?1`
        : `DELETE FROM ${this.#table} WHERE key >= ?1 AND key < ?2`,
      args: upper === undefined ? [prefix] : [prefix, upper],
    });
  }

  /**
   * Removes every expired row now.
   *
   * @returns How many rows were removed.
   * @throws {StoreError} When the database fails.
   */
  async cleanup(): Promise<number> {
    const now = this.#db.now();
    const [, count] = await this.#db.batch(
      "cleanup",
      "remove expired cache entries",
      [
        this.#cleanupStatement(now),
        { sql: "SELECT changes() AS n", args: [] },
      ],
    );
    return _int(count?.rows[0]?.n) ?? 0;
  }

  /**
   * Counts entries and measures the database: one round trip.
   *
   * @returns The counts.
   * @throws {StoreError} When the database fails.
   */
  async getStats(): Promise<LibsqlCacheStats> {
    const now = this.#db.now();
    const result = await this.#db.execute("getStats", "read cache statistics", {
      sql:
        `SELECT count(*) AS total, coalesce(sum(expires_at IS NOT NULL AND expires_at <= ?1), 0) AS expired, coalesce(sum(size), 0) AS bytes, (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()) AS db_bytes FROM ${this.#table}`,
      args: [now],
    });
    const row = result.rows[0] ?? {};
    return {
      totalItems: _int(row.total) ?? 0,
      expiredItems: _int(row.expired) ?? 0,
      totalBytes: _int(row.bytes) ?? 0,
      databaseSizeKB: Math.ceil((_int(row.db_bytes) ?? 0) / 1024),
    };
  }

  /** Closes the client if this store created it. Safe to call twice. */
  close(): Promise<void> {
    return this.#db.close();
  }

  /** Same as {@linkcode LibsqlCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #cleanupStatement(now: number): LibsqlStatement {
    return {
      sql: `DELETE FROM ${this.#table} WHERE expires_at <= ?1`,
      args: [now],
    };
  }

  async #deleteCorrupt(hash: string, stored: unknown): Promise<void> {
    // Delete only the bytes that failed, not a value another process has
    // written since. A failure here leaves a miss, which is what get returns.
    const bytes = _bytes(stored);
    try {
      await this.#db.execute("get", "delete a corrupt cache entry", {
        sql: bytes === undefined
          ? `DELETE FROM ${this.#table} WHERE key = ?1 AND typeof(value) <> 'blob'`
          : `DELETE FROM ${this.#table} WHERE key = ?1 AND value = ?2`,
        args: bytes === undefined ? [hash] : [hash, bytes],
      });
    } catch {
      // A miss is still the right answer.
    }
  }

  #emit(event: LibsqlCacheEvent): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent(event);
    } catch {
      // A listener never breaks the store.
    }
  }
}

/**
 * The smallest string greater than every string that starts with `prefix`,
 * in SQLite's BINARY order (UTF-8 bytes, which follows code points): the
 * prefix with its last code point incremented. `undefined` when no such
 * string exists (a prefix made only of U+10FFFF).
 */
export function _prefixUpperBound(prefix: string): string | undefined {
  const codePoints = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (codePoints.length > 0) {
    let last = codePoints.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) {
      return String.fromCodePoint(...codePoints, last);
    }
  }
  return undefined;
}

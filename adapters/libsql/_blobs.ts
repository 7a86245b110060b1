import { _asBytes, type Payload } from "../../src/stores/_payload.ts";
import type { BlobBackend } from "../../src/stores/blob_backend.ts";
import { nonNegativeInteger } from "../../src/stores/_validate.ts";
import { type _Connection, _int } from "./_connection.ts";
import type { LibsqlStatement } from "./client.ts";
import type { LibsqlCacheStats } from "./cache_store.ts";

/**
 * Cache entries as rows of `<prefix>cache`: key, BLOB value, size, and an
 * absolute expiry in the store's clock. Expired rows are never read; a write
 * also removes them, at most once per `cleanupIntervalMs`.
 *
 * Tags are rows `(tag, key)` of `<prefix>cache_tags`. A tagged write and an
 * invalidation are each one write transaction, so they serialize: an entry
 * written before an invalidation commits is removed by it. A tag row lives
 * while its key has a row in `<prefix>cache`: the sweep of expired entries
 * also removes the tag rows left without an entry.
 */
export class _LibsqlBlobs implements BlobBackend<LibsqlCacheStats> {
  readonly name = "libsql";
  readonly encoding = "binary";
  readonly #db: _Connection;
  readonly #table: string;
  readonly #tags: string;
  readonly #cleanupIntervalMs: number;
  #nextCleanupAt = Number.NEGATIVE_INFINITY;

  constructor(db: _Connection, cleanupIntervalMs: unknown) {
    this.#db = db;
    this.#table = db.tables.cache;
    this.#tags = db.tables.cacheTags;
    this.#cleanupIntervalMs = nonNegativeInteger(
      db.component,
      "cleanupIntervalMs",
      cleanupIntervalMs,
    );
  }

  async read(key: string): Promise<unknown> {
    const result = await this.#db.execute("get", "read a cache entry", {
      sql:
        `SELECT value FROM ${this.#table} WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)`,
      args: [key, this.#db.now()],
    });
    return result.rows[0]?.value;
  }

  async write(
    key: string,
    payload: Payload,
    ttlMs: number | null,
  ): Promise<void> {
    await this.#write(key, payload, ttlMs, undefined);
  }

  async writeTagged(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[],
  ): Promise<void> {
    await this.#write(key, payload, ttlMs, tags);
  }

  async removeTagged(tags: readonly string[]): Promise<number> {
    const now = this.#db.now();
    const selected =
      `SELECT key FROM ${this.#tags} WHERE tag IN (SELECT value FROM json_each(?1))`;
    const json = JSON.stringify(tags);
    const [counted] = await this.#db.batch(
      "invalidateTags",
      "invalidate cache tags",
      [
        {
          sql:
            `SELECT count(*) AS n FROM ${this.#table} WHERE key IN (${selected}) AND (expires_at IS NULL OR expires_at > ?2)`,
          args: [json, now],
        },
        {
          sql: `DELETE FROM ${this.#table} WHERE key IN (${selected})`,
          args: [json],
        },
        {
          sql:
            `DELETE FROM ${this.#tags} WHERE tag IN (SELECT value FROM json_each(?1))`,
          args: [json],
        },
      ],
    );
    return _int(counted?.rows[0]?.n) ?? 0;
  }

  async #write(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[] | undefined,
  ): Promise<void> {
    const now = this.#db.now();
    const bytes = payload as Uint8Array;
    const statements: LibsqlStatement[] = [{
      sql:
        `INSERT INTO ${this.#table} (key, value, size, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size, expires_at = excluded.expires_at, created_at = excluded.created_at`,
      args: [
        key,
        bytes,
        bytes.byteLength,
        ttlMs === null ? null : now + ttlMs,
        now,
      ],
    }];
    if (tags !== undefined) {
      statements.push({
        sql:
          `INSERT OR IGNORE INTO ${this.#tags} (tag, key) SELECT value, ?1 FROM json_each(?2)`,
        args: [key, JSON.stringify(tags)],
      });
    }
    if (this.#cleanupIntervalMs > 0 && now >= this.#nextCleanupAt) {
      this.#nextCleanupAt = now + this.#cleanupIntervalMs;
      statements.push(...this.#cleanupStatements(now));
    }
    if (statements.length === 1) {
      await this.#db.execute("set", "write a cache entry", statements[0]!);
    } else {
      await this.#db.batch("set", "write a cache entry", statements);
    }
  }

  async remove(key: string): Promise<void> {
    await this.#db.execute("delete", "delete a cache entry", {
      sql: `DELETE FROM ${this.#table} WHERE key = ?1`,
      args: [key],
    });
  }

  async removeIfUnchanged(key: string, stored: unknown): Promise<void> {
    const bytes = _asBytes(stored);
    await this.#db.execute("get", "delete a corrupt cache entry", {
      sql: bytes === undefined
        ? `DELETE FROM ${this.#table} WHERE key = ?1 AND typeof(value) <> 'blob'`
        : `DELETE FROM ${this.#table} WHERE key = ?1 AND value = ?2`,
      args: bytes === undefined ? [key] : [key, bytes],
    });
  }

  async removePrefix(prefix: string): Promise<void> {
    if (prefix === "") {
      await this.#db.batch("clear", "clear the cache", [
        { sql: `DELETE FROM ${this.#table}`, args: [] },
        { sql: `DELETE FROM ${this.#tags}`, args: [] },
      ]);
      return;
    }
    // A key range uses the primary key's index; no LIKE, so `%` and `_` in
    // a prefix are plain characters. The tags under the prefix go with the
    // entries.
    const upper = _prefixUpperBound(prefix);
    const range = (column: string) =>
      upper === undefined
        ? `${column} >= ?1 AND substr(${column}, 1, length(?1)) = ?1`
        : `${column} >= ?1 AND ${column} < ?2`;
    const args = upper === undefined ? [prefix] : [prefix, upper];
    await this.#db.batch("clear", "clear cache entries by prefix", [
      { sql: `DELETE FROM ${this.#table} WHERE ${range("key")}`, args },
      { sql: `DELETE FROM ${this.#tags} WHERE ${range("tag")}`, args },
    ]);
  }

  async stats(): Promise<LibsqlCacheStats> {
    const result = await this.#db.execute("getStats", "read cache statistics", {
      sql:
        `SELECT count(*) AS total, coalesce(sum(expires_at IS NOT NULL AND expires_at <= ?1), 0) AS expired, coalesce(sum(size), 0) AS bytes, (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()) AS db_bytes FROM ${this.#table}`,
      args: [this.#db.now()],
    });
    const row = result.rows[0] ?? {};
    return {
      totalItems: _int(row.total) ?? 0,
      expiredItems: _int(row.expired) ?? 0,
      totalBytes: _int(row.bytes) ?? 0,
      databaseSizeKB: Math.ceil((_int(row.db_bytes) ?? 0) / 1024),
    };
  }

  async cleanup(): Promise<number> {
    const [, count] = await this.#db.batch(
      "cleanup",
      "remove expired cache entries",
      [
        ...this.#cleanupStatements(this.#db.now()),
      ],
    );
    return _int(count?.rows[0]?.n) ?? 0;
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  /**
   * Removes the expired entries, then the tag rows left without an entry;
   * the second statement reads the first's count.
   */
  #cleanupStatements(now: number): LibsqlStatement[] {
    return [
      {
        sql: `DELETE FROM ${this.#table} WHERE expires_at <= ?1`,
        args: [now],
      },
      { sql: "SELECT changes() AS n", args: [] },
      {
        sql:
          `DELETE FROM ${this.#tags} WHERE NOT EXISTS (SELECT 1 FROM ${this.#table} c WHERE c.key = ${this.#tags}.key)`,
        args: [],
      },
    ];
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

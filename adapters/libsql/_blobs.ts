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
 * Tags are rows of `<prefix>cache_tags` (tag, key), which triggers remove
 * with their entry, and invalidations leave rows in `<prefix>cache_marks`
 * (`t:<tag>` or `k:<key>`, when, until when). A write checks the marks and
 * writes the entry and its tags in one transaction; an invalidation marks,
 * deletes and counts in one transaction too.
 */
export class _LibsqlBlobs implements BlobBackend<LibsqlCacheStats> {
  readonly name = "libsql";
  readonly encoding = "binary";
  readonly #db: _Connection;
  readonly #table: string;
  readonly #tags: string;
  readonly #marks: string;
  readonly #cleanupIntervalMs: number;
  #nextCleanupAt = Number.NEGATIVE_INFINITY;

  constructor(db: _Connection, cleanupIntervalMs: unknown) {
    this.#db = db;
    this.#table = db.tables.cache;
    this.#tags = db.tables.cacheTags;
    this.#marks = db.tables.cacheMarks;
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
    await this.writeTagged(key, payload, ttlMs, [], 0);
  }

  async writeTagged(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[],
    ageMs: number,
  ): Promise<boolean> {
    const now = this.#db.now();
    const bytes = payload as Uint8Array;
    // ?1 key, ?2 now, ?3 obtained at, then one parameter per tag.
    const marks = ["'k:' || ?1", ...tags.map((_, i) => `'t:' || ?${i + 4}`)];
    const unmarked = `NOT EXISTS (SELECT 1 FROM ${this.#marks} WHERE name IN (${
      marks.join(", ")
    }) AND at > ?3 AND expires_at > ?2)`;
    const common = [key, now, now - ageMs, ...tags];
    const n = common.length;
    const statements: LibsqlStatement[] = [{
      sql:
        `INSERT INTO ${this.#table} (key, value, size, expires_at, created_at) SELECT ?1, ?${
          n + 1
        }, ?${n + 2}, ?${
          n + 3
        }, ?2 WHERE ${unmarked} ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size, expires_at = excluded.expires_at, created_at = excluded.created_at RETURNING 1 AS written`,
      args: [
        ...common,
        bytes,
        bytes.byteLength,
        ttlMs === null ? null : now + ttlMs,
      ],
    }];
    if (tags.length > 0) {
      // Within the same transaction the marks are as the write saw them.
      statements.push({
        sql:
          `INSERT OR IGNORE INTO ${this.#tags} (tag, key) SELECT column1, ?1 FROM (VALUES ${
            tags.map((_, i) => `(?${i + 4})`).join(", ")
          }) WHERE ${unmarked}`,
        args: common,
      });
    }
    if (this.#cleanupIntervalMs > 0 && now >= this.#nextCleanupAt) {
      this.#nextCleanupAt = now + this.#cleanupIntervalMs;
      statements.push(...this.#cleanupStatements(now));
    }
    // One statement runs on its own, without a transaction around it.
    const [result] = statements.length === 1
      ? [await this.#db.execute("set", "write a cache entry", statements[0]!)]
      : await this.#db.batch("set", "write a cache entry", statements);
    return (result?.rows.length ?? 0) > 0;
  }

  async dropTagged(tags: readonly string[], markMs: number): Promise<number> {
    const now = this.#db.now();
    // ?1 now, ?2 until, then one parameter per tag.
    const list = tags.map((_, i) => `?${i + 3}`).join(", ");
    const tagged = `SELECT key FROM ${this.#tags} WHERE tag IN (${list})`;
    const args = [now, now + markMs, ...tags];
    const upsertMark =
      "ON CONFLICT (name) DO UPDATE SET at = excluded.at, expires_at = excluded.expires_at";
    const results = await this.#db.batch(
      "invalidateTags",
      "invalidate cache tags",
      [
        {
          sql:
            `INSERT INTO ${this.#marks} (name, at, expires_at) SELECT 'k:' || key, ?1, ?2 FROM (${tagged}) WHERE true ${upsertMark}`,
          args,
        },
        {
          sql:
            `DELETE FROM ${this.#table} WHERE key IN (${tagged}) AND (expires_at IS NULL OR expires_at > ?1)`,
          args,
        },
        { sql: "SELECT changes() AS n", args: [] },
        // Expired entries of those tags: nobody reads them, and their tag
        // rows go with them.
        { sql: `DELETE FROM ${this.#table} WHERE key IN (${tagged})`, args },
        {
          sql: `DELETE FROM ${this.#tags} WHERE tag IN (${list})`,
          args,
        },
        {
          sql:
            `INSERT INTO ${this.#marks} (name, at, expires_at) SELECT 't:' || column1, ?1, ?2 FROM (VALUES ${
              tags.map((_, i) => `(?${i + 3})`).join(", ")
            }) WHERE true ${upsertMark}`,
          args,
        },
      ],
    );
    return _int(results[2]?.rows[0]?.n) ?? 0;
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
      await this.#db.batch(
        "clear",
        "clear the cache",
        [this.#table, this.#tags, this.#marks].map((table) => ({
          sql: `DELETE FROM ${table}`,
          args: [],
        })),
      );
      return;
    }
    // Key ranges use the primary keys' indexes; no LIKE, so `%` and `_` in
    // a prefix are plain characters.
    await this.#db.batch("clear", "clear cache entries by prefix", [
      _rangeDelete(this.#table, "key", prefix),
      _rangeDelete(this.#tags, "tag", prefix),
      _rangeDelete(this.#marks, "name", `t:${prefix}`),
      _rangeDelete(this.#marks, "name", `k:${prefix}`),
    ]);
  }

  async stats(): Promise<LibsqlCacheStats> {
    const result = await this.#db.execute("getStats", "read cache statistics", {
      sql:
        `SELECT count(*) AS total, coalesce(sum(expires_at IS NOT NULL AND expires_at <= ?1), 0) AS expired, coalesce(sum(size), 0) AS bytes, (SELECT count(*) FROM ${this.#tags}) AS pairs, (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()) AS db_bytes FROM ${this.#table}`,
      args: [this.#db.now()],
    });
    const row = result.rows[0] ?? {};
    return {
      totalItems: _int(row.total) ?? 0,
      expiredItems: _int(row.expired) ?? 0,
      totalBytes: _int(row.bytes) ?? 0,
      tagIndexEntries: _int(row.pairs) ?? 0,
      databaseSizeKB: Math.ceil((_int(row.db_bytes) ?? 0) / 1024),
    };
  }

  async cleanup(): Promise<number> {
    const [entries, marks] = this.#cleanupStatements(this.#db.now());
    const [, count] = await this.#db.batch(
      "cleanup",
      "remove expired cache entries",
      [entries!, { sql: "SELECT changes() AS n", args: [] }, marks!],
    );
    return _int(count?.rows[0]?.n) ?? 0;
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  // Expired entries (their tags go with them), then marks that ran out.
  #cleanupStatements(now: number): LibsqlStatement[] {
    return [
      { sql: `DELETE FROM ${this.#table} WHERE expires_at <= ?1`, args: [now] },
      {
        sql: `DELETE FROM ${this.#marks} WHERE expires_at <= ?1`,
        args: [now],
      },
    ];
  }
}

/** Deletes the rows of `table` whose `column` starts with `prefix`. */
function _rangeDelete(
  table: string,
  column: string,
  prefix: string,
): LibsqlStatement {
  const upper = _prefixUpperBound(prefix);
  return {
    sql: upper === undefined
      ? `DELETE FROM ${table} WHERE ${column} >= ?1 AND substr(${column}, 1, length(?1)) = ?1`
      : `DELETE FROM ${table} WHERE ${column} >= ?1 AND ${column} < ?2`,
    args: upper === undefined ? [prefix] : [prefix, upper],
  };
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

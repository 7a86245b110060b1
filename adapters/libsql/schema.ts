/**
 * The tables of the libSQL stores, the schema version recorded in the
 * database, and the upgrade from older versions.
 *
 * @module
 */

import { StoreError } from "../../src/errors.ts";
import type { LibsqlClient, LibsqlStatement } from "./client.ts";

/** The schema version written by this release. */
export const LIBSQL_SCHEMA_VERSION: number = 4;

/** The table prefix used when none is given. */
export const DEFAULT_TABLE_PREFIX = "sluice_";

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/** The table names for one prefix. */
export interface LibsqlTableNames {
  /** Key-value facts about the schema, such as its version. */
  meta: string;
  /** Cache entries. */
  cache: string;
  /** The tags of cache entries: one row per (tag, key). */
  cacheTags: string;
  /** When a tag or an entry was last invalidated, for a while after. */
  cacheMarks: string;
  /** Single-flight jobs. */
  dedupe: string;
  /** The log of rate-limit admissions. */
  rateLimit: string;
  /** The last user admission of each resource, for the adaptive split. */
  activity: string;
  /** Server-requested cooldowns. */
  cooldown: string;
}

/**
 * Tells whether a table prefix is safe to splice into SQL.
 *
 * @param prefix The prefix to test.
 * @returns `true` for an identifier of at most 40 ASCII letters, digits and
 * underscores, not starting with a digit.
 */
export function isValidTablePrefix(prefix: unknown): prefix is string {
  return typeof prefix === "string" && PREFIX_PATTERN.test(prefix);
}

/**
 * Returns the table names for a prefix.
 *
 * @param prefix A prefix accepted by {@linkcode isValidTablePrefix}.
 * @returns The names.
 */
export function tableNames(
  prefix: string = DEFAULT_TABLE_PREFIX,
): LibsqlTableNames {
  if (!isValidTablePrefix(prefix)) {
    throw new TypeError(
      `Cannot name libSQL tables as the table prefix must be an identifier of at most 40 letters, digits and underscores: received ${
        JSON.stringify(prefix)
      }`,
    );
  }
  return {
    meta: `${prefix}meta`,
    cache: `${prefix}cache`,
    cacheTags: `${prefix}cache_tags`,
    cacheMarks: `${prefix}cache_marks`,
    dedupe: `${prefix}dedupe`,
    rateLimit: `${prefix}rate_limit`,
    activity: `${prefix}rate_activity`,
    cooldown: `${prefix}cooldown`,
  };
}

/**
 * Returns the statements that create the current schema for a table prefix.
 * Every statement is idempotent (`IF NOT EXISTS`, `INSERT OR IGNORE`), so
 * running them again, or from several processes at once, is safe.
 *
 * @param prefix The table prefix; `"sluice_"` when omitted.
 * @returns The DDL statements, in order.
 *
 * @example Provisioning tables with a custom prefix
 * ```ts
 * import { libsqlSchema } from "@sluice/http/libsql";
 *
 * const ddl = libsqlSchema("myapp_");
 * console.log(ddl[0]); // CREATE TABLE IF NOT EXISTS myapp_meta (…)
 * ```
 */
export function libsqlSchema(prefix: string = DEFAULT_TABLE_PREFIX): string[] {
  const t = tableNames(prefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.meta} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS ${t.cache} (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, size INTEGER NOT NULL DEFAULT 0, expires_at INTEGER, created_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${t.cache}_expires_at ON ${t.cache} (expires_at) WHERE expires_at IS NOT NULL`,
    // The tags of an entry live as long as it does: they go with its row,
    // and when an expired row is written over, the new entry starts
    // untagged. Triggers keep that true for every writer of the table.
    `CREATE TABLE IF NOT EXISTS ${t.cacheTags} (tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${t.cacheTags}_key ON ${t.cacheTags} (key)`,
    `CREATE TRIGGER IF NOT EXISTS ${t.cache}_tags_deleted AFTER DELETE ON ${t.cache} BEGIN DELETE FROM ${t.cacheTags} WHERE key = OLD.key; END`,
    `CREATE TRIGGER IF NOT EXISTS ${t.cache}_tags_renewed AFTER UPDATE ON ${t.cache} WHEN OLD.expires_at IS NOT NULL AND OLD.expires_at <= NEW.created_at BEGIN DELETE FROM ${t.cacheTags} WHERE key = NEW.key; END`,
    // `name` is `t:<tag>` or `k:<key>`; a write of a value obtained before
    // `at` is refused until `expires_at`.
    `CREATE TABLE IF NOT EXISTS ${t.cacheMarks} (name TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${t.cacheMarks}_expires_at ON ${t.cacheMarks} (expires_at)`,
    // A job's row: `expires_at` is when its lease runs out while it is
    // pending, and when its outcome may be forgotten once it settled. The
    // `prev_` columns keep the outcome of the settled job a new claim
    // replaced, for the waiters that joined that job.
    `CREATE TABLE IF NOT EXISTS ${t.dedupe} (key TEXT PRIMARY KEY NOT NULL, job_id TEXT NOT NULL, status TEXT NOT NULL, result BLOB, error TEXT, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER, prev_job_id TEXT, prev_status TEXT, prev_result BLOB)`,
    `CREATE INDEX IF NOT EXISTS ${t.dedupe}_updated_at ON ${t.dedupe} (updated_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.rateLimit} (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, at INTEGER NOT NULL, priority TEXT NOT NULL DEFAULT 'background')`,
    `CREATE INDEX IF NOT EXISTS ${t.rateLimit}_resource_at ON ${t.rateLimit} (resource, at)`,
    `CREATE INDEX IF NOT EXISTS ${t.rateLimit}_resource_priority_at ON ${t.rateLimit} (resource, priority, at)`,
    `CREATE TABLE IF NOT EXISTS ${t.activity} (resource TEXT PRIMARY KEY NOT NULL, last_user_at INTEGER NOT NULL) WITHOUT ROWID`,
    // Every user admission, however it is written, moves the resource's
    // last user activity in the same transaction.
    `CREATE TRIGGER IF NOT EXISTS ${t.rateLimit}_user_activity AFTER INSERT ON ${t.rateLimit} WHEN NEW.priority = 'user' BEGIN INSERT INTO ${t.activity} (resource, last_user_at) VALUES (NEW.resource, NEW.at) ON CONFLICT (resource) DO UPDATE SET last_user_at = max(last_user_at, excluded.last_user_at); END`,
    `CREATE TABLE IF NOT EXISTS ${t.cooldown} (resource TEXT PRIMARY KEY NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID`,
    `INSERT OR IGNORE INTO ${t.meta} (key, value) VALUES ('schema_version', '${LIBSQL_SCHEMA_VERSION}')`,
  ];
}

/**
 * The statements that create the current schema with the default `sluice_`
 * prefix, for users who provision tables themselves (then pass
 * `ensure: false` to the stores).
 *
 * @example Creating the tables by hand
 * ```ts
 * import { createClient } from "@libsql/client";
 * import { LIBSQL_SCHEMA } from "@sluice/http/libsql";
 *
 * const client = createClient({ url: "file:sluice.db" });
 * await client.batch([...LIBSQL_SCHEMA], "write");
 * ```
 */
export const LIBSQL_SCHEMA: readonly string[] = Object.freeze(libsqlSchema());

/**
 * Upgrade steps: `UPGRADES[n]` turns version `n` into version `n + 1`.
 * Version 1 had neither the priority of admissions, the last user activity
 * of the adaptive split, nor the size of cache entries. Version 2 had no
 * lease end on dedupe jobs, and kept no outcome of a replaced job.
 * Version 3 had no cache tags (their tables and triggers are created by the
 * schema statements that follow every upgrade).
 */
const UPGRADES: Record<number, (t: LibsqlTableNames) => string[]> = {
  1: (t) => [
    `ALTER TABLE ${t.rateLimit} ADD COLUMN priority TEXT NOT NULL DEFAULT 'background'`,
    `ALTER TABLE ${t.cache} ADD COLUMN size INTEGER NOT NULL DEFAULT 0`,
    `UPDATE ${t.cache} SET size = length(value)`,
  ],
  2: (t) => [
    `ALTER TABLE ${t.dedupe} ADD COLUMN expires_at INTEGER`,
    `ALTER TABLE ${t.dedupe} ADD COLUMN prev_job_id TEXT`,
    `ALTER TABLE ${t.dedupe} ADD COLUMN prev_status TEXT`,
    `ALTER TABLE ${t.dedupe} ADD COLUMN prev_result BLOB`,
    // Version 2 gave every job the default timeout and kept settled jobs
    // for a minute.
    `UPDATE ${t.dedupe} SET expires_at = CASE WHEN status = 'pending' THEN started_at + 300000 ELSE updated_at + 60000 END`,
  ],
  3: () => [],
};

/** Options for {@linkcode migrate}. */
export interface MigrateOptions {
  /**
   * The table prefix the stores use.
   *
   * @default {"sluice_"}
   */
  tablePrefix?: string;
}

/** What {@linkcode migrate} did. */
export interface MigrateResult {
  /** The schema version found: `0` for a database without sluice tables. */
  from: number;
  /** The schema version now recorded. */
  to: number;
}

/**
 * Creates the sluice tables in a database, or upgrades tables made by an
 * older release, and records the schema version in the `<prefix>meta`
 * table. Safe to run from several processes at once, and a no-op (one round
 * trip) when the schema is current.
 *
 * @param client A libSQL client.
 * @param options The table prefix.
 * @returns The version found and the version now recorded.
 * @throws {StoreError} When the database cannot be reached or written, or
 * holds a newer schema than this release knows.
 *
 * @example Upgrading at deploy time
 * ```ts
 * import { createClient } from "@libsql/client";
 * import { migrate } from "@sluice/http/libsql";
 *
 * const client = createClient({ url: "file:sluice.db" });
 * const { from, to } = await migrate(client);
 * console.log(`schema ${from} -> ${to}`);
 * ```
 */
export async function migrate(
  client: LibsqlClient,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  if (!isValidTablePrefix(prefix)) {
    throw new StoreError(
      `Cannot migrate the libSQL schema as 'tablePrefix' must be an identifier of at most 40 letters, digits and underscores: received ${
        JSON.stringify(prefix)
      }`,
      "libsql",
      "migrate",
    );
  }
  const t = tableNames(prefix);
  try {
    const from = await _readVersion(client, t);
    if (from === LIBSQL_SCHEMA_VERSION) return { from, to: from };
    if (from > LIBSQL_SCHEMA_VERSION) {
      throw new StoreError(
        `Cannot use the libSQL tables '${prefix}*' as their schema version ${from} is newer than this release supports (${LIBSQL_SCHEMA_VERSION}); upgrade @sluice/http`,
        "libsql",
        "migrate",
      );
    }
    if (from === 0) {
      await client.batch(libsqlSchema(prefix).map(_plain), "write");
      return { from, to: LIBSQL_SCHEMA_VERSION };
    }
    await _upgrade(client, t, prefix);
    return { from, to: LIBSQL_SCHEMA_VERSION };
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      `Cannot migrate the libSQL schema of tables '${prefix}*': ${
        _message(error)
      }`,
      "libsql",
      "migrate",
      { cause: error },
    );
  }
}

/** Reads the recorded version; 1 for sluice tables without a version; 0 for none. */
async function _readVersion(
  client: LibsqlClient,
  t: LibsqlTableNames,
): Promise<number> {
  const [, version, tables] = await client.batch([
    _plain(
      `CREATE TABLE IF NOT EXISTS ${t.meta} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`,
    ),
    _plain(`SELECT value FROM ${t.meta} WHERE key = 'schema_version'`),
    {
      sql:
        `SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (?1, ?2, ?3, ?4)`,
      args: [t.cache, t.dedupe, t.rateLimit, t.cooldown],
    },
  ], "write");
  const recorded = version?.rows[0]?.value;
  if (recorded !== undefined && recorded !== null) {
    const parsed = Number(recorded);
    if (!Number.isSafeInteger(parsed) || parsed < 1) {
      throw new StoreError(
        `Cannot read the libSQL schema version from ${t.meta}: received ${
          JSON.stringify(recorded)
        }`,
        "libsql",
        "migrate",
      );
    }
    return parsed;
  }
  return Number(tables?.rows[0]?.n ?? 0) > 0 ? 1 : 0;
}

/**
 * Applies the upgrade steps inside one write transaction, re-reading the
 * version under the write lock so that two processes never apply a step
 * twice.
 */
async function _upgrade(
  client: LibsqlClient,
  t: LibsqlTableNames,
  prefix: string,
): Promise<void> {
  const tx = await client.transaction("write");
  try {
    const row = (await tx.execute(
      _plain(`SELECT value FROM ${t.meta} WHERE key = 'schema_version'`),
    )).rows[0];
    let version = row === undefined ? 1 : Number(row.value);
    if (version < LIBSQL_SCHEMA_VERSION) {
      for (; version < LIBSQL_SCHEMA_VERSION; version++) {
        const step = UPGRADES[version];
        if (step === undefined) {
          throw new StoreError(
            `Cannot upgrade the libSQL tables '${prefix}*' from schema version ${version}: no upgrade is known`,
            "libsql",
            "migrate",
          );
        }
        for (const sql of step(t)) await tx.execute(_plain(sql));
      }
      // Creates what the upgrade steps did not (new tables and indexes).
      for (const sql of libsqlSchema(prefix)) await tx.execute(_plain(sql));
      await tx.execute({
        sql:
          `INSERT INTO ${t.meta} (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        args: [String(LIBSQL_SCHEMA_VERSION)],
      });
    }
    await tx.commit();
  } finally {
    tx.close();
  }
}

function _plain(sql: string): LibsqlStatement {
  return { sql, args: [] };
}

function _message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

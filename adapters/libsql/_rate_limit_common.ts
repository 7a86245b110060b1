import type { Budgets } from "../../src/stores/_budgets.ts";
import { cooldownDuration } from "../../src/stores/_validate.ts";
import type { _Connection } from "./_connection.ts";
import { _int } from "./_connection.ts";
import type { LibsqlStatement } from "./client.ts";

/**
 * The time an admission is recorded at: the writer's clock (`?2`), but never
 * earlier than the latest admission of the resource (`?1`). A writer that
 * read its clock and then waited for the write lock thus never lands behind
 * admissions another writer already counted and trimmed, so the log stays
 * ordered and trimming it is safe whatever order transactions commit in.
 * Defines the CTE `t(at)` for the statement that follows.
 */
export function _admissionTime(table: string): string {
  return `WITH t(at) AS (SELECT max(?2, coalesce((SELECT max(at) FROM ${table} WHERE resource = ?1), ?2)))`;
}

/** Counts of one resource's window, read in one statement. */
export interface _WindowCounts {
  /** Admissions of any priority in the window. */
  total: number;
  /** Background admissions in the window. */
  background: number;
  /** The oldest admission in the window. */
  oldest: number | undefined;
  /** When the admission that frees one slot of the total budget was made. */
  releaseAt: number | undefined;
  /** When the admission that frees one background slot was made. */
  backgroundReleaseAt: number | undefined;
  /** User admissions since `usersSince`, when asked for. */
  users: number | undefined;
}

/**
 * Reads the window of a resource: counts, the oldest admission, and which
 * admissions must leave before another one fits (`limit` for the total,
 * `backgroundMax` for background).
 */
export function _windowStatement(
  table: string,
  resource: string,
  since: number,
  limit: number,
  backgroundMax: number,
  usersSince: number | null = null,
): LibsqlStatement {
  return {
    sql:
      `WITH w AS (SELECT at, priority FROM ${table} WHERE resource = ?1 AND at > ?2) SELECT count(*) AS total, coalesce(sum(priority = 'background'), 0) AS background, min(at) AS oldest, (SELECT at FROM w ORDER BY at LIMIT 1 OFFSET max(0, (SELECT count(*) FROM w) - ?3)) AS release_at, (SELECT at FROM w WHERE priority = 'background' ORDER BY at LIMIT 1 OFFSET max(0, (SELECT count(*) FROM w WHERE priority = 'background') - ?4)) AS background_release_at, CASE WHEN ?5 IS NULL THEN NULL ELSE (SELECT count(*) FROM ${table} WHERE resource = ?1 AND priority = 'user' AND at > ?5) END AS users FROM w`,
    args: [resource, since, limit, backgroundMax, usersSince],
  };
}

/** Parses the row of {@linkcode _windowStatement}. */
export function _windowCounts(
  row: Readonly<Record<string, unknown>> | undefined,
): _WindowCounts {
  return {
    total: _int(row?.total) ?? 0,
    background: _int(row?.background) ?? 0,
    oldest: _int(row?.oldest),
    releaseAt: _int(row?.release_at),
    backgroundReleaseAt: _int(row?.background_release_at),
    users: _int(row?.users),
  };
}

/** The cooldown statements shared by both rate-limit stores. */
export class _Cooldowns {
  readonly #db: _Connection;
  readonly #component: string;
  readonly #table: string;

  constructor(db: _Connection, component: string) {
    this.#db = db;
    this.#component = component;
    this.#table = db.tables.cooldown;
  }

  async set(resource: string, durationMs: number): Promise<void> {
    const duration = cooldownDuration(this.#component, durationMs);
    const until = this.#db.now() + duration;
    await this.#db.execute("setCooldown", "set a cooldown", {
      sql:
        `INSERT INTO ${this.#table} (resource, until) VALUES (?1, ?2) ON CONFLICT (resource) DO UPDATE SET until = max(until, excluded.until)`,
      args: [resource, until],
    });
  }

  async get(resource: string): Promise<number> {
    const result = await this.#db.execute("getCooldown", "read a cooldown", {
      sql: `SELECT until FROM ${this.#table} WHERE resource = ?1`,
      args: [resource],
    });
    const until = _int(result.rows[0]?.until);
    return until === undefined ? 0 : Math.max(0, until - this.#db.now());
  }

  deleteStatement(resource: string): LibsqlStatement {
    return {
      sql: `DELETE FROM ${this.#table} WHERE resource = ?1`,
      args: [resource],
    };
  }

  cleanupStatement(now: number): LibsqlStatement {
    return {
      sql: `DELETE FROM ${this.#table} WHERE until <= ?1`,
      args: [now],
    };
  }
}

/** Statistics of a rate-limit store. */
export interface LibsqlRateLimitStats {
  /** Admissions currently kept in the log, all resources together. */
  totalRequests: number;
  /** Resources with at least one admission in the log. */
  uniqueResources: number;
  /**
   * Resources whose budget, as this store configures it, is spent right
   * now; at most 100, in order.
   */
  rateLimitedResources: string[];
  /** Resources with a cooldown that still runs. */
  coolingDownResources: string[];
}

/**
 * Reads rate-limit statistics in one round trip: totals, the resources whose
 * budget (as `budgets` configures it) is spent, and running cooldowns.
 */
export async function _readStats(
  db: _Connection,
  budgets: Budgets,
  extra?: LibsqlStatement,
): Promise<
  LibsqlRateLimitStats & { extra?: Readonly<Record<string, unknown>> }
> {
  const now = db.now();
  const { rateLimit, cooldown } = db.tables;
  const fallback = budgets.fallback;
  // The enforced overrides as JSON: `{ resource: [limit, windowMs] }`.
  const overrides: Record<string, [number, number]> = {};
  for (const [resource, { limit, windowMs }] of budgets.effectiveOverrides()) {
    overrides[resource] = [limit, windowMs];
  }
  const [totals, limited, cooling, more] = await db.batch(
    "getStats",
    "read rate-limit statistics",
    [
      {
        sql:
          `SELECT count(*) AS n, count(DISTINCT resource) AS resources FROM ${rateLimit}`,
        args: [],
      },
      {
        sql:
          `WITH b AS (SELECT key AS resource, json_extract(value, '$[0]') AS lim, json_extract(value, '$[1]') AS win FROM json_each(?1)), r AS (SELECT DISTINCT resource FROM ${rateLimit} WHERE at > ?2) SELECT r.resource AS resource FROM r LEFT JOIN b ON b.resource = r.resource WHERE (SELECT count(*) FROM ${rateLimit} x WHERE x.resource = r.resource AND x.at > ?3 - coalesce(b.win, ?4)) >= coalesce(b.lim, ?5) ORDER BY r.resource LIMIT 100`,
        args: [
          JSON.stringify(overrides),
          now - budgets.longestWindowMs(),
          now,
          fallback.windowMs,
          fallback.limit,
        ],
      },
      {
        sql:
          `SELECT resource FROM ${cooldown} WHERE until > ?1 ORDER BY resource LIMIT 100`,
        args: [now],
      },
      ...(extra === undefined ? [] : [extra]),
    ],
  );
  const extraRow = more?.rows[0];
  return {
    ...(extraRow === undefined ? {} : { extra: extraRow }),
    totalRequests: _int(totals?.rows[0]?.n) ?? 0,
    uniqueResources: _int(totals?.rows[0]?.resources) ?? 0,
    rateLimitedResources: (limited?.rows ?? []).map((row) =>
      String(row.resource)
    ),
    coolingDownResources: (cooling?.rows ?? []).map((row) =>
      String(row.resource)
    ),
  };
}

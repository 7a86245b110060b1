import type { Clock } from "../../src/clock.ts";
import type {
  RateWindow,
  RateWindowAdmitReply,
  RateWindowAdmitRequest,
  RateWindowQuery,
  RateWindowRetention,
  RateWindowStats,
  RateWindowStatus,
  RateWindowUserCounts,
  RateWindowUsers,
} from "../../src/stores/rate_window.ts";
import type { RateLimitStoreStats } from "../../src/stores/types.ts";
import type { EnforcedBudgets } from "../../src/stores/window_rate_limit_store.ts";
import {
  _Connection,
  _int,
  type LibsqlConnectionOptions,
} from "./_connection.ts";
import type { LibsqlRow, LibsqlStatement, LibsqlValue } from "./client.ts";

/** Statistics of a libSQL rate-limit store. */
export type LibsqlRateLimitStats = RateLimitStoreStats;

/** A cooldown end that is a number: anything else a hand or a bug wrote counts as none. */
const VALID_UNTIL = "typeof(until) IN ('integer', 'real')";

/**
 * The {@linkcode RateWindow} of the libSQL stores, on the tables of
 * `schema.ts`: every admission a row of `<prefix>rate_limit` (resource, time,
 * priority), the newest user admission per resource in
 * `<prefix>rate_activity` (kept by a trigger), cooldown ends in
 * `<prefix>cooldown`. `admit` is one write batch (one round trip, one
 * transaction): trim, a conditional insert, and one read of what the reply
 * needs. `status` is one read.
 */
export class _LibsqlRateWindow implements RateWindow {
  readonly #db: _Connection;
  readonly #log: string;
  readonly #activity: string;
  readonly #cooldown: string;

  constructor(component: string, options: LibsqlConnectionOptions) {
    this.#db = new _Connection(component, options);
    const { rateLimit, activity, cooldown } = this.#db.tables;
    this.#log = rateLimit;
    this.#activity = activity;
    this.#cooldown = cooldown;
  }

  /** The clock the times are read from. */
  get clock(): Clock {
    return this.#db.clock;
  }

  async admit(
    resource: string,
    request: RateWindowAdmitRequest,
  ): Promise<RateWindowAdmitReply> {
    const now = this.#db.now();
    const { limit, windowMs, backgroundMax, users, force } = request;
    const { cooldownResource, priority } = request;
    const log = this.#log;
    const statements: LibsqlStatement[] = [{
      sql:
        `DELETE FROM ${log} WHERE resource = ?1 AND priority = 'background' AND at <= ?2`,
      args: [resource, now - windowMs],
    }];
    if (users !== null) {
      statements.push({
        sql:
          `DELETE FROM ${log} WHERE resource = ?1 AND priority = 'user' AND at <= ?2`,
        args: [resource, now - Math.max(windowMs, users.monitoringMs)],
      });
    }
    // Only the checks this request needs are in the statement, so that the
    // common one (no cooldown, no share) stays short to prepare and to run.
    const insert = new _Params();
    const r = insert.add(resource);
    const at = insert.add(now);
    const level = insert.add(priority);
    const checks: string[] = [];
    if (!force) {
      if (cooldownResource !== null) {
        checks.push(
          `NOT EXISTS (SELECT 1 FROM ${this.#cooldown} WHERE resource = ${
            insert.add(cooldownResource)
          } AND ${VALID_UNTIL} AND until > ${at})`,
        );
      }
      const span = insert.add(windowMs);
      checks.push(
        `(SELECT count(*) FROM ${log} WHERE resource = ${r} AND at > ${at} - ${span}) < ${
          insert.add(limit)
        }`,
      );
      if (priority === "background" && backgroundMax !== null) {
        if (request.backgroundPaused) checks.push("0");
        checks.push(
          `(SELECT count(*) FROM ${log} WHERE resource = ${r} AND priority = 'background' AND at > ${at} - ${span}) < ${
            insert.add(backgroundMax)
          }`,
        );
        if (request.idleSince !== null) {
          const idle = insert.add(request.idleSince);
          checks.push(
            `coalesce((SELECT last_user_at FROM ${this.#activity} WHERE resource = ${r}), ${idle} - 1) < ${idle}`,
          );
        }
      }
    }
    // The admission is recorded at the writer's clock, but never before the
    // latest admission of the resource: a writer that read its clock and
    // then waited for the lock never lands behind admissions another one
    // already counted and trimmed, so the log stays ordered whatever order
    // transactions commit in. It counts from its own reading, though: every
    // admission younger than `windowMs` then, later ones included. That is
    // a superset of the window that ends where it is recorded, and it
    // decides as of the time the store asked, however late it runs.
    statements.push({
      sql:
        `WITH t(at) AS (SELECT max(${at}, coalesce((SELECT max(at) FROM ${log} WHERE resource = ${r}), ${at}))) INSERT INTO ${log} (resource, at, priority) SELECT ${r}, t.at, ${level} FROM t${
          checks.length === 0 ? "" : ` WHERE ${checks.join(" AND ")}`
        } RETURNING id`,
      args: insert.args,
    });
    // What the reply needs besides the admission; the waits only when it
    // was refused (`changes()` is the insert's row count).
    const read = new _Params();
    const rr = read.add(resource);
    let since: string | undefined;
    const inWindow = (): string => since ??= read.add(now - windowMs);
    const columns: string[] = [];
    if (cooldownResource !== null && !force) {
      columns.push(
        `CASE WHEN changes() = 0 THEN (SELECT until FROM ${this.#cooldown} WHERE resource = ${
          read.add(cooldownResource)
        }) END AS until`,
      );
    }
    if (request.measureWaits && !force) {
      columns.push(
        `CASE WHEN changes() = 0 THEN (SELECT at FROM ${log} WHERE resource = ${rr} AND at > ${inWindow()} ORDER BY at DESC LIMIT 1 OFFSET ${
          read.add(limit - 1)
        }) END AS release_at`,
      );
      if (
        priority === "background" && backgroundMax !== null &&
        backgroundMax > 0
      ) {
        columns.push(
          `CASE WHEN changes() = 0 THEN (SELECT at FROM ${log} WHERE resource = ${rr} AND priority = 'background' AND at > ${inWindow()} ORDER BY at DESC LIMIT 1 OFFSET ${
            read.add(backgroundMax - 1)
          }) END AS background_release_at`,
        );
      }
    }
    if (
      users !== null && (request.countUsers || request.idleSince !== null)
    ) {
      columns.push(...this.#usersColumns(read, rr, now, users, request));
    }
    if (columns.length > 0) {
      statements.push({
        sql: `SELECT ${columns.join(", ")}`,
        args: read.args,
      });
    }
    const results = await this.#db.batch(
      force ? "record" : "acquire",
      force ? "record a rate-limit admission" : "acquire a rate-limit slot",
      statements,
    );
    const inserted = results[statements.length - (columns.length > 0 ? 2 : 1)];
    const row = columns.length > 0
      ? results[statements.length - 1]?.rows[0]
      : undefined;
    const until = _int(row?.until);
    const ref = _int(inserted?.rows[0]?.id);
    return {
      admitted: (inserted?.rows.length ?? 0) > 0,
      ...(ref === undefined ? {} : { ref }),
      now,
      waitMs: _wait(row?.release_at, windowMs, now),
      backgroundWaitMs: _wait(row?.background_release_at, windowMs, now),
      cooldownMs: until === undefined ? 0 : Math.max(0, until - now),
      users: _users(row, users, request.countUsers),
      lastUserAt: users === null ? null : _int(row?.last_user_at) ?? null,
    };
  }

  async postpone(
    resource: string,
    ref: unknown,
    marginMs: number,
  ): Promise<boolean> {
    if (typeof ref !== "number") return false;
    const result = await this.#db.execute(
      "postpone",
      "postpone a rate-limit admission",
      {
        sql:
          `UPDATE ${this.#log} SET at = max(at, ?1) WHERE id = ?2 AND resource = ?3 RETURNING id`,
        args: [this.#db.now() - marginMs, ref, resource],
      },
    );
    return result.rows.length > 0;
  }

  async status(
    resource: string,
    query: RateWindowQuery,
  ): Promise<RateWindowStatus> {
    const now = this.#db.now();
    const { limit, windowMs, backgroundMax, users } = query;
    const log = this.#log;
    const read = new _Params();
    const r = read.add(resource);
    const since = read.add(now - windowMs);
    const columns = [
      `(SELECT count(*) FROM ${log} WHERE resource = ${r} AND at > ${since}) AS total`,
      `(SELECT min(at) FROM ${log} WHERE resource = ${r} AND at > ${since}) AS oldest`,
      `(SELECT at FROM ${log} WHERE resource = ${r} AND at > ${since} ORDER BY at DESC LIMIT 1 OFFSET ${
        read.add(limit - 1)
      }) AS release_at`,
    ];
    if (backgroundMax !== null) {
      columns.push(
        `(SELECT count(*) FROM ${log} WHERE resource = ${r} AND priority = 'background' AND at > ${since}) AS background`,
      );
      if (backgroundMax > 0) {
        columns.push(
          `(SELECT at FROM ${log} WHERE resource = ${r} AND priority = 'background' AND at > ${since} ORDER BY at DESC LIMIT 1 OFFSET ${
            read.add(backgroundMax - 1)
          }) AS background_release_at`,
        );
      }
    }
    if (users !== null) {
      columns.push(...this.#usersColumns(read, r, now, users, query));
    }
    const result = await this.#db.execute(
      "status",
      "read a rate-limit window",
      { sql: `SELECT ${columns.join(", ")}`, args: read.args },
    );
    const row = result.rows[0];
    return {
      now,
      total: _int(row?.total) ?? 0,
      background: _int(row?.background) ?? 0,
      oldestAt: _int(row?.oldest) ?? null,
      waitMs: _wait(row?.release_at, windowMs, now),
      backgroundWaitMs: _wait(row?.background_release_at, windowMs, now),
      users: _users(row, users, query.countUsers),
      lastUserAt: users === null ? null : _int(row?.last_user_at) ?? null,
    };
  }

  async reset(resource: string): Promise<void> {
    await this.#db.batch(
      "reset",
      "reset a rate-limited resource",
      [this.#log, this.#activity, this.#cooldown].map((table) => ({
        sql: `DELETE FROM ${table} WHERE resource = ?1`,
        args: [resource],
      })),
    );
  }

  async setCooldown(resource: string, durationMs: number): Promise<void> {
    await this.#db.execute("setCooldown", "set a cooldown", {
      sql:
        `INSERT INTO ${this.#cooldown} (resource, until) VALUES (?1, ?2) ON CONFLICT (resource) DO UPDATE SET until = CASE WHEN ${VALID_UNTIL} AND until > excluded.until THEN until ELSE excluded.until END`,
      args: [resource, this.#db.now() + durationMs],
    });
  }

  async getCooldown(resource: string): Promise<number> {
    const result = await this.#db.execute("getCooldown", "read a cooldown", {
      sql: `SELECT until FROM ${this.#cooldown} WHERE resource = ?1`,
      args: [resource],
    });
    const until = _int(result.rows[0]?.until);
    return until === undefined ? 0 : Math.max(0, until - this.#db.now());
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  /**
   * Removes admissions older than the longest window (and, with `users`,
   * user admissions past the monitoring window and activity past the
   * inactivity threshold), and cooldowns that ended or cannot be read.
   */
  async cleanup(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<number> {
    const now = this.#db.now();
    const longest = budgets.longestWindowMs;
    const statements: LibsqlStatement[] = [
      users === null
        ? {
          sql:
            `DELETE FROM ${this.#log} WHERE priority = 'background' AND at <= ?1`,
          args: [now - longest],
        }
        : {
          sql:
            `DELETE FROM ${this.#log} WHERE (priority = 'background' AND at <= ?1) OR at <= ?2`,
          args: [now - longest, now - Math.max(longest, users.monitoringMs)],
        },
    ];
    if (users !== null) {
      statements.push({
        sql: `DELETE FROM ${this.#activity} WHERE last_user_at <= ?1`,
        args: [now - users.lastUserMs],
      });
    }
    statements.push({
      sql:
        `DELETE FROM ${this.#cooldown} WHERE NOT (${VALID_UNTIL}) OR until <= ?1`,
      args: [now],
    });
    // The rows removed: the change count after the deletions, less before.
    const count = { sql: "SELECT total_changes() AS n", args: [] };
    const results = await this.#db.batch(
      "cleanup",
      "remove old rate-limit admissions",
      [count, ...statements, count],
    );
    return (_int(results.at(-1)?.rows[0]?.n) ?? 0) -
      (_int(results[0]?.rows[0]?.n) ?? 0);
  }

  /**
   * Reads statistics in one round trip: totals, the resources whose budget
   * is spent, running cooldowns, and with `users` the user admissions of
   * the monitoring window.
   */
  async stats(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<RateWindowStats> {
    const now = this.#db.now();
    const { fallback } = budgets;
    // The enforced overrides as JSON: `{ resource: [limit, windowMs] }`.
    const overrides: Record<string, [number, number]> = {};
    for (const [resource, { limit, windowMs }] of budgets.overrides) {
      overrides[resource] = [limit, windowMs];
    }
    const log = this.#log;
    const statements: LibsqlStatement[] = [
      {
        sql:
          `SELECT count(*) AS n, count(DISTINCT resource) AS resources FROM ${log}`,
        args: [],
      },
      {
        sql:
          `WITH b AS (SELECT key AS resource, json_extract(value, '$[0]') AS lim, json_extract(value, '$[1]') AS win FROM json_each(?1)), r AS (SELECT DISTINCT resource FROM ${log} WHERE at > ?2) SELECT r.resource AS resource FROM r LEFT JOIN b ON b.resource = r.resource WHERE (SELECT count(*) FROM ${log} x WHERE x.resource = r.resource AND x.at > ?3 - coalesce(b.win, ?4)) >= coalesce(b.lim, ?5) ORDER BY r.resource LIMIT 100`,
        args: [
          JSON.stringify(overrides),
          now - budgets.longestWindowMs,
          now,
          fallback.windowMs,
          fallback.limit,
        ],
      },
      {
        sql:
          `SELECT resource FROM ${this.#cooldown} WHERE ${VALID_UNTIL} AND until > ?1 ORDER BY resource LIMIT 100`,
        args: [now],
      },
    ];
    if (users !== null) {
      statements.push({
        sql:
          `SELECT count(*) AS n, count(DISTINCT resource) AS resources FROM ${log} WHERE priority = 'user' AND at > ?1`,
        args: [now - users.monitoringMs],
      });
    }
    const [totals, limited, cooling, recent] = await this.#db.batch(
      "getStats",
      "read rate-limit statistics",
      statements,
    );
    const recentRow = recent?.rows[0];
    return {
      totalRequests: _int(totals?.rows[0]?.n) ?? 0,
      uniqueResources: _int(totals?.rows[0]?.resources) ?? 0,
      rateLimitedResources: (limited?.rows ?? []).map((row) =>
        String(row.resource)
      ),
      coolingDownResources: (cooling?.rows ?? []).map((row) =>
        String(row.resource)
      ),
      ...(recentRow === undefined ? {} : {
        recentUsers: {
          n: _int(recentRow.n) ?? 0,
          resources: _int(recentRow.resources) ?? 0,
        },
      }),
    };
  }

  /** The columns of the newest user admission and, when asked, the user counts. */
  #usersColumns(
    read: _Params,
    r: string,
    now: number,
    users: RateWindowUsers,
    query: RateWindowQuery,
  ): string[] {
    const columns = [
      `(SELECT last_user_at FROM ${this.#activity} WHERE resource = ${r}) AS last_user_at`,
    ];
    if (query.countUsers) {
      const recent = read.add(now - users.monitoringMs);
      const last = read.add(now - users.lastThirdMs);
      const previous = read.add(now - users.previousThirdMs);
      const count = (since: string, until?: string) =>
        `(SELECT count(*) FROM ${this.#log} WHERE resource = ${r} AND priority = 'user' AND at > ${since}${
          until === undefined ? "" : ` AND at <= ${until}`
        })`;
      columns.push(
        `${count(recent)} AS recent`,
        `${count(last)} AS last_third`,
        `${count(previous, last)} AS previous_third`,
      );
    }
    return columns;
  }
}

/** The arguments of one statement, each added once and named `?n`. */
class _Params {
  readonly args: LibsqlValue[] = [];

  /** Adds a value; returns its placeholder. */
  add(value: LibsqlValue): string {
    return `?${this.args.push(value)}`;
  }
}

/** The wait until an admission made at `releaseAt` leaves the window. */
function _wait(releaseAt: unknown, windowMs: number, now: number): number {
  const at = _int(releaseAt);
  return at === undefined ? 0 : Math.max(0, at + windowMs - now);
}

function _users(
  row: LibsqlRow | undefined,
  users: RateWindowUsers | null,
  countUsers: boolean,
): RateWindowUserCounts | null {
  if (users === null || !countUsers) return null;
  return {
    recent: _int(row?.recent) ?? 0,
    lastThird: _int(row?.last_third) ?? 0,
    previousThird: _int(row?.previous_third) ?? 0,
  };
}

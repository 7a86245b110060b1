import type {
  LeaseBackend,
  LeaseClaim,
  LeaseOutcome,
  LeasePeek,
} from "../../src/stores/lease.ts";
import type { DedupeStoreStats } from "../../src/stores/types.ts";
import { _asBytes } from "../../src/stores/_payload.ts";
import { type _Connection, _int } from "./_connection.ts";
import type { LibsqlStatement } from "./client.ts";

/**
 * When a job's lease or retention ends. Rows written by releases before
 * schema 3 carry no `expires_at`; they had the default timeout and a
 * minute of retention.
 */
const EXPIRES =
  "coalesce(expires_at, CASE WHEN status = 'pending' THEN started_at + 300000 ELSE updated_at + 60000 END)";

/**
 * Automatic cleanup keeps ended rows this much longer, so that a new owner
 * still learns what its job replaced (`previous`).
 */
const CLEANUP_MARGIN_MS = 60_000;

/**
 * The lease primitive in a libSQL table: one row per key, every operation
 * one statement or one write batch (one round trip), times from the store's
 * clock.
 */
export class _LibsqlLeaseBackend implements LeaseBackend<Uint8Array> {
  readonly backend = "libsql";
  readonly timeoutMs: number;
  readonly #db: _Connection;
  readonly #table: string;
  readonly #cleanupIntervalMs: number;
  #nextCleanupAt = Number.NEGATIVE_INFINITY;

  /**
   * @param db The store's connection.
   * @param cleanupIntervalMs The least time between automatic cleanups
   * inside `claim`; `0` turns them off.
   * @param timeoutMs How long a waiter's check may take.
   */
  constructor(db: _Connection, cleanupIntervalMs: number, timeoutMs: number) {
    this.#db = db;
    this.#table = db.tables.dedupe;
    this.#cleanupIntervalMs = cleanupIntervalMs;
    this.timeoutMs = timeoutMs;
  }

  async claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): Promise<LeaseClaim> {
    const now = this.#db.now();
    const statements: LibsqlStatement[] = [
      {
        sql: `SELECT job_id, status FROM ${this.#table} WHERE key = ?1`,
        args: [key],
      },
      {
        // The outcome of a settled job moves to the prev_ columns, for the
        // waiters that joined it.
        sql:
          `INSERT INTO ${this.#table} (key, job_id, status, result, error, started_at, updated_at, expires_at) VALUES (?1, ?2, 'pending', NULL, NULL, ?3, ?3, ?4) ON CONFLICT (key) DO UPDATE SET prev_job_id = CASE WHEN status = 'pending' THEN NULL ELSE job_id END, prev_status = CASE WHEN status = 'pending' THEN NULL ELSE status END, prev_result = CASE WHEN status = 'completed' THEN result END, job_id = excluded.job_id, status = 'pending', result = NULL, error = NULL, started_at = excluded.started_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at WHERE ?5 = 0 OR status <> 'pending' OR ${EXPIRES} <= ?3 RETURNING job_id`,
        args: [key, jobId, now, now + leaseMs, join ? 1 : 0],
      },
    ];
    if (this.#cleanupIntervalMs > 0 && now >= this.#nextCleanupAt) {
      this.#nextCleanupAt = now + this.#cleanupIntervalMs;
      statements.push(this.#cleanupStatement(now - CLEANUP_MARGIN_MS));
    }
    const [before, claimed] = await this.#db.batch(
      join ? "registerOrJoin" : "register",
      "register a dedupe job",
      statements,
    );
    const row = before?.rows[0];
    if ((claimed?.rows.length ?? 0) === 0) {
      return { owner: false, jobId: String(row?.job_id ?? "") };
    }
    return {
      owner: true,
      jobId,
      previous: row === undefined
        ? "none"
        : row.status === "completed"
        ? "completed"
        : "failed",
    };
  }

  async settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: Uint8Array | undefined,
    retentionMs: number,
  ): Promise<boolean> {
    const now = this.#db.now();
    if (outcome === "completed") {
      await this.#db.execute("complete", "complete a dedupe job", {
        sql:
          `INSERT INTO ${this.#table} (key, job_id, status, result, error, started_at, updated_at, expires_at) VALUES (?1, ?2, 'completed', ?3, NULL, ?4, ?4, ?5) ON CONFLICT (key) DO UPDATE SET job_id = CASE WHEN status = 'pending' THEN job_id ELSE excluded.job_id END, status = 'completed', result = excluded.result, error = NULL, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
        args: [
          key,
          jobId ?? crypto.randomUUID(),
          value ?? null,
          now,
          now + retentionMs,
        ],
      });
      return true;
    }
    const result = await this.#db.execute("fail", "fail a dedupe job", {
      sql:
        `UPDATE ${this.#table} SET status = 'failed', result = NULL, updated_at = ?2, expires_at = ?3 WHERE key = ?1 AND status = 'pending' AND (?4 IS NULL OR job_id = ?4) RETURNING 1 AS failed`,
      args: [key, now, now + retentionMs, jobId ?? null],
    });
    return result.rows.length > 0;
  }

  async peek(
    key: string,
    jobId: string | undefined,
  ): Promise<LeasePeek<Uint8Array>> {
    const result = await this.#db.execute("waitFor", "wait for a dedupe job", {
      sql:
        `SELECT job_id, status, result, updated_at, ${EXPIRES} AS expires_at, prev_job_id, prev_status, prev_result FROM ${this.#table} WHERE key = ?1`,
      args: [key],
    });
    const row = result.rows[0];
    if (row === undefined) return { state: "none", jobId: "", settledAgoMs: 0 };
    const now = this.#db.now();
    const id = String(row.job_id);
    if (jobId !== undefined && id !== jobId && row.prev_job_id === jobId) {
      return row.prev_status === "completed"
        ? {
          state: "completed",
          jobId,
          value: _asBytes(row.prev_result) as Uint8Array,
          settledAgoMs: Number.POSITIVE_INFINITY,
        }
        : { state: "failed", jobId, settledAgoMs: Number.POSITIVE_INFINITY };
    }
    if (row.status === "pending") {
      const expires = _int(row.expires_at) ?? 0;
      return expires > now
        ? { state: "running", jobId: id, settledAgoMs: 0 }
        : { state: "failed", jobId: id, settledAgoMs: now - expires };
    }
    const settledAgoMs = now - (_int(row.updated_at) ?? 0);
    return row.status === "completed"
      ? {
        state: "completed",
        jobId: id,
        value: _asBytes(row.result) as Uint8Array,
        settledAgoMs,
      }
      : { state: "failed", jobId: id, settledAgoMs };
  }

  async inProgress(key: string): Promise<boolean> {
    const result = await this.#db.execute(
      "isInProgress",
      "read a dedupe job",
      {
        sql:
          `SELECT 1 AS running FROM ${this.#table} WHERE key = ?1 AND status = 'pending' AND ${EXPIRES} > ?2`,
        args: [key, this.#db.now()],
      },
    );
    return result.rows.length > 0;
  }

  async stats(): Promise<DedupeStoreStats> {
    const result = await this.#db.execute(
      "getStats",
      "read dedupe statistics",
      {
        sql:
          `SELECT count(*) AS total, coalesce(sum(status = 'pending' AND ${EXPIRES} > ?1), 0) AS pending, coalesce(sum(status = 'completed'), 0) AS completed, coalesce(sum(status = 'failed'), 0) AS failed, coalesce(sum(status = 'pending' AND ${EXPIRES} <= ?1), 0) AS expired FROM ${this.#table}`,
        args: [this.#db.now()],
      },
    );
    const row = result.rows[0] ?? {};
    return {
      totalJobs: _int(row.total) ?? 0,
      pendingJobs: _int(row.pending) ?? 0,
      completedJobs: _int(row.completed) ?? 0,
      failedJobs: _int(row.failed) ?? 0,
      expiredJobs: _int(row.expired) ?? 0,
    };
  }

  async cleanup(): Promise<number> {
    const [, count] = await this.#db.batch(
      "cleanup",
      "remove settled dedupe jobs",
      [
        this.#cleanupStatement(this.#db.now()),
        { sql: "SELECT changes() AS n", args: [] },
      ],
    );
    return _int(count?.rows[0]?.n) ?? 0;
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  #cleanupStatement(endedBy: number): LibsqlStatement {
    return {
      sql: `DELETE FROM ${this.#table} WHERE ${EXPIRES} <= ?1`,
      args: [endedBy],
    };
  }
}

/**
 * A {@linkcode DedupeStore} in a libSQL database: exactly one owner per job
 * among every process on the database; waiters learn of the result by
 * polling the job's row.
 *
 * @module
 */

import { ConfigError } from "../../src/errors.ts";
import { decodeBinary, encodeBinary } from "../../src/stores/codec.ts";
import type {
  DedupeRegistration,
  DedupeStore,
  WaitForOptions,
} from "../../src/stores/types.ts";
import {
  _bytes,
  _Connection,
  _int,
  type LibsqlConnectionOptions,
} from "./_connection.ts";
import type { LibsqlStatement } from "./client.ts";

/** Options for {@linkcode LibsqlDedupeStore}. */
export interface LibsqlDedupeStoreOptions extends LibsqlConnectionOptions {
  /**
   * How long an owner may run before another caller may take the job over,
   * in milliseconds. Waiters stop waiting (and receive `undefined`) when it
   * passes, so that one of them becomes the new owner.
   *
   * @default {300000}
   */
  jobTimeoutMs?: number;
  /**
   * How long after completion a new `waitFor` still receives the result, in
   * milliseconds.
   *
   * @default {1000}
   */
  completedGraceMs?: number;
  /**
   * The delay before a waiter checks the job again for the first time, in
   * milliseconds. Each later check waits twice as long, up to
   * `maxPollIntervalMs`.
   *
   * @default {2}
   */
  pollIntervalMs?: number;
  /**
   * The longest delay between two checks of a waiter, in milliseconds.
   *
   * @default {100}
   */
  maxPollIntervalMs?: number;
  /**
   * The least time between two automatic removals of settled and abandoned
   * jobs, which run inside `registerOrJoin` (no timer). `0` turns automatic
   * removal off.
   *
   * @default {60000}
   */
  cleanupIntervalMs?: number;
}

/** Counts returned by {@linkcode LibsqlDedupeStore.getStats}. */
export interface LibsqlDedupeStats {
  /** Rows in the jobs table. */
  totalJobs: number;
  /** Jobs in progress within the job timeout. */
  pendingJobs: number;
  /** Jobs that completed (and are not yet removed). */
  completedJobs: number;
  /** Jobs that failed (and are not yet removed). */
  failedJobs: number;
  /** Jobs still marked in progress past the job timeout: their owner is gone. */
  expiredJobs: number;
}

const COMPONENT = "LibsqlDedupeStore";
/** Settled jobs stay this long past the grace before cleanup removes them. */
const SETTLED_RETENTION_MS = 60_000;

interface _Waiter<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface _Watch<T> {
  waiters: Set<_Waiter<T>>;
  timer: ReturnType<typeof setTimeout> | undefined;
  delay: number;
  /** The job a check saw in progress: its result is then ours, grace or not. */
  jobId: string | undefined;
}

/**
 * A dedupe store backed by a libSQL table of jobs.
 *
 * - `registerOrJoin` is one upsert in one write transaction (one round
 *   trip): it inserts a job, or takes over one that settled or whose owner
 *   exceeded `jobTimeoutMs`, and otherwise reports the running job. Among
 *   any number of callers in any number of processes, exactly one owns.
 * - Waiters poll the job's row with backoff (first after `pollIntervalMs`,
 *   doubling up to `maxPollIntervalMs`). All waiters of one hash in one
 *   store share a single poll loop, and a job completed through the same
 *   store wakes them without a poll.
 * - Results are encoded byte-exact into a BLOB; a failure reaches waiters
 *   as `undefined`.
 *
 * @typeParam T The type of a job's result.
 *
 * @example One origin call across processes
 * ```ts
 * import { LibsqlDedupeStore } from "@sluice/http/libsql";
 *
 * const dedupe = new LibsqlDedupeStore({ url: "file:sluice.db" });
 * const { isOwner } = await dedupe.registerOrJoin("api:dedupe:abc");
 * if (isOwner) {
 *   await dedupe.complete("api:dedupe:abc", { status: 200 });
 * } else {
 *   console.log(await dedupe.waitFor("api:dedupe:abc"));
 * }
 * await dedupe.close();
 * ```
 */
export class LibsqlDedupeStore<T = unknown> implements DedupeStore<T> {
  readonly #db: _Connection;
  readonly #table: string;
  readonly #jobTimeoutMs: number;
  readonly #graceMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxPollIntervalMs: number;
  readonly #cleanupIntervalMs: number;
  readonly #watches = new Map<string, _Watch<T>>();
  /** Jobs this store registered as owner and has not settled. */
  readonly #owned = new Map<string, string>();
  #nextCleanupAt = Number.NEGATIVE_INFINITY;

  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, timeouts and polling.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlDedupeStoreOptions) {
    this.#db = new _Connection(COMPONENT, options);
    const {
      jobTimeoutMs = 300_000,
      completedGraceMs = 1_000,
      pollIntervalMs = 2,
      maxPollIntervalMs = 100,
      cleanupIntervalMs = 60_000,
    } = options;
    this.#jobTimeoutMs = _positive("jobTimeoutMs", jobTimeoutMs);
    this.#graceMs = _nonNegative("completedGraceMs", completedGraceMs);
    this.#pollIntervalMs = _positive("pollIntervalMs", pollIntervalMs);
    this.#maxPollIntervalMs = _positive("maxPollIntervalMs", maxPollIntervalMs);
    if (maxPollIntervalMs < pollIntervalMs) {
      throw new ConfigError(
        COMPONENT,
        "maxPollIntervalMs",
        maxPollIntervalMs,
        `at least pollIntervalMs (${pollIntervalMs})`,
      );
    }
    this.#cleanupIntervalMs = _nonNegative(
      "cleanupIntervalMs",
      cleanupIntervalMs,
    );
    this.#table = this.#db.tables.dedupe;
  }

  /**
   * Registers the caller as owner of a new job for `hash`: one round trip.
   * A job still running is superseded, and its waiters in every process
   * receive `undefined`.
   *
   * @param hash The job's key.
   * @returns The new job id.
   * @throws {StoreError} When the database fails.
   */
  async register(hash: string): Promise<string> {
    const jobId = crypto.randomUUID();
    const now = this.#db.now();
    await this.#db.execute("register", "register a dedupe job", {
      sql:
        `INSERT INTO ${this.#table} (key, job_id, status, result, error, started_at, updated_at) VALUES (?1, ?2, 'pending', NULL, NULL, ?3, ?3) ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, status = 'pending', result = NULL, error = NULL, started_at = excluded.started_at, updated_at = excluded.updated_at`,
      args: [hash, jobId, now],
    });
    this.#owned.set(hash, jobId);
    this.#settleLocal(hash, undefined);
    return jobId;
  }

  /**
   * Joins the job in progress for `hash`, or becomes its owner when there is
   * none, it settled, or its owner exceeded `jobTimeoutMs`: one round trip,
   * atomic across processes.
   *
   * @param hash The job's key.
   * @returns The job id, and whether the caller owns it.
   * @throws {StoreError} When the database fails.
   */
  async registerOrJoin(hash: string): Promise<DedupeRegistration> {
    const jobId = crypto.randomUUID();
    const now = this.#db.now();
    const statements: LibsqlStatement[] = [
      {
        sql:
          `INSERT INTO ${this.#table} (key, job_id, status, result, error, started_at, updated_at) VALUES (?1, ?2, 'pending', NULL, NULL, ?3, ?3) ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, status = 'pending', result = NULL, error = NULL, started_at = excluded.started_at, updated_at = excluded.updated_at WHERE status <> 'pending' OR started_at <= ?4 RETURNING job_id`,
        args: [hash, jobId, now, now - this.#jobTimeoutMs],
      },
      {
        sql: `SELECT job_id FROM ${this.#table} WHERE key = ?1`,
        args: [hash],
      },
    ];
    if (this.#cleanupIntervalMs > 0 && now >= this.#nextCleanupAt) {
      this.#nextCleanupAt = now + this.#cleanupIntervalMs;
      statements.push(this.#cleanupStatement(now, SETTLED_RETENTION_MS, hash));
    }
    const [owned, current] = await this.#db.batch(
      "registerOrJoin",
      "register or join a dedupe job",
      statements,
    );
    if ((owned?.rows.length ?? 0) > 0) {
      this.#owned.set(hash, jobId);
      return { jobId, isOwner: true };
    }
    return { jobId: String(current?.rows[0]?.job_id ?? ""), isOwner: false };
  }

  /**
   * Waits for the job of `hash` to settle, polling its row with backoff.
   *
   * @param hash The job's key.
   * @param options An optional abort signal.
   * @returns The owner's result; `undefined` when it failed, exceeded the
   * job timeout, or when no job runs and none completed within the grace.
   * @throws The signal's reason when it aborts.
   * @throws {StoreError} When the store is closed or the database fails.
   */
  waitFor(hash: string, options: WaitForOptions = {}): Promise<T | undefined> {
    const { signal } = options;
    if (this.#db.closed) {
      return Promise.reject(
        this.#db.error(
          "waitFor",
          "wait for a dedupe job",
          new Error(`the ${COMPONENT} is closed`),
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T | undefined>((resolve, reject) => {
      let watch = this.#watches.get(hash);
      const start = watch === undefined;
      if (watch === undefined) {
        watch = {
          waiters: new Set(),
          timer: undefined,
          delay: this.#pollIntervalMs,
          jobId: undefined,
        };
        this.#watches.set(hash, watch);
      }
      const current = watch;
      const waiter: _Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          current.waiters.delete(waiter);
          reject(signal.reason);
          if (current.waiters.size === 0) this.#drop(hash, current);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      current.waiters.add(waiter);
      if (start) void this.#poll(hash, current);
    });
  }

  /**
   * Marks the job of `hash` as completed and hands `value` to its waiters,
   * in every process: one round trip.
   *
   * @param hash The job's key.
   * @param value The result; JSON data that may hold `Uint8Array`s.
   * @throws {StoreError} When the value cannot be encoded or the database fails.
   */
  async complete(hash: string, value: T): Promise<void> {
    let encoded: Uint8Array;
    try {
      encoded = encodeBinary(value);
    } catch (error) {
      throw this.#db.error("complete", "encode a dedupe result", error);
    }
    const now = this.#db.now();
    // A job taken over by another owner is completed too: its waiters want
    // a fresh result, whoever produced it.
    await this.#db.execute("complete", "complete a dedupe job", {
      sql:
        `INSERT INTO ${this.#table} (key, job_id, status, result, error, started_at, updated_at) VALUES (?1, ?2, 'completed', ?3, NULL, ?4, ?4) ON CONFLICT (key) DO UPDATE SET status = 'completed', result = excluded.result, error = NULL, updated_at = excluded.updated_at WHERE status = 'pending'`,
      args: [
        hash,
        this.#owned.get(hash) ?? crypto.randomUUID(),
        encoded,
        now,
      ],
    });
    this.#owned.delete(hash);
    this.#settleLocal(hash, encoded);
  }

  /**
   * Marks the job of `hash` as failed; its waiters receive `undefined`: one
   * round trip. When this store owns the job, only that job is failed, not
   * one that another owner took over since.
   *
   * @param hash The job's key.
   * @param error Why the job failed; its message is stored.
   * @throws {StoreError} When the database fails.
   */
  async fail(hash: string, error: Error): Promise<void> {
    const now = this.#db.now();
    const jobId = this.#owned.get(hash) ?? null;
    const message = error instanceof Error ? error.message : String(error);
    await this.#db.execute("fail", "fail a dedupe job", {
      sql:
        `UPDATE ${this.#table} SET status = 'failed', result = NULL, error = ?2, updated_at = ?3 WHERE key = ?1 AND status = 'pending' AND (?4 IS NULL OR job_id = ?4)`,
      args: [hash, message.slice(0, 1000), now, jobId],
    });
    this.#owned.delete(hash);
    this.#settleLocal(hash, undefined);
  }

  /**
   * Tells whether a job for `hash` is in progress and within its timeout.
   *
   * @param hash The job's key.
   * @throws {StoreError} When the database fails.
   */
  async isInProgress(hash: string): Promise<boolean> {
    const now = this.#db.now();
    const result = await this.#db.execute(
      "isInProgress",
      "read a dedupe job",
      {
        sql:
          `SELECT 1 AS running FROM ${this.#table} WHERE key = ?1 AND status = 'pending' AND started_at > ?2`,
        args: [hash, now - this.#jobTimeoutMs],
      },
    );
    return result.rows.length > 0;
  }

  /**
   * Removes settled jobs past the grace and jobs whose owner exceeded the
   * job timeout.
   *
   * @returns How many jobs were removed.
   * @throws {StoreError} When the database fails.
   */
  async cleanup(): Promise<number> {
    const now = this.#db.now();
    const [, count] = await this.#db.batch(
      "cleanup",
      "remove settled dedupe jobs",
      [
        this.#cleanupStatement(now, 0, null),
        { sql: "SELECT changes() AS n", args: [] },
      ],
    );
    return _int(count?.rows[0]?.n) ?? 0;
  }

  /**
   * Counts jobs by state: one round trip.
   *
   * @returns The counts.
   * @throws {StoreError} When the database fails.
   */
  async getStats(): Promise<LibsqlDedupeStats> {
    const now = this.#db.now();
    const result = await this.#db.execute(
      "getStats",
      "read dedupe statistics",
      {
        sql:
          `SELECT count(*) AS total, coalesce(sum(status = 'pending' AND started_at > ?1), 0) AS pending, coalesce(sum(status = 'completed'), 0) AS completed, coalesce(sum(status = 'failed'), 0) AS failed, coalesce(sum(status = 'pending' AND started_at <= ?1), 0) AS expired FROM ${this.#table}`,
        args: [now - this.#jobTimeoutMs],
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

  /**
   * Wakes every waiter of this store with `undefined`, stops polling, and
   * closes the client if this store created it. Safe to call twice.
   */
  async close(): Promise<void> {
    for (const [hash, watch] of this.#watches) {
      this.#settle(hash, watch, () => undefined);
    }
    this.#owned.clear();
    await this.#db.close();
  }

  /** Same as {@linkcode LibsqlDedupeStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #cleanupStatement(
    now: number,
    retentionMs: number,
    keep: string | null,
  ): LibsqlStatement {
    return {
      sql:
        `DELETE FROM ${this.#table} WHERE (?3 IS NULL OR key <> ?3) AND ((status <> 'pending' AND updated_at <= ?1) OR (status = 'pending' AND started_at <= ?2))`,
      args: [
        now - this.#graceMs - retentionMs,
        now - this.#jobTimeoutMs - retentionMs,
        keep,
      ],
    };
  }

  async #poll(hash: string, watch: _Watch<T>): Promise<void> {
    watch.timer = undefined;
    let row: Readonly<Record<string, unknown>> | undefined;
    try {
      const result = await this.#db.execute(
        "waitFor",
        "wait for a dedupe job",
        {
          sql:
            `SELECT job_id, status, result, started_at, updated_at FROM ${this.#table} WHERE key = ?1`,
          args: [hash],
        },
      );
      row = result.rows[0];
    } catch (error) {
      if (this.#watches.get(hash) !== watch) return;
      const failure = this.#db.error("waitFor", "wait for a dedupe job", error);
      this.#settle(hash, watch, () => undefined, failure);
      return;
    }
    if (this.#watches.get(hash) !== watch) return;
    const now = this.#db.now();
    const status = row?.status;
    const jobId = String(row?.job_id ?? "");
    if (watch.jobId !== undefined && jobId !== watch.jobId) {
      // The job waited for was superseded or taken over: its result will
      // never come, and the caller may take part in the next election.
      this.#settle(hash, watch, () => undefined);
      return;
    }
    if (status === "pending") {
      if ((_int(row?.started_at) ?? 0) <= now - this.#jobTimeoutMs) {
        this.#settle(hash, watch, () => undefined);
        return;
      }
      watch.jobId = jobId;
      const delay = watch.delay;
      watch.delay = Math.min(delay * 2, this.#maxPollIntervalMs);
      watch.timer = setTimeout(() => void this.#poll(hash, watch), delay);
      return;
    }
    if (
      status === "completed" &&
      (watch.jobId !== undefined ||
        (_int(row?.updated_at) ?? 0) > now - this.#graceMs)
    ) {
      const bytes = _bytes(row?.result);
      this.#settle(hash, watch, () => _decode<T>(bytes));
      return;
    }
    this.#settle(hash, watch, () => undefined);
  }

  /** Hands a settlement made through this store to its own waiters at once. */
  #settleLocal(hash: string, encoded: Uint8Array | undefined): void {
    const watch = this.#watches.get(hash);
    if (watch === undefined) return;
    this.#settle(hash, watch, () => _decode<T>(encoded));
  }

  #settle(
    hash: string,
    watch: _Watch<T>,
    value: () => T | undefined,
    error?: unknown,
  ): void {
    this.#drop(hash, watch);
    for (const waiter of watch.waiters) {
      if (waiter.onAbort !== undefined) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
      }
      // Each waiter decodes its own copy, so no two share mutable bytes.
      if (error === undefined) waiter.resolve(value());
      else waiter.reject(error);
    }
    watch.waiters.clear();
  }

  #drop(hash: string, watch: _Watch<T>): void {
    if (watch.timer !== undefined) clearTimeout(watch.timer);
    watch.timer = undefined;
    if (this.#watches.get(hash) === watch) this.#watches.delete(hash);
  }
}

function _decode<T>(bytes: Uint8Array | undefined): T | undefined {
  if (bytes === undefined) return undefined;
  try {
    return decodeBinary(bytes) as T;
  } catch {
    // An undecodable result is no result: waiters elect a new owner.
    return undefined;
  }
}

function _positive(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(COMPONENT, option, value, "a positive number");
  }
  return value;
}

function _nonNegative(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(COMPONENT, option, value, "a non-negative number");
  }
  return value;
}

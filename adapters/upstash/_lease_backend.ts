import type {
  LeaseBackend,
  LeaseClaim,
  LeaseOutcome,
  LeasePeek,
  LeaseState,
} from "../../src/stores/lease.ts";
import type { DedupeStoreStats } from "../../src/stores/types.ts";
import type { _Connection } from "./_connection.ts";
import { CLAIM, COUNT, IN_PROGRESS, PEEK, SETTLE } from "./_dedupe_scripts.ts";

/** How long a job's key outlives its lease, so that a new owner learns it replaced an abandoned job. */
const LINGER_MS = 60_000;
/** Keys counted per `SCAN` call and per counting script in `stats()`. */
const SCAN_COUNT = 1_000;
const STATES: readonly LeaseState[] = [
  "none",
  "running",
  "completed",
  "failed",
];

/**
 * The lease primitive in Redis: one hash per job, every operation one Lua
 * script (one round trip), times from the Redis server's clock.
 */
export class _UpstashLeaseBackend implements LeaseBackend<string> {
  readonly backend = "upstash";
  readonly timeoutMs: number;
  readonly #connection: _Connection;

  /**
   * @param connection The store's connection.
   * @param timeoutMs How long a waiter's check may take.
   */
  constructor(connection: _Connection, timeoutMs: number) {
    this.#connection = connection;
    this.timeoutMs = timeoutMs;
  }

  claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): Promise<LeaseClaim> {
    return this.#connection.script(
      join ? "registerOrJoin" : "register",
      CLAIM,
      [this.#connection.key(key)],
      [jobId, String(leaseMs), join ? "1" : "0", String(LINGER_MS)],
      (reply): LeaseClaim => {
        const items = Array.isArray(reply) ? reply : [];
        const owner = Number(items[0]);
        const previous = items[2];
        if (owner === 0 && items.length === 2) {
          return { owner: false, jobId: String(items[1]) };
        }
        if (
          owner === 1 &&
          (previous === "none" || previous === "completed" ||
            previous === "failed")
        ) {
          return { owner: true, jobId: String(items[1]), previous };
        }
        throw _unexpected(reply);
      },
    );
  }

  async settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: string | undefined,
    retentionMs: number,
  ): Promise<boolean> {
    const reply = await this.#connection.script(
      outcome === "completed" ? "complete" : "fail",
      SETTLE,
      [this.#connection.key(key)],
      [
        outcome === "completed" ? "done" : "failed",
        value ?? "",
        String(retentionMs),
        jobId ?? crypto.randomUUID(),
        jobId === undefined ? "0" : "1",
      ],
    );
    return Number(reply) === 1;
  }

  peek(key: string, jobId: string | undefined): Promise<LeasePeek<string>> {
    return this.#connection.script(
      "waitFor",
      PEEK,
      [this.#connection.key(key)],
      [jobId ?? ""],
      (reply): LeasePeek<string> => {
        const items = Array.isArray(reply) ? reply : [];
        const state = STATES[Number(items[0])];
        if (state === undefined || (state !== "none" && items.length !== 4)) {
          throw _unexpected(reply);
        }
        if (state === "none") return { state, jobId: "", settledAgoMs: 0 };
        const ago = Number(items[3]);
        const settledAgoMs = ago < 0 ? Number.POSITIVE_INFINITY : ago;
        const id = String(items[1]);
        return state === "completed"
          ? { state, jobId: id, value: String(items[2]), settledAgoMs }
          : { state, jobId: id, settledAgoMs };
      },
    );
  }

  inProgress(key: string): Promise<boolean> {
    return this.#connection.script(
      "isInProgress",
      IN_PROGRESS,
      [this.#connection.key(key)],
      [],
      (reply) => Number(reply) === 1,
    );
  }

  /**
   * Walks the store's jobs with `SCAN MATCH <prefix>* TYPE hash` and counts
   * each batch with one script: two round trips per thousand keys of the
   * database scanned (SCAN visits every key, not only the store's).
   */
  async stats(): Promise<DedupeStoreStats> {
    const totals = [0, 0, 0, 0, 0];
    await this.#connection.scan(
      "getStats",
      "",
      "hash",
      SCAN_COUNT,
      async (keys) => {
        const counts = await this.#connection.script(
          "getStats",
          COUNT,
          keys,
          [],
          (reply) => {
            const items = Array.isArray(reply) ? reply.map(Number) : [];
            if (items.length !== 5 || !items.every(Number.isFinite)) {
              throw _unexpected(reply);
            }
            return items;
          },
        );
        counts.forEach((n, i) => (totals[i]! += n));
      },
    );
    const [totalJobs, pendingJobs, completedJobs, failedJobs, expiredJobs] =
      totals as [number, number, number, number, number];
    return { totalJobs, pendingJobs, completedJobs, failedJobs, expiredJobs };
  }

  /** Redis expires every job by itself. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#connection.close();
    return Promise.resolve();
  }
}

function _unexpected(reply: unknown): Error {
  return new Error(`Upstash answered a script with ${JSON.stringify(reply)}`);
}

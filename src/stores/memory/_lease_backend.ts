import type { Clock } from "../../clock.ts";
import type {
  LeaseBackend,
  LeaseClaim,
  LeaseOutcome,
  LeasePeek,
} from "../lease.ts";
import { registerSyncLease } from "../_sync_dedupe.ts";
import type { DedupeStoreStats } from "../types.ts";

interface _Record<T> {
  id: string;
  state: "running" | LeaseOutcome;
  value: T | undefined;
  /** When the lease runs out (running) or the retention ends (settled). */
  until: number;
  settledAt: number;
}

/** Sweeps start once this many records are held, and then at twice what is left. */
const SWEEP_AT = 1_024;

/**
 * The lease primitive in process memory: values are held as they are, each
 * operation runs in one synchronous step (so it is atomic), and records
 * whose lease or retention ended are dropped in sweeps, so memory does not
 * grow with the number of keys ever seen.
 */
export class _MemoryLeaseBackend<T> implements LeaseBackend<T> {
  readonly backend = "memory";
  readonly timeoutMs = 5_000;
  readonly #clock: Clock;
  readonly #records = new Map<string, _Record<T>>();
  #sweepAt = SWEEP_AT;

  constructor(clock: Clock) {
    this.#clock = clock;
    registerSyncLease<T>(this, {
      claim: (key, jobId, leaseMs, join) =>
        this.#claim(key, jobId, leaseMs, join),
      settle: (key, jobId, outcome, value, retentionMs) =>
        this.#settle(key, jobId, outcome, value, retentionMs),
    });
  }

  /** How many records are held, ended ones not yet swept included. */
  get size(): number {
    return this.#records.size;
  }

  claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): Promise<LeaseClaim> {
    return Promise.resolve(this.#claim(key, jobId, leaseMs, join));
  }

  settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: T | undefined,
    retentionMs: number,
  ): Promise<boolean> {
    return Promise.resolve(
      this.#settle(key, jobId, outcome, value, retentionMs),
    );
  }

  #claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): LeaseClaim {
    const now = this.#clock.now();
    const record = this.#records.get(key);
    if (join && record?.state === "running" && record.until > now) {
      return { owner: false, jobId: record.id };
    }
    if (record === undefined && this.#records.size >= this.#sweepAt) {
      this.#sweep(now);
    }
    this.#records.set(key, {
      id: jobId,
      state: "running",
      value: undefined,
      until: now + leaseMs,
      settledAt: 0,
    });
    return {
      owner: true,
      jobId,
      previous: record === undefined
        ? "none"
        : record.state === "completed"
        ? "completed"
        : "failed",
    };
  }

  #settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: T | undefined,
    retentionMs: number,
  ): boolean {
    const now = this.#clock.now();
    const record = this.#records.get(key);
    const running = record?.state === "running";
    if (
      outcome === "failed" &&
      (!running || (jobId !== undefined && record.id !== jobId))
    ) {
      return false;
    }
    this.#records.set(key, {
      id: running ? record.id : jobId ?? crypto.randomUUID(),
      state: outcome,
      value,
      until: now + retentionMs,
      settledAt: now,
    });
    return true;
  }

  peek(key: string): Promise<LeasePeek<T>> {
    const now = this.#clock.now();
    const record = this.#records.get(key);
    if (record === undefined) {
      return Promise.resolve({ state: "none", jobId: "", settledAgoMs: 0 });
    }
    if (record.state === "running") {
      return Promise.resolve(
        record.until > now
          ? { state: "running", jobId: record.id, settledAgoMs: 0 }
          : {
            state: "failed",
            jobId: record.id,
            settledAgoMs: now - record.until,
          },
      );
    }
    return Promise.resolve(
      record.state === "completed"
        ? {
          state: "completed",
          jobId: record.id,
          value: record.value as T,
          settledAgoMs: now - record.settledAt,
        }
        : {
          state: "failed",
          jobId: record.id,
          settledAgoMs: now - record.settledAt,
        },
    );
  }

  inProgress(key: string): Promise<boolean> {
    const record = this.#records.get(key);
    return Promise.resolve(
      record?.state === "running" && record.until > this.#clock.now(),
    );
  }

  stats(): Promise<DedupeStoreStats> {
    const now = this.#clock.now();
    const stats: DedupeStoreStats = {
      totalJobs: this.#records.size,
      pendingJobs: 0,
      completedJobs: 0,
      failedJobs: 0,
      expiredJobs: 0,
    };
    for (const record of this.#records.values()) {
      if (record.state === "completed") stats.completedJobs++;
      else if (record.state === "failed") stats.failedJobs++;
      else if (record.until > now) stats.pendingJobs++;
      else stats.expiredJobs++;
    }
    return Promise.resolve(stats);
  }

  cleanup(): Promise<number> {
    return Promise.resolve(this.#sweep(this.#clock.now()));
  }

  close(): Promise<void> {
    this.#records.clear();
    return Promise.resolve();
  }

  #sweep(now: number): number {
    const before = this.#records.size;
    for (const [key, record] of this.#records) {
      if (record.until <= now) this.#records.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_AT, this.#records.size * 2);
    return before - this.#records.size;
  }
}

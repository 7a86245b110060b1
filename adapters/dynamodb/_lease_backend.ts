import type {
  LeaseBackend,
  LeaseClaim,
  LeaseOutcome,
  LeasePeek,
} from "../../src/stores/lease.ts";
import type { DedupeStoreStats } from "../../src/stores/types.ts";
import { _ConditionFailed, type _Connection, BACKEND } from "./_connection.ts";
import { pages } from "./_requests.ts";
import {
  type _Item,
  B,
  bytes,
  N,
  names,
  num,
  S,
  str,
  ttlAt,
} from "./_values.ts";

/** How long a job's item outlives its lease or retention, so that a new owner still learns what it replaced. */
const LINGER_MS = 60_000;
/** Claims and completions tried again when another process changed the job in between. */
const TRIES = 4;
const JOB = "j";
const VALUE = "v";
const RUNNING = "run";
const DONE = "done";
const FAILED = "fail";

/**
 * The lease primitive in the shared table: per key, under
 * `<keyPrefix>dedupe:<key>`, a job item (`j`: id, state, lease or retention
 * end, settle time, the job it replaced) and a value item (`v`: the
 * result of the last completion, with a token the job item names). Keeping
 * the result apart keeps claims small: a claim writes a few hundred bytes
 * (one write unit) however large the last result was.
 *
 * A claim is one conditional `UpdateItem`; a joiner learns the running job
 * from the failed condition's item where the service returns it (DynamoDB
 * does, with `ReturnValuesOnConditionCheckFailure`), or else from one more
 * read. A completion writes the value, then settles the job; a waiter's
 * check is one consistent `Query` of both items. Times are the store's
 * clock.
 */
export class _DynamoLeaseBackend implements LeaseBackend<Uint8Array> {
  readonly backend: string = BACKEND;
  readonly timeoutMs: number;
  readonly #db: _Connection;

  constructor(db: _Connection, timeoutMs: number) {
    this.#db = db;
    this.timeoutMs = timeoutMs;
  }

  async claim(
    key: string,
    jobId: string,
    leaseMs: number,
    join: boolean,
  ): Promise<LeaseClaim> {
    const operation = join ? "registerOrJoin" : "register";
    const update =
      "SET #id = :id, #st = :run, #until = :until, #ttl = :ttl, #pid = if_not_exists(#id, :none), #pst = if_not_exists(#st, :none), #pvt = if_not_exists(#vt, :none) REMOVE #at, #vt";
    const condition =
      "attribute_not_exists(#st) OR #st <> :run OR #until <= :now";
    for (let attempt = 1;; attempt++) {
      const now = this.#db.now();
      try {
        const reply = await this.#db.call(operation, "UpdateItem", {
          Key: this.#key(key, JOB),
          UpdateExpression: update,
          ...(join ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: names(update, join ? condition : ""),
          ExpressionAttributeValues: {
            ":id": S(jobId),
            ":run": S(RUNNING),
            ":until": N(now + leaseMs),
            ":ttl": ttlAt(now + leaseMs + LINGER_MS),
            ":none": S(""),
            ...(join ? { ":now": N(now) } : {}),
          },
          ReturnValues: "UPDATED_OLD",
          ...(join ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" } : {}),
        });
        const old = (reply.Attributes ?? {}) as Record<string, unknown>;
        const state = str(old.st);
        return {
          owner: true,
          jobId,
          previous: state === undefined
            ? "none"
            : state === DONE
            ? "completed"
            : "failed",
        };
      } catch (error) {
        if (!(error instanceof _ConditionFailed)) throw error;
        const job = error.item ?? await this.#job(operation, key);
        const running = job !== undefined && str(job.st) === RUNNING &&
          (num(job.until) ?? 0) > this.#db.now();
        if (running) return { owner: false, jobId: str(job.id) ?? "" };
        // Settled since the condition failed: claim again.
        if (attempt >= TRIES) throw error;
      }
    }
  }

  async settle(
    key: string,
    jobId: string | undefined,
    outcome: LeaseOutcome,
    value: Uint8Array | undefined,
    retentionMs: number,
  ): Promise<boolean> {
    if (outcome === "failed") {
      const now = this.#db.now();
      const update =
        "SET #st = :fail, #at = :now, #until = :until, #ttl = :ttl";
      const condition = jobId === undefined
        ? "#st = :run"
        : "#st = :run AND #id = :id";
      try {
        await this.#db.call("fail", "UpdateItem", {
          Key: this.#key(key, JOB),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ":fail": S(FAILED),
            ":run": S(RUNNING),
            ":now": N(now),
            ":until": N(now + retentionMs),
            ":ttl": ttlAt(now + retentionMs + LINGER_MS),
            ...(jobId === undefined ? {} : { ":id": S(jobId) }),
          },
        });
        return true;
      } catch (error) {
        if (error instanceof _ConditionFailed) return false;
        throw error;
      }
    }
    const token = crypto.randomUUID();
    const now = this.#db.now();
    await this.#db.call("complete", "PutItem", {
      Item: {
        ...this.#key(key, VALUE),
        v: B(value ?? new Uint8Array(0)),
        vt: S(token),
        ttl: ttlAt(now + retentionMs + LINGER_MS),
      },
    });
    // The running job is settled, whatever its id; when none runs, a
    // completed job is recorded under `jobId` for late waiters.
    for (let attempt = 1;; attempt++) {
      const running = attempt % 2 === 1;
      const now = this.#db.now();
      const update = running
        ? "SET #st = :done, #at = :now, #until = :until, #ttl = :ttl, #vt = :vt"
        : "SET #id = :id, #st = :done, #at = :now, #until = :until, #ttl = :ttl, #vt = :vt";
      const condition = running
        ? "#st = :run"
        : "attribute_not_exists(#st) OR #st <> :run";
      try {
        await this.#db.call("complete", "UpdateItem", {
          Key: this.#key(key, JOB),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ":done": S(DONE),
            ":run": S(RUNNING),
            ":now": N(now),
            ":until": N(now + retentionMs),
            ":ttl": ttlAt(now + retentionMs + LINGER_MS),
            ":vt": S(token),
            ...(running ? {} : { ":id": S(jobId ?? crypto.randomUUID()) }),
          },
        });
        return true;
      } catch (error) {
        if (!(error instanceof _ConditionFailed) || attempt >= TRIES) {
          throw error;
        }
      }
    }
  }

  async peek(
    key: string,
    jobId: string | undefined,
  ): Promise<LeasePeek<Uint8Array>> {
    const reply = await this.#db.call("waitFor", "Query", {
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: names("#pk"),
      ExpressionAttributeValues: { ":pk": S(this.#db.key("dedupe", key)) },
      ConsistentRead: true,
    });
    let job: Record<string, unknown> | undefined;
    let stored: Record<string, unknown> | undefined;
    for (const item of (reply.Items ?? []) as Record<string, unknown>[]) {
      if (str(item.sk) === JOB) job = item;
      else if (str(item.sk) === VALUE) stored = item;
    }
    const id = str(job?.id);
    const state = str(job?.st);
    if (job === undefined || id === undefined || state === undefined) {
      return { state: "none", jobId: "", settledAgoMs: 0 };
    }
    const valueOf = (token: unknown): Uint8Array | undefined => {
      const wanted = str(token);
      return wanted !== undefined && wanted !== "" &&
          str(stored?.vt) === wanted
        ? bytes(stored?.v)
        : undefined;
    };
    const now = this.#db.now();
    if (jobId !== undefined && id !== jobId && str(job.pid) === jobId) {
      const value = str(job.pst) === DONE ? valueOf(job.pvt) : undefined;
      return value === undefined
        ? { state: "failed", jobId, settledAgoMs: Number.POSITIVE_INFINITY }
        : {
          state: "completed",
          jobId,
          value,
          settledAgoMs: Number.POSITIVE_INFINITY,
        };
    }
    if (state === RUNNING) {
      const until = num(job.until) ?? 0;
      return until > now
        ? { state: "running", jobId: id, settledAgoMs: 0 }
        : { state: "failed", jobId: id, settledAgoMs: now - until };
    }
    const settledAgoMs = now - (num(job.at) ?? Number.NEGATIVE_INFINITY);
    const value = state === DONE ? valueOf(job.vt) : undefined;
    return value === undefined
      ? { state: "failed", jobId: id, settledAgoMs }
      : { state: "completed", jobId: id, value, settledAgoMs };
  }

  async inProgress(key: string): Promise<boolean> {
    const job = await this.#job("isInProgress", key);
    return job !== undefined && str(job.st) === RUNNING &&
      (num(job.until) ?? 0) > this.#db.now();
  }

  /**
   * Counts the jobs with a `Scan` of the table filtered to this store's
   * key prefix: it reads (and is billed for) every item of the table, so it
   * is meant for an occasional look.
   */
  async stats(): Promise<DedupeStoreStats> {
    const now = this.#db.now();
    const stats = {
      totalJobs: 0,
      pendingJobs: 0,
      completedJobs: 0,
      failedJobs: 0,
      expiredJobs: 0,
    };
    const filter = "begins_with(#pk, :p) AND #sk = :j";
    const projection = "#st, #until";
    await pages(this.#db, "getStats", "Scan", {
      FilterExpression: filter,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names(filter, projection),
      ExpressionAttributeValues: {
        ":p": S(this.#db.key("dedupe", "")),
        ":j": S(JOB),
      },
    }, (page) => {
      for (const item of page) {
        stats.totalJobs++;
        const state = str(item.st);
        if (state === DONE) stats.completedJobs++;
        else if (state === FAILED) stats.failedJobs++;
        else if ((num(item.until) ?? 0) > now) stats.pendingJobs++;
        else stats.expiredJobs++;
      }
    });
    return stats;
  }

  /** DynamoDB's TTL removes jobs by itself. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  async #job(
    operation: string,
    key: string,
  ): Promise<Record<string, unknown> | undefined> {
    const projection = "#id, #st, #until";
    const reply = await this.#db.call(operation, "GetItem", {
      Key: this.#key(key, JOB),
      ConsistentRead: true,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names(projection),
    });
    return reply.Item as Record<string, unknown> | undefined;
  }

  #key(key: string, sort: string): _Item {
    return { pk: S(this.#db.key("dedupe", key)), sk: S(sort) };
  }
}

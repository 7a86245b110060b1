import { ConfigError, StoreError } from "../../src/errors.ts";
import { validCompletedGraceMs } from "../../src/stores/_dedupe_grace.ts";
import { positiveInteger } from "../../src/stores/_validate.ts";
import type {
  DedupeRegistration,
  DedupeStore,
  WaitForOptions,
} from "../../src/stores/types.ts";
import { _Connection, type UpstashConnectionOptions } from "./_connection.ts";
import { IN_PROGRESS, PEEK, REGISTER, SETTLE } from "./_dedupe_scripts.ts";
import {
  _decodeValue,
  _emit,
  _encodeValue,
  _oversize,
  type UpstashStoreEvent,
} from "./_values.ts";

const COMPONENT = "UpstashDedupeStore";

/** Options for {@linkcode UpstashDedupeStore}. */
export interface UpstashDedupeStoreOptions extends UpstashConnectionOptions {
  /**
   * How long an owner holds its lease, in milliseconds. An owner that has
   * not completed by then (it crashed, or hangs) is replaced: waiters
   * receive `undefined` and the next `registerOrJoin` becomes owner. A
   * positive integer.
   *
   * @default {300_000}
   */
  jobTimeoutMs?: number;
  /**
   * How long after completion a job still answers a `waitFor` from a caller
   * that had not joined it, in milliseconds. A completed job is not a
   * cache, so this is short: a non-negative number of at most 60 000.
   *
   * @default {1_000}
   */
  completedGraceMs?: number;
  /**
   * The delay before a waiter's first check, in milliseconds; each later
   * check waits twice as long, up to `maxPollIntervalMs`. A positive integer.
   *
   * @default {5}
   */
  pollIntervalMs?: number;
  /**
   * The longest delay between two checks of a waiter, in milliseconds. A
   * positive integer, at least `pollIntervalMs`.
   *
   * @default {200}
   */
  maxPollIntervalMs?: number;
  /**
   * The largest encoded result shared with waiters, in bytes. A larger
   * result fails the job for the waiters (they receive `undefined`) and is
   * reported through `onEvent`.
   *
   * @default {1_048_576}
   */
  maxEntrySizeBytes?: number;
  /**
   * Receives skipped and corrupt results. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: (event: UpstashStoreEvent) => void;
}

interface _Waiter {
  wake(): void;
}

/**
 * A {@linkcode DedupeStore} in Upstash Redis: single-flight coordination
 * between every process that reaches the database.
 *
 * Each job is one Redis hash under `sluice:<key>`. `registerOrJoin` is one
 * Lua script: it joins the running job, or takes ownership as a lease of
 * `jobTimeoutMs` (the key's expiry, in Redis's clock), so among any number
 * of concurrent callers in any number of processes exactly one becomes
 * owner, and an owner that dies is replaced once its lease runs out.
 * `complete` and `fail` are one script each; the outcome stays readable for
 * the waiters that joined the job, and for `completedGraceMs` for anyone
 * else.
 *
 * Waiters poll, since Upstash's REST API cannot push: the first check comes
 * after `pollIntervalMs`, then the delay doubles up to `maxPollIntervalMs`.
 * Each check is one round trip.
 *
 * @typeParam T The type of a job's result.
 *
 * @example One origin call for many processes
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { UpstashDedupeStore } from "@sluice/http/upstash";
 *
 * const dedupe = new UpstashDedupeStore<string>({ redis: Redis.fromEnv() });
 * const { isOwner } = await dedupe.registerOrJoin("users:1");
 * if (isOwner) await dedupe.complete("users:1", "Ada");
 * else console.log(await dedupe.waitFor("users:1"));
 * ```
 */
export class UpstashDedupeStore<T = unknown> implements DedupeStore<T> {
  readonly #connection: _Connection;
  readonly #jobTimeoutMs: number;
  readonly #graceMs: number;
  readonly #retentionMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxPollIntervalMs: number;
  readonly #maxEntrySizeBytes: number;
  readonly #onEvent: ((event: UpstashStoreEvent) => void) | undefined;
  readonly #waiters = new Set<_Waiter>();

  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token), lease, grace and
   * polling.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a timing option is out of range.
   */
  constructor(options: UpstashDedupeStoreOptions) {
    this.#connection = new _Connection(COMPONENT, "dedupe", options);
    const {
      jobTimeoutMs = 300_000,
      completedGraceMs = 1_000,
      pollIntervalMs = 5,
      maxPollIntervalMs = 200,
      maxEntrySizeBytes = 1_048_576,
      onEvent,
    } = options;
    this.#jobTimeoutMs = positiveInteger(
      COMPONENT,
      "jobTimeoutMs",
      jobTimeoutMs,
    );
    this.#graceMs = validCompletedGraceMs(COMPONENT, completedGraceMs);
    this.#pollIntervalMs = positiveInteger(
      COMPONENT,
      "pollIntervalMs",
      pollIntervalMs,
    );
    this.#maxPollIntervalMs = positiveInteger(
      COMPONENT,
      "maxPollIntervalMs",
      maxPollIntervalMs,
    );
    if (this.#maxPollIntervalMs < this.#pollIntervalMs) {
      throw new ConfigError(
        COMPONENT,
        "maxPollIntervalMs",
        maxPollIntervalMs,
        `at least pollIntervalMs (${this.#pollIntervalMs})`,
      );
    }
    this.#maxEntrySizeBytes = positiveInteger(
      COMPONENT,
      "maxEntrySizeBytes",
      maxEntrySizeBytes,
    );
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new ConfigError(COMPONENT, "onEvent", onEvent, "a function");
    }
    this.#onEvent = onEvent;
    // Waiters that joined a job must still find its outcome at their next
    // check, however short the grace for everyone else.
    this.#retentionMs = Math.ceil(
      Math.max(this.#graceMs, 4 * this.#maxPollIntervalMs, 1_000),
    );
  }

  /**
   * Starts a new job for `hash` owned by the caller: one script. A job
   * still running for `hash` is superseded; its waiters receive `undefined`.
   *
   * @param hash The job's key.
   * @returns The new job id.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async register(hash: string): Promise<string> {
    const { jobId } = await this.#register("register", hash, false);
    return jobId;
  }

  /**
   * Joins the running job for `hash`, or takes ownership when none runs (or
   * its owner's lease ran out): one script.
   *
   * @param hash The job's key.
   * @returns The job id, and whether the caller owns it.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  registerOrJoin(hash: string): Promise<DedupeRegistration> {
    return this.#register("registerOrJoin", hash, true);
  }

  /**
   * Waits for the job of `hash` to settle, checking it with backoff.
   *
   * @param hash The job's key.
   * @param options An optional abort signal.
   * @returns The owner's value; `undefined` when the owner failed or its
   * lease ran out, when the store closed, or when no job runs and none
   * completed within the grace.
   * @throws The signal's reason when `options.signal` aborts.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async waitFor(
    hash: string,
    options: WaitForOptions = {},
  ): Promise<T | undefined> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#connection.closed) {
      throw new StoreError(
        `Cannot waitFor on a closed ${COMPONENT}`,
        "upstash",
        "waitFor",
      );
    }
    const key = this.#connection.key(hash);
    // The first check finds the running job (or a result within the grace);
    // later checks follow that job, even once a newer job replaced it.
    let jobId = "";
    let delay = this.#pollIntervalMs;
    while (true) {
      if (!(await this.#sleep(delay, signal))) return undefined;
      const [state, id, value] = await this.#connection.script(
        "waitFor",
        PEEK,
        [key],
        [jobId, String(this.#graceMs)],
        _peekReply,
      );
      if (state === 0 || state === 3) return undefined;
      if (state === 2) return this.#decode(hash, value);
      jobId = id;
      delay = Math.min(delay * 2, this.#maxPollIntervalMs);
    }
  }

  /**
   * Completes the job of `hash` and hands `value` to its waiters: one
   * script. With no job running, the value still answers `waitFor` calls
   * within the grace.
   *
   * @param hash The job's key.
   * @param value The result.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async complete(hash: string, value: T): Promise<void> {
    const text = _encodeValue(value);
    const bytes = _oversize(text, this.#maxEntrySizeBytes);
    if (bytes !== undefined) {
      _emit(this.#onEvent, {
        type: "dedupe.skipped",
        key: hash,
        bytes,
        limit: this.#maxEntrySizeBytes,
      });
      await this.#settle("complete", hash, "failed", "");
      return;
    }
    await this.#settle("complete", hash, "done", text);
  }

  /**
   * Fails the job of `hash`: its waiters receive `undefined` and may elect a
   * new owner. One script; nothing happens when no job runs.
   *
   * @param hash The job's key.
   * @param _error Why the job failed; not stored.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  async fail(hash: string, _error: Error): Promise<void> {
    await this.#settle("fail", hash, "failed", "");
  }

  /**
   * Tells whether a job for `hash` runs within its lease: one script.
   *
   * @param hash The job's key.
   * @throws {StoreError} When Upstash fails or cannot be reached.
   */
  isInProgress(hash: string): Promise<boolean> {
    return this.#connection.script(
      "isInProgress",
      IN_PROGRESS,
      [this.#connection.key(hash)],
      [],
      (reply) => Number(reply) === 1,
    );
  }

  /**
   * Wakes every waiter of this store with `undefined` and refuses later
   * operations. Jobs in Redis are left to their leases. Safe to call twice.
   */
  close(): Promise<void> {
    this.#connection.close();
    for (const waiter of [...this.#waiters]) waiter.wake();
    this.#waiters.clear();
    return Promise.resolve();
  }

  #register(
    operation: string,
    hash: string,
    join: boolean,
  ): Promise<DedupeRegistration> {
    return this.#connection.script(
      operation,
      REGISTER,
      [this.#connection.key(hash)],
      [crypto.randomUUID(), String(this.#jobTimeoutMs), join ? "1" : "0"],
      (reply) => {
        if (!Array.isArray(reply) || reply.length !== 2) {
          throw new Error(
            `Upstash answered a script with ${JSON.stringify(reply)}`,
          );
        }
        return { isOwner: Number(reply[0]) === 1, jobId: String(reply[1]) };
      },
    );
  }

  async #settle(
    operation: string,
    hash: string,
    state: "done" | "failed",
    text: string,
  ): Promise<void> {
    await this.#connection.script(
      operation,
      SETTLE,
      [this.#connection.key(hash)],
      [state, text, String(this.#retentionMs), crypto.randomUUID()],
    );
  }

  #decode(hash: string, value: string): T | undefined {
    try {
      return _decodeValue(value) as T;
    } catch (error) {
      _emit(this.#onEvent, {
        type: "dedupe.corrupt",
        key: hash,
        reason: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  /**
   * Sleeps `ms`. Resolves `false` when the store closes first; rejects with
   * the signal's reason when it aborts first.
   */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (this.#connection.closed) return resolve(false);
      if (signal?.aborted) return reject(signal.reason);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(signal!.reason);
      };
      const waiter: _Waiter = {
        wake: () => {
          finish();
          resolve(false);
        },
      };
      const timer = setTimeout(() => {
        finish();
        resolve(true);
      }, ms);
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function _peekReply(reply: unknown): [number, string, string] {
  const items = Array.isArray(reply) ? reply : [];
  const state = Number(items[0]);
  if (![0, 1, 2, 3].includes(state) || (state !== 0 && items.length !== 3)) {
    throw new Error(`Upstash answered a script with ${JSON.stringify(reply)}`);
  }
  return [state, String(items[1] ?? ""), String(items[2] ?? "")];
}

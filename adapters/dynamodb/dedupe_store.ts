/**
 * A {@linkcode DedupeStore} in a DynamoDB table: exactly one owner per job
 * among every process that reaches it.
 *
 * @module
 */

import { decodeBinary, encodeBinary } from "../../src/stores/codec.ts";
import {
  type LeaseCodec,
  LeaseDedupeStore,
  type LeaseDedupeStoreOptions,
} from "../../src/stores/lease_dedupe_store.ts";
import type { DedupeStore, DedupeStoreStats } from "../../src/stores/types.ts";
import { _Connection, type DynamoDBConnectionOptions } from "./_connection.ts";
import { _DynamoLeaseBackend } from "./_lease_backend.ts";
import { DEFAULT_MAX_ENTRY_SIZE_BYTES } from "./cache_store.ts";
import type { DynamoDBStoreEvent } from "./_values.ts";

const COMPONENT = "DynamoDBDedupeStore";
/** A waiter's check outlasts the connection's own deadline by this much before the policy drops it. */
const CHECK_SLACK_MS = 1_000;

const BINARY: LeaseCodec<Uint8Array> = {
  encode: encodeBinary,
  decode: decodeBinary,
  size: (bytes) => bytes.byteLength,
};

/** Options for {@linkcode DynamoDBDedupeStore}. */
export interface DynamoDBDedupeStoreOptions
  extends DynamoDBConnectionOptions, LeaseDedupeStoreOptions {
  /**
   * The largest encoded result shared with waiters, in bytes. A larger
   * result fails the job for its waiters (they receive `undefined`) and is
   * reported as `dedupe.skipped`. The default stays below DynamoDB's item
   * limit of 400 KB.
   *
   * @default {399_360}
   */
  maxEntrySizeBytes?: number;
  /**
   * The shortest delay between two checks of a waiting job, in
   * milliseconds (see `maxPollIntervalMs`). Each check is one read request.
   *
   * @default {10}
   */
  pollIntervalMs?: number;
  /**
   * The longest delay between two checks of a waiting job, in
   * milliseconds: a waiter in another process learns of a result on
   * average half of it after it arrives, and a long wait costs
   * `1000 / maxPollIntervalMs` read requests per second and key.
   *
   * @default {100}
   */
  maxPollIntervalMs?: number;
  /**
   * Receives skipped and corrupt results. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: (event: DynamoDBStoreEvent) => void;
}

/**
 * A {@linkcode DedupeStore} in DynamoDB, with the policy of every sluice
 * dedupe store ({@linkcode LeaseDedupeStore}).
 *
 * Each job is two items under `pk` `sluice:dedupe:<key>`: the job (owner,
 * state, lease) and its last result. `registerOrJoin` is one conditional
 * `UpdateItem`: it takes the lease (`jobTimeoutMs`, in the store's clock)
 * unless a running job holds it, so among any number of concurrent callers
 * in any number of processes exactly one becomes owner, and an owner that
 * dies is replaced once its lease runs out. A joiner learns the running job
 * from the failed condition (DynamoDB returns the item with
 * `ReturnValuesOnConditionCheckFailure`; an emulator without it costs one
 * more read). `complete` writes the result, then settles the job, both
 * conditioned so that a late result still answers the job that took over
 * and `fail` never reaches a job it does not own.
 *
 * Waiters check the job with one consistent `Query`, at once and then
 * every `pollIntervalMs`, spacing out up to `maxPollIntervalMs`; every
 * waiter of one key in one store shares those checks.
 *
 * @typeParam T The type of a job's result.
 *
 * @example One origin call across processes
 * ```ts
 * import { DynamoDBDedupeStore } from "@sluice/http/dynamodb";
 *
 * const dedupe = new DynamoDBDedupeStore<string>({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 * });
 * const { isOwner } = await dedupe.registerOrJoin("users:1");
 * if (isOwner) await dedupe.complete("users:1", "Ada");
 * else console.log(await dedupe.waitFor("users:1"));
 * ```
 */
export class DynamoDBDedupeStore<T = unknown>
  extends LeaseDedupeStore<T, Uint8Array>
  implements DedupeStore<T> {
  /**
   * Creates a store. Nothing is sent until the first operation.
   *
   * @param options The client (or region and credentials), lease, grace and
   * polling.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: DynamoDBDedupeStoreOptions) {
    const connection = new _Connection(COMPONENT, options);
    const { timeoutMs = 5_000 } = options;
    super({
      component: COMPONENT,
      backend: new _DynamoLeaseBackend(connection, timeoutMs + CHECK_SLACK_MS),
      codec: BINARY,
      defaults: {
        maxEntrySizeBytes: DEFAULT_MAX_ENTRY_SIZE_BYTES,
        pollIntervalMs: 10,
        maxPollIntervalMs: 100,
      },
    }, options);
  }

  /**
   * Counts the jobs by state with a `Scan` of the table filtered to this
   * store's keys: it reads (and is billed for) every item of the table, so
   * it is meant for an occasional look, not for every request.
   *
   * @returns The counts.
   * @throws {StoreError} When the store is closed or DynamoDB fails.
   */
  override getStats(): Promise<DedupeStoreStats> {
    return super.getStats();
  }

  /**
   * Does nothing: DynamoDB's TTL removes every job once its lease or its
   * retention ended (reads never trust an item past that, however late
   * the TTL is).
   *
   * @returns `0`.
   * @throws {StoreError} When the store is closed.
   */
  override cleanup(): Promise<number> {
    return super.cleanup();
  }
}

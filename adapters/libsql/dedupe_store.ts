/**
 * A {@linkcode DedupeStore} in a libSQL database: exactly one owner per job
 * among every process on the database; waiters learn of the result by
 * checking the job's row.
 *
 * @module
 */

import { nonNegativeNumber } from "../../src/stores/_validate.ts";
import { decodeBinary, encodeBinary } from "../../src/stores/codec.ts";
import {
  type LeaseCodec,
  LeaseDedupeStore,
  type LeaseDedupeStoreOptions,
} from "../../src/stores/lease_dedupe_store.ts";
import type { DedupeStore, DedupeStoreStats } from "../../src/stores/types.ts";
import { _Connection, type LibsqlConnectionOptions } from "./_connection.ts";
import { _LibsqlLeaseBackend } from "./_lease_backend.ts";

/** Options for {@linkcode LibsqlDedupeStore}. */
export interface LibsqlDedupeStoreOptions
  extends LibsqlConnectionOptions, LeaseDedupeStoreOptions {
  /**
   * The largest encoded result shared with waiters, in bytes. A larger
   * result fails the job for its waiters (they receive `undefined`) and is
   * reported as `dedupe.skipped`. A positive integer.
   *
   * @default {5_242_880}
   */
  maxEntrySizeBytes?: number;
  /**
   * The least time between two automatic removals of settled and abandoned
   * jobs, which run inside `registerOrJoin` (no timer). `0` turns automatic
   * removal off; call `cleanup()` yourself then.
   *
   * @default {60_000}
   */
  cleanupIntervalMs?: number;
}

/** Counts returned by {@linkcode LibsqlDedupeStore.getStats}: the counts of every dedupe store. */
export type LibsqlDedupeStats = DedupeStoreStats;

const COMPONENT = "LibsqlDedupeStore";
/** A waiter's check may wait for the file's lock this much longer than `busyTimeoutMs`. */
const CHECK_SLACK_MS = 5_000;

const BINARY: LeaseCodec<Uint8Array> = {
  encode: encodeBinary,
  decode: decodeBinary,
  size: (bytes) => bytes.byteLength,
};

/**
 * A dedupe store backed by a libSQL table of jobs, with the policy of every
 * sluice dedupe store ({@linkcode LeaseDedupeStore}).
 *
 * - `registerOrJoin` is one write batch (one round trip): it inserts a job,
 *   or takes over one that settled or whose owner's lease
 *   (`jobTimeoutMs`) ran out, and otherwise reports the running job. Among
 *   any number of callers in any number of processes, exactly one owns.
 * - Waiters check the job's row, at once and then on a schedule that
 *   starts every `pollIntervalMs` and spaces out up to
 *   `maxPollIntervalMs`. All waiters of one hash in one store share those
 *   checks, and a job settled through the same store wakes them without
 *   one.
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
export class LibsqlDedupeStore<T = unknown>
  extends LeaseDedupeStore<T, Uint8Array>
  implements DedupeStore<T> {
  /**
   * Creates a store. No connection is made until the first operation.
   *
   * @param options Where the database is, timeouts and polling.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlDedupeStoreOptions) {
    const db = new _Connection(COMPONENT, options);
    const { cleanupIntervalMs = 60_000, busyTimeoutMs = 5_000 } = options;
    super({
      component: COMPONENT,
      backend: new _LibsqlLeaseBackend(
        db,
        nonNegativeNumber(COMPONENT, "cleanupIntervalMs", cleanupIntervalMs),
        busyTimeoutMs + CHECK_SLACK_MS,
      ),
      codec: BINARY,
      defaults: { maxEntrySizeBytes: 5_242_880 },
    }, options);
  }
}

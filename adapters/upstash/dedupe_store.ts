import {
  type LeaseCodec,
  LeaseDedupeStore,
  type LeaseDedupeStoreOptions,
} from "../../src/stores/lease_dedupe_store.ts";
import type { DedupeStore, DedupeStoreStats } from "../../src/stores/types.ts";
import { _Connection, type UpstashConnectionOptions } from "./_connection.ts";
import { _UpstashLeaseBackend } from "./_lease_backend.ts";
import {
  decodePayload,
  encodePayload,
  utf8Length,
} from "../../src/stores/_payload.ts";
import type { UpstashStoreEvent } from "./_values.ts";

const COMPONENT = "UpstashDedupeStore";
/** A waiter's check outlasts the connection's own deadline by this much before the policy drops it. */
const CHECK_SLACK_MS = 1_000;

const TEXT: LeaseCodec<string> = {
  encode: (value) => encodePayload(value, "text") as string,
  decode: (stored) => decodePayload(stored, "text"),
  size: utf8Length,
};

/** Options for {@linkcode UpstashDedupeStore}. */
export interface UpstashDedupeStoreOptions
  extends UpstashConnectionOptions, LeaseDedupeStoreOptions {
  /**
   * Receives skipped and corrupt results. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: (event: UpstashStoreEvent) => void;
}

/**
 * A {@linkcode DedupeStore} in Upstash Redis: single-flight coordination
 * between every process that reaches the database, with the policy of
 * every sluice dedupe store ({@linkcode LeaseDedupeStore}).
 *
 * Each job is one Redis hash under `sluice:dedupe:<key>`. `registerOrJoin`
 * is one Lua script: it joins the running job, or takes ownership as a
 * lease of `jobTimeoutMs` in Redis's clock, so among any number of
 * concurrent callers in any number of processes exactly one becomes owner,
 * and an owner that dies is replaced once its lease runs out. `complete`
 * and `fail` are one script each; the outcome stays readable for the
 * waiters that joined the job, and for `completedGraceMs` for anyone else.
 *
 * Waiters check the job, since Upstash's REST API cannot push: at once,
 * then every `pollIntervalMs` at first, spacing out up to
 * `maxPollIntervalMs`; each check is one round trip, shared by every waiter
 * of the key in this store.
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
export class UpstashDedupeStore<T = unknown> extends LeaseDedupeStore<T, string>
  implements DedupeStore<T> {
  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token), lease, grace and
   * polling.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or another option is out of range.
   */
  constructor(options: UpstashDedupeStoreOptions) {
    const connection = new _Connection(COMPONENT, "dedupe", options);
    const { timeoutMs = 5_000 } = options;
    super({
      component: COMPONENT,
      backend: new _UpstashLeaseBackend(
        connection,
        timeoutMs + CHECK_SLACK_MS,
      ),
      codec: TEXT,
    }, options);
  }

  /**
   * Counts the jobs under the store's key prefix, by state. It walks the
   * database with `SCAN MATCH <prefix>dedupe:* TYPE hash` (a thousand keys
   * a call) and counts each batch of jobs with one script, so it costs two
   * requests per thousand keys of the whole database, not of this store:
   * meant for an occasional look, not for every request.
   *
   * @returns The counts.
   * @throws {StoreError} When the store is closed or Upstash fails.
   */
  override getStats(): Promise<DedupeStoreStats> {
    return super.getStats();
  }

  /**
   * Does nothing: Redis removes every job by itself once its lease or its
   * retention ends.
   *
   * @returns `0`.
   * @throws {StoreError} When the store is closed.
   */
  override cleanup(): Promise<number> {
    return super.cleanup();
  }
}

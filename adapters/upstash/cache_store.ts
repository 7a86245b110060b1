import {
  BlobCacheStore,
  type BlobCacheStoreOptions,
} from "../../src/stores/blob_cache_store.ts";
import { _UpstashBlobs } from "./_blobs.ts";
import { _Connection, type UpstashConnectionOptions } from "./_connection.ts";

const COMPONENT = "UpstashCacheStore";

/** Options for {@linkcode UpstashCacheStore}. */
export interface UpstashCacheStoreOptions
  extends UpstashConnectionOptions, BlobCacheStoreOptions {
  /**
   * The largest encoded entry stored, in bytes. A larger entry is skipped
   * (reported through `onEvent`, and any older value under its key
   * removed), not refused with an error. The default is Upstash's request
   * size limit on the free plan.
   *
   * @default {1_048_576}
   */
  maxEntrySizeBytes?: number;
  /**
   * How many keys `clear` and `getStats` ask for per `SCAN` step. A
   * positive integer.
   *
   * @default {1_000}
   */
  scanCount?: number;
}

/**
 * A {@linkcode CacheStore} in Upstash Redis, shared by every process that
 * reaches the database.
 *
 * Each entry is one Redis string under `sluice:cache:<key>`, with Redis's
 * own millisecond expiry: `get` is one `GET`, `set` one `SET ... PX`. Values
 * round-trip exactly, byte arrays included. `clear(prefix)` walks the
 * matching keys with `SCAN` and removes them with `UNLINK` in batches, never
 * with `KEYS`; `getStats()` walks them the same way (one `SCAN` and one
 * script per batch), so it costs a round trip per `scanCount` entries.
 *
 * @typeParam T The type of the stored values.
 *
 * @example Sharing a cache through Upstash
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { UpstashCacheStore } from "@sluice/http/upstash";
 *
 * const cache = new UpstashCacheStore({ redis: Redis.fromEnv() });
 * await cache.set("github:cache:1", { status: 200 }, 60);
 * console.log(await cache.get("github:cache:1")); // { status: 200 }
 * ```
 */
export class UpstashCacheStore<T = unknown> extends BlobCacheStore<T> {
  /**
   * Creates a store.
   *
   * @param options The Upstash client (or URL and token) and limits.
   * @throws {ConfigError} When neither `redis` nor `url` and `token` are
   * usable, or a limit is not a positive integer.
   */
  constructor(options: UpstashCacheStoreOptions) {
    const connection = new _Connection(COMPONENT, "cache", options);
    const { scanCount = 1_000 } = options;
    super({
      component: COMPONENT,
      backend: new _UpstashBlobs(connection, scanCount),
      defaultMaxEntrySizeBytes: 1_048_576,
    }, options);
  }
}

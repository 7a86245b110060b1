/**
 * A {@linkcode CacheStore} in a libSQL database: a local file shared by
 * processes, or a sqld / Turso server shared by everything that reaches it.
 *
 * @module
 */

import {
  BlobCacheStore,
  type BlobCacheStoreOptions,
} from "../../src/stores/blob_cache_store.ts";
import type { StoreEvent } from "../../src/stores/store_events.ts";
import type { CacheStoreStats } from "../../src/stores/types.ts";
import { _LibsqlBlobs } from "./_blobs.ts";
import { _Connection, type LibsqlConnectionOptions } from "./_connection.ts";

/** Something the cache store did that is worth knowing but is not an error. */
export type LibsqlCacheEvent = StoreEvent;

/** Options for {@linkcode LibsqlCacheStore}. */
export interface LibsqlCacheStoreOptions
  extends LibsqlConnectionOptions, BlobCacheStoreOptions {
  /**
   * The largest encoded entry stored, in bytes. A larger entry is skipped
   * (and any older value under its key removed) with a `cache.skipped` event.
   *
   * @default {5242880}
   */
  maxEntrySizeBytes?: number;
  /**
   * The least time between two automatic removals of expired rows, which run
   * inside a `set` (no timer). `0` turns automatic removal off; call
   * `cleanup()` yourself then. A non-negative integer.
   *
   * @default {60000}
   */
  cleanupIntervalMs?: number;
}

/** Counts returned by {@linkcode LibsqlCacheStore.getStats}. */
export interface LibsqlCacheStats extends CacheStoreStats {
  /** The size of the whole database, in KiB (all tables, not only the cache). */
  databaseSizeKB: number;
}

const COMPONENT = "LibsqlCacheStore";

/**
 * A cache store backed by a libSQL table. Values are encoded byte-exact
 * (`Uint8Array` bodies included) into BLOBs; every operation is one round
 * trip; expired rows are never returned and are removed lazily.
 *
 * @typeParam T The type of the stored values.
 *
 * @example Sharing a cache file between processes
 * ```ts
 * import { LibsqlCacheStore } from "@sluice/http/libsql";
 *
 * const cache = new LibsqlCacheStore({ url: "file:sluice.db" });
 * await cache.set("github:cache:abc", { status: 200 }, 60);
 * console.log(await cache.get("github:cache:abc")); // { status: 200 }
 * await cache.close();
 * ```
 */
export class LibsqlCacheStore<T = unknown>
  extends BlobCacheStore<T, LibsqlCacheStats> {
  /**
   * Creates a cache store. No connection is made until the first operation.
   *
   * @param options Where the database is, and the store's limits.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: LibsqlCacheStoreOptions) {
    const db = new _Connection(COMPONENT, options);
    const { cleanupIntervalMs = 60_000 } = options;
    super({
      component: COMPONENT,
      backend: new _LibsqlBlobs(db, cleanupIntervalMs),
      defaultMaxEntrySizeBytes: 5 * 1024 * 1024,
    }, options);
  }
}

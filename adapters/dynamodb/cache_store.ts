/**
 * A {@linkcode CacheStore} in a DynamoDB table, shared by every process that
 * reaches it.
 *
 * @module
 */

import {
  BlobCacheStore,
  type BlobCacheStoreOptions,
} from "../../src/stores/blob_cache_store.ts";
import { _DynamoBlobs } from "./_blobs.ts";
import { _Connection, type DynamoDBConnectionOptions } from "./_connection.ts";

const COMPONENT = "DynamoDBCacheStore";

/** DynamoDB's item limit (400 KB) less room for the keys and attributes. */
export const DEFAULT_MAX_ENTRY_SIZE_BYTES: number = 390 * 1024;

/** Options for {@linkcode DynamoDBCacheStore}. */
export interface DynamoDBCacheStoreOptions
  extends DynamoDBConnectionOptions, BlobCacheStoreOptions {
  /**
   * The largest encoded entry stored, in bytes. A larger entry is skipped
   * (reported through `onEvent`, and any older value under its key
   * removed), not refused with an error. The default stays below
   * DynamoDB's item limit of 400 KB.
   *
   * @default {399_360}
   */
  maxEntrySizeBytes?: number;
}

/**
 * A {@linkcode CacheStore} in DynamoDB, on the table every DynamoDB store
 * shares.
 *
 * Each entry is one item (`pk` `sluice:cache:<key>`): `get` is one
 * consistent `GetItem`, `set` one `PutItem`, `delete` one `DeleteItem`.
 * Values round-trip exactly, byte arrays included, as a binary attribute.
 * Entries expire through DynamoDB's TTL (attribute `ttl`), which may lag by
 * up to 48 hours, so every read compares the expiry itself and an expired
 * entry is a miss at once. `clear(prefix)` queries the table's index
 * (`gsi1`, sixteen shards) for the keys under the prefix and deletes them
 * 25 at a time with `BatchWriteItem`, never scanning the table;
 * `getStats()` and `cleanup()` query the index the same way.
 *
 * @typeParam T The type of the stored values.
 *
 * @example A cache shared through DynamoDB
 * ```ts
 * import { DynamoDBCacheStore } from "@sluice/http/dynamodb";
 *
 * const cache = new DynamoDBCacheStore({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 * });
 * await cache.set("github:cache:abc", { status: 200 }, 60);
 * console.log(await cache.get("github:cache:abc")); // { status: 200 }
 * ```
 */
export class DynamoDBCacheStore<T = unknown> extends BlobCacheStore<T> {
  /**
   * Creates a store. Nothing is sent until the first operation.
   *
   * @param options The client (or region and credentials), the table and
   * the size limit.
   * @throws {ConfigError} When an option is invalid.
   */
  constructor(options: DynamoDBCacheStoreOptions) {
    const connection = new _Connection(COMPONENT, options);
    super({
      component: COMPONENT,
      backend: new _DynamoBlobs(connection),
      defaultMaxEntrySizeBytes: DEFAULT_MAX_ENTRY_SIZE_BYTES,
    }, options);
  }
}

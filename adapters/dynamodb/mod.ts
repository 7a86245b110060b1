/**
 * DynamoDB stores for sluice: one cache, one set of in-flight requests and
 * one rate budget for every process that reaches a DynamoDB table: Lambda
 * functions, containers, edge workers.
 *
 * Every store shares one table (`TABLE_SCHEMA`: `pk`, `sk` and the index
 * `gsi1`), each kind under its own key prefix (`sluice:cache:`,
 * `sluice:dedupe:`, `sluice:ratelimit:`), every key as the client escaped
 * it. A store reaches DynamoDB either through an injected AWS SDK v3
 * client (`client`, typed structurally: the SDK is not a dependency) or,
 * with `region` and `credentials`, through `fetch` with SigV4 signatures
 * made with Web Crypto, so the stores run on Deno, Bun, Node and edge
 * runtimes alike.
 *
 * - Cache: one `GetItem` or `PutItem` per operation; DynamoDB's TTL
 *   removes expired entries, and reads filter them at once.
 * - Dedupe: ownership is a conditional write (a lease of `jobTimeoutMs`).
 * - Rate limits: exact sliding windows from conditional writes into a ring
 *   of `limit` slots per resource, without transactions.
 *
 * DynamoDB has no server clock: every time is the clock of the process
 * that writes it, so the rate-limit stores' `marginMs` must cover the
 * clock skew between processes.
 *
 * @example Every store on one table, through the AWS SDK
 * ```ts
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
 * import { HttpClient } from "@sluice/http";
 * import { createDynamoDBStores } from "@sluice/http/dynamodb";
 *
 * const stores = createDynamoDBStores({
 *   client: new DynamoDBClient({ region: "eu-west-1" }),
 *   rateLimit: { defaultConfig: { limit: 60, windowMs: 60_000 } },
 * });
 * const client = new HttpClient({
 *   name: "api",
 *   cache: { store: stores.cache },
 *   dedupe: { store: stores.dedupe },
 *   rateLimit: { store: stores.rateLimit },
 * });
 * ```
 *
 * @module
 */

import { ConfigError } from "../../src/errors.ts";
import type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
import { _Connection, type DynamoDBConnectionOptions } from "./_connection.ts";
import type { DynamoDBStoreEvent } from "./_values.ts";
import {
  DynamoDBAdaptiveRateLimitStore,
  type DynamoDBAdaptiveRateLimitStoreOptions,
} from "./adaptive_rate_limit_store.ts";
import {
  DynamoDBCacheStore,
  type DynamoDBCacheStoreOptions,
} from "./cache_store.ts";
import {
  DynamoDBDedupeStore,
  type DynamoDBDedupeStoreOptions,
} from "./dedupe_store.ts";
import {
  DynamoDBRateLimitStore,
  type DynamoDBRateLimitStoreOptions,
} from "./rate_limit_store.ts";

export type * from "../../src/stores/types.ts";
export type { Clock } from "../../src/clock.ts";
export type * from "../../src/stores/rate_window.ts";
export type * from "../../src/stores/window_rate_limit_store.ts";
export type * from "../../src/stores/window_adaptive_rate_limit_store.ts";
export type * from "../../src/stores/blob_cache_store.ts";
export type * from "../../src/stores/lease_dedupe_store.ts";
export type * from "../../src/stores/store_events.ts";
export type * from "../../src/stores/blob_backend.ts";
export type { Payload, PayloadEncoding } from "../../src/stores/_payload.ts";
export type * from "../../src/stores/lease.ts";
export type { AdaptiveConfig };
export type { DynamoDBConnectionOptions } from "./_connection.ts";
export type { DynamoDBCredentials } from "./_sigv4.ts";
export type {
  DynamoDBClientLike,
  DynamoDBCommandLike,
  DynamoDBCredentialsSource,
} from "./_transport.ts";
export type { DynamoDBStoreEvent } from "./_values.ts";
export * from "./adaptive_rate_limit_store.ts";
export * from "./cache_store.ts";
export * from "./dedupe_store.ts";
export * from "./rate_limit_store.ts";
export * from "./schema.ts";

/** Options for {@linkcode createDynamoDBStores}. */
export interface DynamoDBStoresOptions extends DynamoDBConnectionOptions {
  /**
   * Options of the cache store, beyond the connection.
   *
   * @default {{}}
   */
  cache?: Omit<DynamoDBCacheStoreOptions, keyof DynamoDBConnectionOptions>;
  /**
   * Options of the dedupe store, beyond the connection.
   *
   * @default {{}}
   */
  dedupe?: Omit<DynamoDBDedupeStoreOptions, keyof DynamoDBConnectionOptions>;
  /**
   * Options of the rate-limit store, beyond the connection. With
   * `adaptiveConfig`, the store splits each budget between user and
   * background traffic.
   *
   * @default {{}}
   */
  rateLimit?: Omit<
    DynamoDBAdaptiveRateLimitStoreOptions,
    keyof DynamoDBConnectionOptions
  >;
  /**
   * Whether the rate-limit store is a
   * {@linkcode DynamoDBAdaptiveRateLimitStore} (user traffic before
   * background) rather than a {@linkcode DynamoDBRateLimitStore}. Giving
   * `rateLimit.adaptiveConfig` implies `true`.
   *
   * @default {false}
   */
  adaptive?: boolean;
  /**
   * Receives skipped and corrupt entries of the cache and dedupe stores.
   *
   * @default {undefined}
   */
  onEvent?: (event: DynamoDBStoreEvent) => void;
}

/** The stores made by {@linkcode createDynamoDBStores}, on one table. */
export interface DynamoDBStores {
  /** The response cache. */
  cache: DynamoDBCacheStore;
  /** The in-flight request registry. */
  dedupe: DynamoDBDedupeStore;
  /** The rate budget: adaptive when asked for. */
  rateLimit: DynamoDBRateLimitStore | DynamoDBAdaptiveRateLimitStore;
  /** Closes the three stores (an injected client is left open). */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a cache, a dedupe and a rate-limit store on one DynamoDB table,
 * ready to hand to `HttpClient`. Nothing is sent until the first
 * operation.
 *
 * @param options The client (or endpoint, region and credentials), the
 * table, and per-store options.
 * @returns The three stores.
 * @throws {ConfigError} When an option is invalid.
 *
 * @example Over fetch, on an edge runtime
 * ```ts
 * import { createDynamoDBStores } from "@sluice/http/dynamodb";
 *
 * const stores = createDynamoDBStores({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 *   tableName: "sluice",
 * });
 * await stores.cache.set("api:cache:abc", { status: 200 }, 60);
 * console.log(await stores.rateLimit.acquire("api:ratelimit:search"));
 * await stores.close();
 * ```
 */
export function createDynamoDBStores(
  options: DynamoDBStoresOptions,
): DynamoDBStores {
  const component = "createDynamoDBStores";
  // Validates the connection options once, naming this function.
  new _Connection(component, options);
  const {
    cache = {},
    dedupe = {},
    rateLimit = {},
    adaptive = rateLimit?.adaptiveConfig !== undefined,
    onEvent,
    ...connection
  } = options;
  for (
    const [name, value] of [["cache", cache], ["dedupe", dedupe], [
      "rateLimit",
      rateLimit,
    ]] as const
  ) {
    if (typeof value !== "object" || value === null) {
      throw new ConfigError(component, name, value, "an object of options");
    }
  }
  if (typeof adaptive !== "boolean") {
    throw new ConfigError(component, "adaptive", adaptive, "a boolean");
  }
  const events = onEvent === undefined ? {} : { onEvent };
  const stores = {
    cache: new DynamoDBCacheStore({ ...events, ...cache, ...connection }),
    dedupe: new DynamoDBDedupeStore({ ...events, ...dedupe, ...connection }),
    rateLimit: adaptive
      ? new DynamoDBAdaptiveRateLimitStore({ ...rateLimit, ...connection })
      : new DynamoDBRateLimitStore(
        _withoutAdaptive({ ...rateLimit, ...connection }),
      ),
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= Promise.all([
      stores.cache.close(),
      stores.dedupe.close(),
      stores.rateLimit.close(),
    ]).then(() => {});
  return { ...stores, close, [Symbol.asyncDispose]: close };
}

function _withoutAdaptive(
  options: DynamoDBAdaptiveRateLimitStoreOptions,
): DynamoDBRateLimitStoreOptions {
  const { adaptiveConfig: _unused, ...rest } = options;
  return rest;
}

/**
 * libSQL / Turso stores for sluice: a cache, single-flight and rate limits
 * that every process on one database shares, whether a local file
 * (`file:`), `:memory:`, a sqld server or Turso (`http(s)://`,
 * `libsql://`).
 *
 * Local databases use the native `@libsql/client`; remote ones use
 * `@libsql/client/web`, so a remote-only deployment never loads a native
 * module. Every store also accepts an existing client, typed structurally.
 *
 * @example All stores on one database file
 * ```ts
 * import { HttpClient } from "@sluice/http";
 * import { createLibsqlStores } from "@sluice/http/libsql";
 *
 * await using stores = await createLibsqlStores({ url: "file:sluice.db" });
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
import { _Connection, type LibsqlConnectionOptions } from "./_connection.ts";
import {
  LibsqlAdaptiveRateLimitStore,
  type LibsqlAdaptiveRateLimitStoreOptions,
} from "./adaptive_rate_limit_store.ts";
import {
  LibsqlCacheStore,
  type LibsqlCacheStoreOptions,
} from "./cache_store.ts";
import type { LibsqlClient } from "./client.ts";
import {
  LibsqlDedupeStore,
  type LibsqlDedupeStoreOptions,
} from "./dedupe_store.ts";
import {
  LibsqlRateLimitStore,
  type LibsqlRateLimitStoreOptions,
} from "./rate_limit_store.ts";

export type * from "../../src/stores/types.ts";
export type * from "../../src/stores/rate_window.ts";
export type * from "../../src/stores/window_rate_limit_store.ts";
export type * from "../../src/stores/window_adaptive_rate_limit_store.ts";
export type * from "../../src/stores/blob_cache_store.ts";
export type * from "../../src/stores/lease_dedupe_store.ts";
export type * from "../../src/stores/store_events.ts";
export type * from "../../src/stores/blob_backend.ts";
export type { Payload, PayloadEncoding } from "../../src/stores/_payload.ts";
export type * from "../../src/stores/lease.ts";
export type { Clock } from "../../src/clock.ts";
export type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
export * from "./adaptive_rate_limit_store.ts";
export * from "./cache_store.ts";
export type * from "./client.ts";
export type { LibsqlConnectionOptions } from "./_connection.ts";
export * from "./dedupe_store.ts";
export * from "./rate_limit_store.ts";
export {
  DEFAULT_TABLE_PREFIX,
  LIBSQL_SCHEMA,
  LIBSQL_SCHEMA_VERSION,
  libsqlSchema,
  type LibsqlTableNames,
  migrate,
  type MigrateOptions,
  type MigrateResult,
  tableNames,
} from "./schema.ts";

/** Options for {@linkcode createLibsqlStores}. */
export interface CreateLibsqlStoresOptions extends LibsqlConnectionOptions {
  /** Options of the cache store. */
  cache?: Omit<LibsqlCacheStoreOptions, keyof LibsqlConnectionOptions>;
  /** Options of the dedupe store. */
  dedupe?: Omit<LibsqlDedupeStoreOptions, keyof LibsqlConnectionOptions>;
  /** Options of both rate-limit stores (budgets, margin, adaptive settings). */
  rateLimit?: Omit<
    LibsqlAdaptiveRateLimitStoreOptions,
    keyof LibsqlConnectionOptions
  >;
}

/** The stores made by {@linkcode createLibsqlStores}, on one shared client. */
export interface LibsqlStores {
  /** The cache store. */
  cache: LibsqlCacheStore;
  /** The dedupe store. */
  dedupe: LibsqlDedupeStore;
  /** The rate-limit store. */
  rateLimit: LibsqlRateLimitStore;
  /**
   * The adaptive rate-limit store. It shares the admission log with
   * `rateLimit`, so both count against the same budgets.
   */
  adaptiveRateLimit: LibsqlAdaptiveRateLimitStore;
  /** The client every store uses. */
  client: LibsqlClient;
  /**
   * Closes every store, then the client if it was created from a URL.
   * Safe to call twice.
   */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates every libSQL store on one shared client, and creates or upgrades
 * the tables before returning, so a bad URL or an unreachable database
 * fails at start-up.
 *
 * @param options A `url` (the client is created here and closed by
 * `close()`) or a `client` (left open), plus per-store options.
 * @returns The stores and the client.
 * @throws {ConfigError} When an option is invalid.
 * @throws {StoreError} When the database cannot be opened or prepared.
 *
 * @example A Turso database
 * ```ts
 * import { createLibsqlStores } from "@sluice/http/libsql";
 *
 * const stores = await createLibsqlStores({
 *   url: "libsql://my-db.turso.io",
 *   authToken: "…",
 *   rateLimit: { defaultConfig: { limit: 100, windowMs: 60_000 } },
 * });
 * console.log(await stores.cache.getStats());
 * await stores.close();
 * ```
 */
export async function createLibsqlStores(
  options: CreateLibsqlStoresOptions,
): Promise<LibsqlStores> {
  const component = "createLibsqlStores";
  const connection = new _Connection(component, options);
  const { cache, dedupe, rateLimit } = options;
  for (
    const [name, value] of [["cache", cache], ["dedupe", dedupe], [
      "rateLimit",
      rateLimit,
    ]] as const
  ) {
    if (value !== undefined && (typeof value !== "object" || value === null)) {
      throw new ConfigError(component, name, value, "an object of options");
    }
  }
  const client = await connection.run(
    "open",
    "open the libSQL database",
    (opened) => Promise.resolve(opened),
  );
  const shared: LibsqlConnectionOptions = { client };
  for (
    const key of ["tablePrefix", "ensure", "clock", "busyTimeoutMs"] as const
  ) {
    if (options[key] !== undefined) {
      (shared as Record<string, unknown>)[key] = options[key];
    }
  }
  let stores: Omit<LibsqlStores, "close" | typeof Symbol.asyncDispose>;
  try {
    stores = {
      cache: new LibsqlCacheStore({ ...cache, ...shared }),
      dedupe: new LibsqlDedupeStore({ ...dedupe, ...shared }),
      rateLimit: new LibsqlRateLimitStore({
        ..._withoutAdaptive(rateLimit),
        ...shared,
      }),
      adaptiveRateLimit: new LibsqlAdaptiveRateLimitStore({
        ...rateLimit,
        ...shared,
      }),
      client,
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      await Promise.all([
        stores.cache.close(),
        stores.dedupe.close(),
        stores.rateLimit.close(),
        stores.adaptiveRateLimit.close(),
      ]);
      await connection.close();
    })();
  return { ...stores, close, [Symbol.asyncDispose]: close };
}

function _withoutAdaptive(
  options: CreateLibsqlStoresOptions["rateLimit"],
): Omit<LibsqlRateLimitStoreOptions, keyof LibsqlConnectionOptions> {
  if (options === undefined) return {};
  const { adaptiveConfig: _, ...rest } = options;
  return rest;
}

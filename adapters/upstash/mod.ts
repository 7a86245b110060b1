/**
 * Upstash Redis stores for sluice: one cache, one set of in-flight requests
 * and one rate budget for every process that reaches the database, over
 * Upstash's REST API. The stores use Web APIs only, so they run on Deno,
 * Deno Deploy, Bun, Node and edge workers.
 *
 * Every operation is one round trip: a cache read is one `GET`, a write one
 * `SET ... PX`; `acquire`, `registerOrJoin`, `complete`, `fail` and cooldowns
 * are one Lua script each, run with `EVALSHA` (falling back to `EVAL` the
 * first time Redis sees a script). Scripts read the Redis server's clock,
 * so processes with skewed clocks share one notion of time.
 *
 * Keys are `sluice:<kind>:<key given by the client>`, the kind being
 * `cache`, `dedupe` or `ratelimit` (then `w`, `bg`, `u` or `cd`), so that
 * stores of different kinds never share a key; the client escapes its name
 * and scopes into its keys, so no client or scope can reach another's keys.
 *
 * @example Sharing everything through Upstash
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { createUpstashStores } from "@sluice/http/upstash";
 *
 * const stores = createUpstashStores({ redis: Redis.fromEnv() });
 * await stores.cache.set("github:cache:abc", { status: 200 }, 60);
 * console.log(await stores.rateLimit.acquire("github:ratelimit:api"));
 * await stores.close();
 * ```
 *
 * @module
 */

import type { AdaptiveConfig } from "../../src/rate_limit/adaptive_policy.ts";
import { _Connection, type UpstashConnectionOptions } from "./_connection.ts";
import { _UpstashRestClient } from "./_rest_client.ts";
import type { UpstashStoreEvent } from "./_values.ts";
import {
  UpstashAdaptiveRateLimitStore,
  type UpstashAdaptiveRateLimitStoreOptions,
} from "./adaptive_rate_limit_store.ts";
import {
  UpstashCacheStore,
  type UpstashCacheStoreOptions,
} from "./cache_store.ts";
import {
  UpstashDedupeStore,
  type UpstashDedupeStoreOptions,
} from "./dedupe_store.ts";
import {
  UpstashRateLimitStore,
  type UpstashRateLimitStoreOptions,
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
export type {
  UpstashConnectionOptions,
  UpstashRedisLike,
} from "./_connection.ts";
export type { UpstashStoreEvent } from "./_values.ts";
export {
  UpstashAdaptiveRateLimitStore,
  type UpstashAdaptiveRateLimitStoreOptions,
} from "./adaptive_rate_limit_store.ts";
export {
  UpstashCacheStore,
  type UpstashCacheStoreOptions,
} from "./cache_store.ts";
export {
  UpstashDedupeStore,
  type UpstashDedupeStoreOptions,
} from "./dedupe_store.ts";
export {
  UpstashRateLimitStore,
  type UpstashRateLimitStoreOptions,
} from "./rate_limit_store.ts";

/** Options for {@linkcode createUpstashStores}. */
export interface UpstashStoresOptions extends UpstashConnectionOptions {
  /**
   * Options of the cache store, beyond the connection.
   *
   * @default {{}}
   */
  cache?: Omit<UpstashCacheStoreOptions, keyof UpstashConnectionOptions>;
  /**
   * Options of the dedupe store, beyond the connection.
   *
   * @default {{}}
   */
  dedupe?: Omit<UpstashDedupeStoreOptions, keyof UpstashConnectionOptions>;
  /**
   * Options of the rate-limit store, beyond the connection. With
   * `adaptiveConfig`, the store splits each budget between user and
   * background traffic.
   *
   * @default {{}}
   */
  rateLimit?: Omit<
    UpstashAdaptiveRateLimitStoreOptions,
    keyof UpstashConnectionOptions
  >;
  /**
   * Whether the rate-limit store is an {@linkcode UpstashAdaptiveRateLimitStore}
   * (user traffic before background) rather than an
   * {@linkcode UpstashRateLimitStore}. Giving `rateLimit.adaptiveConfig`
   * implies `true`.
   *
   * @default {false}
   */
  adaptive?: boolean;
  /**
   * Receives skipped and corrupt entries of the cache and dedupe stores.
   *
   * @default {undefined}
   */
  onEvent?: (event: UpstashStoreEvent) => void;
}

/** The stores made by {@linkcode createUpstashStores}, sharing one client. */
export interface UpstashStores {
  /** The response cache. */
  cache: UpstashCacheStore;
  /** The in-flight request registry. */
  dedupe: UpstashDedupeStore;
  /** The rate budget: adaptive when asked for. */
  rateLimit: UpstashRateLimitStore | UpstashAdaptiveRateLimitStore;
  /** Closes the three stores. */
  close(): Promise<void>;
}

/**
 * Creates a cache, a dedupe and a rate-limit store that share one Upstash
 * client, ready to hand to `HttpClient`.
 *
 * @param options The Upstash client (or URL and token), the key prefix, and
 * per-store options.
 * @returns The three stores.
 * @throws {ConfigError} When neither `redis` nor `url` and `token` are
 * usable, or a store option is invalid.
 *
 * @example From the environment
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { createUpstashStores } from "@sluice/http/upstash";
 *
 * const { cache, dedupe, rateLimit } = createUpstashStores({
 *   redis: Redis.fromEnv({ automaticDeserialization: false }),
 *   rateLimit: { defaultConfig: { limit: 5_000, windowMs: 3_600_000 } },
 * });
 * ```
 */
export function createUpstashStores(
  options: UpstashStoresOptions,
): UpstashStores {
  // Validates the connection options once, and builds one REST client for
  // every store when given a URL and token.
  new _Connection("createUpstashStores", "cache", options);
  const {
    cache = {},
    dedupe = {},
    rateLimit = {},
    adaptive = rateLimit.adaptiveConfig !== undefined,
    onEvent,
    redis,
    url,
    token,
    ...shared
  } = options;
  const connection: UpstashConnectionOptions = {
    ...shared,
    redis: redis ?? new _UpstashRestClient(url!, token!),
  };
  const events = onEvent === undefined ? {} : { onEvent };
  const stores = {
    cache: new UpstashCacheStore({ ...events, ...cache, ...connection }),
    dedupe: new UpstashDedupeStore({ ...events, ...dedupe, ...connection }),
    rateLimit: adaptive
      ? new UpstashAdaptiveRateLimitStore({ ...rateLimit, ...connection })
      : new UpstashRateLimitStore(
        _withoutAdaptive({ ...rateLimit, ...connection }),
      ),
  };
  return {
    ...stores,
    async close(): Promise<void> {
      await Promise.all([
        stores.cache.close(),
        stores.dedupe.close(),
        stores.rateLimit.close(),
      ]);
    },
  };
}

function _withoutAdaptive(
  options: UpstashAdaptiveRateLimitStoreOptions,
): UpstashRateLimitStoreOptions {
  const { adaptiveConfig: _unused, ...rest } = options;
  return rest;
}

/** The adaptive settings accepted by {@linkcode UpstashAdaptiveRateLimitStore}. */
export type { AdaptiveConfig };

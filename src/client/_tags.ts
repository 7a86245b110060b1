// Cache tags on the client side: a request's tags as the store names them
// (namespaced by the client's or scope's key prefix), the check that the
// cache store keeps tags, and invalidation.

import { storeCall } from "../_store_deadline.ts";
import type { Clock } from "../clock.ts";
import { ConfigError, StoreError } from "../errors.ts";
import { supportsCacheTags } from "../stores/cache_tags.ts";
import type { CacheStore } from "../stores/types.ts";
import { resolveRequestTags } from "./_request_options.ts";

/** The name of a store in errors: its class. */
function storeName(store: CacheStore<unknown>): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor
    ?.name;
  return typeof name === "string" && name !== "" ? name : "the cache store";
}

/**
 * The store's names of `tags` for the keys under `prefix`:
 * `${prefix}:cache:${tag}`, the same prefix `clearCache()` clears.
 *
 * @throws {ConfigError} When tags are given and there is no cache, or its
 * store has no tag support.
 */
export function storeTags(
  store: CacheStore<unknown> | undefined,
  prefix: string,
  tags: readonly string[] | undefined,
  option = "tags",
): readonly string[] | undefined {
  if (tags === undefined) return undefined;
  if (store === undefined) {
    throw new ConfigError(
      "request",
      option,
      tags,
      "used with a client that has a cache ('cache' is not set)",
    );
  }
  if (!supportsCacheTags(store)) {
    throw new ConfigError(
      "request",
      option,
      tags,
      `used with a cache store that supports tags (${
        storeName(store)
      } does not)`,
    );
  }
  const namespace = `${prefix}:cache:`;
  return tags.map((tag) => namespace + tag);
}

/**
 * Drops every entry under `prefix` stored with one of `tags`.
 *
 * @returns How many entries the store dropped.
 * @throws {ConfigError} For bad tags, no cache, or a store without tags.
 * @throws {StoreError} When the store fails or does not answer in time.
 */
export async function invalidateTags(
  store: CacheStore<unknown> | undefined,
  prefix: string,
  tags: unknown,
  timeoutMs: number | undefined,
  clock: Clock,
): Promise<number> {
  const named = storeTags(
    store,
    prefix,
    resolveRequestTags(tags ?? null) ?? [],
    "invalidateTags",
  );
  if (named === undefined || named.length === 0) return 0;
  try {
    const removed = await storeCall(
      "invalidateTags",
      () => store!.invalidateTags!(named),
      timeoutMs,
      undefined,
      clock,
    );
    return typeof removed === "number" && removed >= 0 ? removed : 0;
  } catch (error) {
    if (error instanceof StoreError || error instanceof ConfigError) {
      throw error;
    }
    throw new StoreError(
      `Cannot invalidate cache tags in ${storeName(store!)}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      storeName(store!),
      "invalidateTags",
      { cause: error },
    );
  }
}

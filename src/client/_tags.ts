// Cache tags as the client takes them: validated, deduplicated, and
// namespaced by the client's or scope's key prefix, like its cache keys, so
// that one scope's `invalidateTags` never reaches another's entries and
// `clearCache()` forgets the scope's tag index with its entries.

import { storeCall } from "../_store_deadline.ts";
import { ConfigError, StoreError } from "../errors.ts";
import { escapeKeyPart } from "../stores/keys.ts";
import { MAX_STORE_TAG_LENGTH } from "../stores/_tags.ts";
import type { CacheStore } from "../stores/types.ts";
import type { Scope } from "./_call.ts";
import type { Shared } from "./_call_spec.ts";

/** The longest tag, in UTF-16 code units. */
export const MAX_TAG_LENGTH = 256;
/** The most distinct tags one request carries. */
export const MAX_REQUEST_TAGS = 64;
/** The most distinct tags one `invalidateTags` call names. */
export const MAX_INVALIDATED_TAGS = 1_000;

/**
 * The distinct tags of `value`, in their first order.
 *
 * @throws {ConfigError} When it is not an array of non-empty strings of at
 * most {@linkcode MAX_TAG_LENGTH} code units, or has more than `max`
 * distinct ones.
 */
export function userTags(
  component: string,
  value: unknown,
  max: number,
): string[] {
  const expected =
    `an array of at most ${max} non-empty strings of at most ${MAX_TAG_LENGTH} UTF-16 code units`;
  if (!Array.isArray(value)) {
    throw new ConfigError(component, "tags", value, expected);
  }
  const distinct = new Set<string>();
  for (const tag of value) {
    if (
      typeof tag !== "string" || tag === "" || tag.length > MAX_TAG_LENGTH
    ) {
      throw new ConfigError(component, "tags", tag, expected);
    }
    distinct.add(tag);
  }
  if (distinct.size > max) {
    throw new ConfigError(
      component,
      "tags",
      `${distinct.size} distinct tags`,
      expected,
    );
  }
  return [...distinct];
}

/**
 * The store's form of a scope's tags: `<prefix>:cache:<escaped tag>`.
 *
 * @throws {ConfigError} When one is longer than a store keeps
 * ({@linkcode MAX_STORE_TAG_LENGTH}), as under a long scope id.
 */
export function scopedTags(
  component: string,
  scope: Scope,
  tags: readonly string[],
): string[] {
  return tags.map((tag) => {
    const stored = `${scope.prefix}:cache:${escapeKeyPart(tag)}`;
    if (stored.length > MAX_STORE_TAG_LENGTH) {
      throw new ConfigError(
        component,
        "tags",
        tag,
        `a tag whose stored form ('<client or scope key prefix>:cache:<escaped tag>') has at most ${MAX_STORE_TAG_LENGTH} UTF-16 code units, ${stored.length} here: use a shorter tag or scope id`,
      );
    }
    return stored;
  });
}

/** Whether a cache store keeps tags. */
export function supportsTags(store: CacheStore<unknown>): boolean {
  return typeof store.invalidateTags === "function";
}

/**
 * The error of tags used with a cache store that cannot keep them, naming
 * the store.
 */
export function noTagSupport(store: CacheStore<unknown>): ConfigError {
  const name = (store as { constructor?: { name?: unknown } }).constructor
    ?.name;
  return new ConfigError(
    "HttpClient",
    "cache.store",
    typeof name === "string" && name !== "" && name !== "Object"
      ? name
      : "a cache store without invalidateTags()",
    "a cache store with tag support (one with invalidateTags(), as every sluice cache store has) to use 'tags'",
  );
}

/**
 * The tags of one request, in the store's form, or `undefined` for none.
 *
 * @throws {ConfigError} When they are malformed, or the client's cache
 * store cannot keep them.
 */
export function requestTags(
  shared: Shared,
  scope: Scope,
  value: unknown,
): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const tags = userTags("request", value, MAX_REQUEST_TAGS);
  // No tags ask nothing of the store, whatever it supports.
  if (tags.length === 0) return undefined;
  const store = shared.options.cache?.store;
  if (store !== undefined && !supportsTags(store)) throw noTagSupport(store);
  return scopedTags("request", scope, tags);
}

/**
 * Drops the cached entries of `scope` stored with one of `tags`.
 *
 * @returns How many the store removed; `0` without a cache.
 * @throws {ConfigError} When the tags are malformed, or the cache store
 * has no tag support.
 * @throws {StoreError} When the store fails or does not answer within
 * `storeTimeoutMs`.
 */
export async function invalidateScopeTags(
  shared: Shared,
  scope: Scope,
  tags: unknown,
): Promise<number> {
  const given = userTags("invalidateTags", tags, MAX_INVALIDATED_TAGS);
  const store = shared.options.cache?.store;
  if (store === undefined || given.length === 0) return 0;
  if (!supportsTags(store)) throw noTagSupport(store);
  const stored = scopedTags("invalidateTags", scope, given);
  const { storeTimeoutMs, clock } = shared.options;
  try {
    const removed = await storeCall(
      "invalidateTags",
      () => store.invalidateTags!(stored),
      storeTimeoutMs,
      undefined,
      clock,
    );
    return typeof removed === "number" && removed >= 0 ? removed : 0;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      `Cannot invalidate cache tags: ${
        error instanceof Error ? error.message : String(error)
      }`,
      "cache",
      "invalidateTags",
      { cause: error },
    );
  }
}

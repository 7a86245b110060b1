/**
 * Tag support of a cache store: how the client and the store decorators ask
 * whether a store keeps tags.
 *
 * @module
 */

import type { CacheStore } from "./types.ts";

/**
 * Whether a cache store supports tags: `supportsTags` is `true` and it has
 * `invalidateTags`.
 *
 * @param store Any cache store.
 * @returns `true` when `set` keeps tags and `invalidateTags` works.
 */
export function supportsCacheTags(store: CacheStore<unknown>): boolean {
  return store.supportsTags === true &&
    typeof store.invalidateTags === "function";
}

/**
 * How long the store keeps an entry.
 *
 * @module
 */

import { type CachedResponse, etagOf, lastModifiedOf } from "./entry.ts";
import {
  DEFAULT_REVALIDATION_STORAGE_MS,
  DEFAULT_STALE_STORAGE_MS,
} from "./options.ts";
import type { CachePolicyOptions } from "./options.ts";

/**
 * Computes the time to live to pass to `CacheStore.set`: as long as the
 * entry can be of use.
 *
 * - the freshness left, plus the longest of the `stale-while-revalidate`
 *   and `stale-if-error` windows and `staleStorageMs` (1 hour by default),
 *   all counted from the moment it goes stale, since a later request may
 *   accept it stale (`max-stale`, its own `stale-if-error`, `force-cache`)
 *   and none can be foreseen. An entry that may never be served stale
 *   (`must-revalidate`) has none of these; one marked `no-cache`, or never
 *   fresh (`max-age=0`, or no freshness lifetime at all), is not kept for
 *   `staleStorageMs`;
 * - when the entry has a validator (`ETag` or `Last-Modified`), at least the
 *   freshness left plus `revalidationStorageMs` (24 hours by default), so a
 *   stale entry can still be refreshed by a cheap 304.
 *
 * An entry marked `no-cache` without a validator is never of use.
 *
 * @param entry The entry to store.
 * @param options The cache policy options.
 * @param now The time of storing, in milliseconds since the epoch; defaults
 * to the entry's `responseTime`.
 * @returns A positive number of seconds (possibly fractional), or `-1` when
 * the entry is of no further use and should not be stored. Never `0`,
 * which stores would read as "never expires".
 *
 * @example
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { storageTtlSeconds } from "./storage_ttl.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK",
 *   headers: new Headers({ "cache-control": "max-age=60, stale-while-revalidate=30" }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * console.log(storageTtlSeconds(entry, { staleStorageMs: 0 })); // 90
 * console.log(storageTtlSeconds(entry, {})); // 3660
 * ```
 */
export function storageTtlSeconds(
  entry: CachedResponse,
  options: CachePolicyOptions,
  now: number = entry.responseTime,
): number {
  const policy = entry.policy;
  const hasValidator = etagOf(entry) !== "" || lastModifiedOf(entry) !== "";
  // Every use needs validation, and there is nothing to validate with.
  if (policy.requiresValidation && !hasValidator) return -1;
  const ageMs = entry.initialAgeMs + Math.max(0, now - entry.responseTime);
  const freshLeftMs = policy.freshnessLifetimeMs - ageMs;
  let staleMs = 0;
  if (!policy.noStaleServing) {
    staleMs = Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs);
    // No request directive lets a `no-cache` entry be served stale, and
    // one that was never fresh is kept only for its validator, if any.
    if (!policy.requiresValidation && policy.freshnessLifetimeMs > 0) {
      staleMs = Math.max(
        staleMs,
        options.staleStorageMs ?? DEFAULT_STALE_STORAGE_MS,
      );
    }
  }
  let keepMs = freshLeftMs + staleMs;
  if (hasValidator) {
    const revalidationMs = options.revalidationStorageMs ??
      DEFAULT_REVALIDATION_STORAGE_MS;
    keepMs = Math.max(keepMs, Math.max(0, freshLeftMs) + revalidationMs);
  }
  return keepMs > 0 ? keepMs / 1000 : -1;
}

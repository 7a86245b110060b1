/**
 * Cache presets: option sets for common kinds of origins, spread into a
 * client's `cache` options.
 *
 * @module
 */

/** The statuses {@linkcode freshWithoutHeaders} gives freshness to. */
export const SUCCESS_STATUSES: readonly number[] = Object.freeze([
  200,
  203,
  204,
]);

/**
 * Cache options for an API that sends no caching headers at all: its
 * successful responses (200, 203, 204) that give no freshness of their own
 * (no `max-age`, no `Expires`) are served from the cache for `seconds`,
 * in place of the heuristic freshness a `Last-Modified` would give.
 *
 * By RFC 9111 such a response has no freshness, so sluice revalidates or
 * refetches it every time unless asked otherwise: this is the asking. What
 * the origin does say still wins: `no-store`, `no-cache`, `private` in a
 * shared cache, `max-age` and `Expires` are obeyed as always, and error
 * responses (a 404, say) are not kept longer than the RFC allows. Like
 * every cached response, these are kept per credential.
 *
 * @param seconds How long such a response stays fresh (default an hour).
 * @returns `{ ttl, ttlStatuses }`, to spread into `cache`.
 * @throws {RangeError} When `seconds` is not a non-negative finite number.
 *
 * @example An API that never sends Cache-Control
 * ```ts
 * import { freshWithoutHeaders, HttpClient, MemoryCacheStore } from "@sluice/http";
 *
 * const api = new HttpClient({
 *   name: "legacy",
 *   cache: { store: new MemoryCacheStore(), ...freshWithoutHeaders(3_600) },
 * });
 * await api.close();
 * ```
 */
export function freshWithoutHeaders(
  seconds = 3_600,
): { ttl: number; ttlStatuses: readonly number[] } {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `Cannot build the cache preset as 'seconds' must be a non-negative number: received ${
        String(seconds)
      }`,
    );
  }
  return { ttl: seconds, ttlStatuses: SUCCESS_STATUSES };
}

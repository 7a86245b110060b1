/**
 * Request cache directives (RFC 9111 §5.2.1).
 *
 * @module
 */

import { parseCacheControl } from "./cache_control.ts";
import type { CacheControl } from "./cache_control.ts";

const NONE: Readonly<CacheControl> = _frozen(parseCacheControl(null));

/**
 * Reads the cache directives of a request. A request without
 * `Cache-Control` but with `Pragma: no-cache` is read as `no-cache`
 * (RFC 9111 §5.4 compatibility).
 *
 * @param headers The request fields.
 * @returns The directives. Treat the result as read-only: a request without
 * directives shares one frozen object, so the common case allocates nothing.
 *
 * @example
 * ```ts
 * import { requestCacheControl } from "./request.ts";
 *
 * console.log(requestCacheControl(new Headers({ pragma: "no-cache" })).noCache); // true
 * ```
 */
export function requestCacheControl(headers: Headers): Readonly<CacheControl> {
  const value = headers.get("cache-control");
  if (value !== null) return parseCacheControl(value);
  const pragma = headers.get("pragma");
  if (pragma !== null && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(pragma)) {
    return parseCacheControl("no-cache");
  }
  return NONE;
}

/**
 * Tells whether a request carries `only-if-cached`: the client must answer
 * it from the cache, with a 504 (Gateway Timeout) when no stored response
 * can be served without contacting the origin.
 *
 * @param headers The request fields.
 * @returns `true` when the request must not reach the origin.
 *
 * @example
 * ```ts
 * import { onlyIfCached } from "./request.ts";
 *
 * console.log(onlyIfCached(new Headers({ "cache-control": "only-if-cached" }))); // true
 * ```
 */
export function onlyIfCached(headers: Headers): boolean {
  const value = headers.get("cache-control");
  return value !== null && parseCacheControl(value).onlyIfCached;
}

/**
 * Builds the 504 response a client returns for an `only-if-cached` request
 * that the cache cannot answer.
 *
 * @returns A new `504 Gateway Timeout` response with an empty body.
 *
 * @example
 * ```ts
 * import { onlyIfCachedMiss } from "./request.ts";
 *
 * console.log(onlyIfCachedMiss().status); // 504
 * ```
 */
export function onlyIfCachedMiss(): Response {
  return new Response(null, {
    status: 504,
    statusText: "Gateway Timeout",
    headers: { "cache-control": "no-store" },
  });
}

function _frozen(cc: CacheControl): Readonly<CacheControl> {
  Object.freeze(cc.noCacheFields);
  Object.freeze(cc.privateFields);
  return Object.freeze(cc);
}

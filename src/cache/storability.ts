/**
 * Whether a response may be stored (RFC 9111 §3).
 *
 * A response is stored only when all of these hold:
 *
 * - the request method is GET or HEAD (a HEAD entry keeps headers only);
 * - neither the request nor the response carries `no-store` (the user's
 *   `overrides.ignoreNoStore` lifts the response's, never the request's);
 * - the status is final and not 206 (ranges are not combined) or 304;
 * - with `must-understand`, the status is one whose caching rules sluice
 *   implements ({@linkcode UNDERSTOOD_STATUSES}); the `no-store` sent along
 *   for older caches is then ignored, as RFC 9111 §5.2.2.3 asks;
 * - in a shared cache: the response is not `private` (a qualified
 *   `private="…"` only drops the named fields), and a request carrying
 *   `Authorization` is answered with `public`, `s-maxage` or
 *   `must-revalidate`;
 * - the response has no `Vary: *`, nor a `Vary` naming something that is
 *   not a field name, which counts as `*` (it could never be served);
 * - something makes it reusable: `max-age`, `Expires`, `s-maxage` (shared),
 *   `public`, `private` (private cache), or a heuristically cacheable status
 *   (which is also what the user's `defaultTtlMs` applies to). A validator
 *   alone does not: RFC 9111 §3 lists no such condition.
 *
 * @module
 */

import { parseCacheControl } from "./cache_control.ts";
import { isHeuristicallyCacheable } from "./freshness.ts";
import type { CachePolicyOptions } from "./options.ts";
import { requestCacheControl } from "./request.ts";
import { varyNames } from "./vary.ts";

/** The request parts storability depends on. A `Request` is one. */
export interface CacheRequestInfo {
  /** The request method. */
  method: string;
  /** The request fields. */
  headers: Headers;
}

/** The response parts storability depends on. A `Response` is one. */
export interface CacheResponseInfo {
  /** The response status. */
  status: number;
  /** The response fields. */
  headers: Headers;
}

/** Why a response is not stored; see {@linkcode notStorableReason}. */
export type NotStorableReason =
  | "method"
  | "request-no-store"
  | "no-store"
  | "status"
  | "must-understand"
  | "private"
  | "authorization"
  | "vary-star"
  | "no-freshness";

/**
 * Status codes whose caching semantics sluice implements, for
 * `must-understand`.
 */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200,
  203,
  204,
  300,
  301,
  302,
  303,
  307,
  308,
  400,
  403,
  404,
  405,
  410,
  414,
  451,
  500,
  501,
  502,
  503,
  504,
]);

/**
 * Tells whether a response may be stored.
 *
 * @param request The request (method and fields).
 * @param response The response (status and fields).
 * @param options The cache policy options.
 * @returns `true` when the response may be stored.
 *
 * @example
 * ```ts
 * import { isStorable } from "./storability.ts";
 *
 * const request = new Request("https://a.example/");
 * console.log(isStorable(request, new Response("", { headers: { "cache-control": "max-age=60" } }), {})); // true
 * console.log(isStorable(request, new Response("", { headers: { "cache-control": "no-store" } }), {})); // false
 * ```
 */
export function isStorable(
  request: CacheRequestInfo,
  response: CacheResponseInfo,
  options: CachePolicyOptions,
): boolean {
  return notStorableReason(request, response, options) === undefined;
}

/**
 * Tells why a response may not be stored, for events and debugging.
 *
 * @param request The request (method and fields).
 * @param response The response (status and fields).
 * @param options The cache policy options.
 * @returns The reason, or `undefined` when the response may be stored.
 *
 * @example
 * ```ts
 * import { notStorableReason } from "./storability.ts";
 *
 * const reason = notStorableReason(
 *   new Request("https://a.example/", { method: "POST" }),
 *   new Response(""),
 *   {},
 * );
 * console.log(reason); // "method"
 * ```
 */
export function notStorableReason(
  request: CacheRequestInfo,
  response: CacheResponseInfo,
  options: CachePolicyOptions,
): NotStorableReason | undefined {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return "method";
  if (requestCacheControl(request.headers).noStore) return "request-no-store";
  const status = response.status;
  if (
    !Number.isInteger(status) || status < 200 || status > 599 ||
    status === 206 || status === 304
  ) {
    return "status";
  }
  const cc = parseCacheControl(response.headers.get("cache-control"));
  if (cc.mustUnderstand) {
    // RFC 9111 §5.2.2.3: a cache that understands the status ignores the
    // no-store that accompanies must-understand for older caches.
    if (!UNDERSTOOD_STATUSES.has(status)) return "must-understand";
  } else if (cc.noStore && options.overrides?.ignoreNoStore !== true) {
    return "no-store";
  }
  const shared = options.shared === true;
  if (shared) {
    if (cc.private && cc.privateFields.length === 0) return "private";
    if (
      request.headers.has("authorization") && !cc.public &&
      cc.sMaxAge === undefined && !cc.mustRevalidate
    ) {
      return "authorization";
    }
  }
  const vary = response.headers.get("vary");
  if (vary !== null && varyNames(vary)[0] === "*") return "vary-star";
  const reusable = cc.maxAge !== undefined ||
    response.headers.has("expires") ||
    (shared && cc.sMaxAge !== undefined) ||
    cc.public || (!shared && cc.private) || isHeuristicallyCacheable(status);
  return reusable ? undefined : "no-freshness";
}

/**
 * Validation (RFC 9111 §4.3): conditional requests for stale entries, and
 * refreshing an entry from a 304 (Not Modified).
 *
 * @module
 */

import { parseCacheControl } from "./cache_control.ts";
import {
  _storableFields,
  connectionFields,
  fieldValue,
  HOP_BY_HOP,
} from "./_fields.ts";
import {
  type CachedResponse,
  etagOf,
  lastModifiedOf,
  withPolicy,
} from "./entry.ts";
import { parseHttpDate } from "./http_date.ts";
import type { CachePolicyOptions } from "./options.ts";

/**
 * Fields a 304 never overwrites in a stored response (RFC 9111 §3.2): the
 * stored body was received and decoded under the stored framing and coding.
 */
const NOT_UPDATED: ReadonlySet<string> = new Set([
  "content-length",
  "content-encoding",
  "content-range",
  "content-type",
]);

/**
 * Builds the validators for a conditional request: `If-None-Match` from the
 * stored `ETag`, `If-Modified-Since` from the stored `Last-Modified` (only
 * when it is a valid HTTP-date). Both are sent when both exist; the origin
 * gives `If-None-Match` precedence.
 *
 * @param entry The stored response.
 * @returns The fields to add to the request; empty when the entry has no
 * validator (the request is then sent unconditionally).
 *
 * @example
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { conditionalHeaders } from "./validation.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK", headers: new Headers({ etag: '"v1"' }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * console.log(conditionalHeaders(entry)); // [["if-none-match", "\"v1\""]]
 * ```
 */
export function conditionalHeaders(
  entry: CachedResponse,
): [string, string][] {
  const out: [string, string][] = [];
  const etag = etagOf(entry);
  const lastModified = lastModifiedOf(entry);
  if (etag !== "") out.push(["if-none-match", etag]);
  if (lastModified !== "" && parseHttpDate(lastModified) !== undefined) {
    out.push(["if-modified-since", lastModified]);
  }
  return out;
}

/**
 * Tells whether a 304 refers to the stored response (RFC 9111 §4.3.4). When
 * it does not (it names another `ETag` or `Last-Modified`), the stored
 * response must not be refreshed; send the request again unconditionally.
 *
 * @param entry The stored response whose validators were sent.
 * @param notModifiedHeaders The fields of the 304.
 * @returns `true` when the 304 may refresh `entry`.
 *
 * @example
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { notModifiedMatches } from "./validation.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK", headers: new Headers({ etag: '"v1"' }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * console.log(notModifiedMatches(entry, new Headers({ etag: 'W/"v1"' }))); // true
 * console.log(notModifiedMatches(entry, new Headers({ etag: '"v2"' }))); // false
 * ```
 */
export function notModifiedMatches(
  entry: CachedResponse,
  notModifiedHeaders: Headers,
): boolean {
  const etag = notModifiedHeaders.get("etag");
  if (etag !== null) {
    const stored = etagOf(entry);
    return stored !== "" && weakTag(etag) === weakTag(stored);
  }
  const lastModified = notModifiedHeaders.get("last-modified");
  const stored = lastModifiedOf(entry);
  if (lastModified !== null && stored !== "") {
    const a = parseHttpDate(lastModified);
    return a !== undefined && a === parseHttpDate(stored);
  }
  return true;
}

/**
 * Refreshes a stored response from a 304 (RFC 9111 §3.2, §4.3.4): each
 * field of the 304 replaces the stored field of that name, except
 * hop-by-hop fields and the fields describing the stored body
 * (`Content-Length`, `Content-Encoding`, `Content-Range`, `Content-Type`).
 * The stored body and `Vary` selection are kept; freshness and age are
 * recomputed from the merged fields and the new times.
 *
 * @param entry The stored response.
 * @param notModifiedHeaders The fields of the 304.
 * @param requestTime When the conditional request was sent.
 * @param responseTime When the 304 was received.
 * @param options The cache policy options (the same used to create `entry`).
 * @returns A new entry; `entry` is not modified.
 *
 * @example
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { mergeNotModified } from "./validation.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK",
 *   headers: new Headers({ etag: '"v1"', "cache-control": "max-age=0" }),
 *   body: new TextEncoder().encode("kept"), requestTime: 0, responseTime: 0,
 * }, {});
 * const refreshed = mergeNotModified(entry, new Headers({ "cache-control": "max-age=60" }), 5_000, 5_100, {});
 * console.log(refreshed.policy.freshnessLifetimeMs); // 60000
 * ```
 */
export function mergeNotModified(
  entry: CachedResponse,
  notModifiedHeaders: Headers,
  requestTime: number,
  responseTime: number,
  options: CachePolicyOptions,
): CachedResponse {
  const connection = connectionFields(notModifiedHeaders.get("connection"));
  const replaced = new Set<string>();
  const incoming: [string, string][] = [];
  for (const [name, value] of notModifiedHeaders) {
    if (
      HOP_BY_HOP.has(name) || connection.includes(name) ||
      NOT_UPDATED.has(name)
    ) {
      continue;
    }
    replaced.add(name);
    incoming.push([name, value]);
  }
  const merged: [string, string][] = entry.headers.filter(([name]) =>
    !replaced.has(name)
  );
  for (const pair of incoming) merged.push(pair);
  const cc = parseCacheControl(fieldValue(merged, "cache-control"));
  const headers = _storableFields(merged, cc, options);
  return withPolicy(
    {
      url: entry.url,
      method: entry.method,
      status: entry.status,
      statusText: entry.statusText,
      headers,
      body: entry.body,
      requestTime,
      responseTime,
      varyHeaders: entry.varyHeaders,
    },
    cc,
    options,
  );
}

// Weak comparison (RFC 9110 §8.8.3.2): opaque tags equal, W/ ignored.
/**
 * An entity tag without its weakness marker, for weak comparison (RFC 9110
 * §8.8.3.2): `W/"v1"` and `"v1"` compare equal.
 */
export function weakTag(tag: string): string {
  const t = tag.trim();
  return t.startsWith("W/") || t.startsWith("w/") ? t.slice(2) : t;
}

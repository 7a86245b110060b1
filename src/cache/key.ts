/**
 * Normalising request URLs for cache keys.
 *
 * @module
 */

/**
 * Normalises a request URL for use in a cache key. The WHATWG URL parser
 * already lower-cases the scheme and host, drops the default port, resolves
 * dot segments and percent-encodes what must be encoded; on top of that the
 * fragment is dropped (it never reaches the origin).
 *
 * Kept as is, because an origin may tell them apart: the order of query
 * parameters, an empty query (`/?` differs from `/`), the case of the path,
 * and percent-encoding beyond what the parser applies.
 *
 * @param url The request URL.
 * @returns The normalised URL string.
 *
 * @example
 * ```ts
 * import { normaliseUrl } from "./key.ts";
 *
 * console.log(normaliseUrl(new URL("HTTPS://API.Example.com:443/a/../b?y=1&x=2#top")));
 * // "https://api.example.com/b?y=1&x=2"
 * ```
 */
export function normaliseUrl(url: URL | string): string {
  const href = typeof url === "string" ? new URL(url).href : url.href;
  const hash = href.indexOf("#");
  return hash === -1 ? href : href.slice(0, hash);
}

/**
 * Invalidation by unsafe methods (RFC 9111 §4.4).
 *
 * @module
 */

import { normaliseUrl } from "./key.ts";

const SAFE_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
]);

/**
 * Lists the URLs whose stored responses must be invalidated after a
 * response to an unsafe request (any method but GET, HEAD, OPTIONS and
 * TRACE) with a 2xx or 3xx status: the target URI, plus the URLs in
 * `Location` and `Content-Location` when they are on the same origin
 * (relative values are resolved against the request URL). Other origins are
 * never invalidated, so one origin cannot evict another's entries.
 *
 * @param method The request method.
 * @param requestUrl The request URL.
 * @param status The response status.
 * @param responseHeaders The response fields.
 * @returns Normalised URLs ({@linkcode normaliseUrl}), without duplicates;
 * empty when nothing is invalidated.
 *
 * @example
 * ```ts
 * import { invalidationTargets } from "./invalidation.ts";
 *
 * const urls = invalidationTargets(
 *   "POST",
 *   "https://api.example.com/users",
 *   201,
 *   new Headers({ location: "/users/42" }),
 * );
 * console.log(urls); // ["https://api.example.com/users", "https://api.example.com/users/42"]
 * ```
 */
export function invalidationTargets(
  method: string,
  requestUrl: URL | string,
  status: number,
  responseHeaders: Headers,
): string[] {
  if (SAFE_METHODS.has(method.toUpperCase())) return [];
  if (!(status >= 200 && status < 400)) return [];
  let target: URL;
  try {
    target = typeof requestUrl === "string" ? new URL(requestUrl) : requestUrl;
  } catch {
    return [];
  }
  const out = [normaliseUrl(target)];
  for (const name of ["location", "content-location"]) {
    const value = responseHeaders.get(name);
    if (value === null || value.trim() === "") continue;
    let resolved: URL;
    try {
      resolved = new URL(value.trim(), target);
    } catch {
      continue;
    }
    if (resolved.origin !== target.origin || resolved.origin === "null") {
      continue;
    }
    const normalised = normaliseUrl(resolved);
    if (!out.includes(normalised)) out.push(normalised);
  }
  return out;
}

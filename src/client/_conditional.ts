// A caller's own cache validators (`If-None-Match`, `If-Modified-Since`) on
// a GET or HEAD, answered from a fresh stored response (RFC 9111 §4.3.2):
// a 304 when the stored response matches them, the stored response itself
// when it does not. What cannot be evaluated here goes to the origin.

import { type CachedResponse, etagOf, lastModifiedOf } from "../cache/entry.ts";
import { parseHttpDate } from "../cache/http_date.ts";
import { weakTag } from "../cache/validation.ts";
import type { Outcome } from "./_call.ts";
import { headerOf } from "./_data.ts";

/** The validators of a request that a cache may evaluate itself. */
export interface CacheConditions {
  /** The `If-None-Match` field, or `null`. */
  readonly ifNoneMatch: string | null;
  /** The `If-Modified-Since` field, or `null`. */
  readonly ifModifiedSince: string | null;
}

/**
 * The fields a 304 carries from the stored response (RFC 9110 §15.4.5):
 * those a 200 would have sent that guide caches, and `Last-Modified` for a
 * response validated by date.
 */
const KEPT_BY_304: ReadonlySet<string> = new Set([
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "last-modified",
  "vary",
]);

// One entity tag of a list, and the separator after it.
const ENTITY_TAG = /\s*((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;

/**
 * The request's cache validators, when they are all that makes it
 * conditional: a request that also carries `If-Match`,
 * `If-Unmodified-Since`, `If-Range` or `Range` is the origin's to evaluate.
 *
 * @returns The validators; `undefined` when there are none, or others too.
 */
export function cacheConditions(
  headers: Headers,
): CacheConditions | undefined {
  const ifNoneMatch = headers.get("if-none-match");
  const ifModifiedSince = headers.get("if-modified-since");
  if (ifNoneMatch === null && ifModifiedSince === null) return undefined;
  if (
    headers.has("if-match") || headers.has("if-unmodified-since") ||
    headers.has("if-range") || headers.has("range")
  ) {
    return undefined;
  }
  return { ifNoneMatch, ifModifiedSince };
}

/**
 * Whether a stored response is "not modified" for a request's validators
 * (RFC 9110 §13.2.2): `If-None-Match` by weak comparison with its `ETag`
 * (`*` matches any); without it, `If-Modified-Since` against its
 * `Last-Modified`, or its `Date` when it has none. A date that does not
 * parse is ignored, as the field would be.
 *
 * @returns `true` for a 304, `false` for the stored response, `undefined`
 * when the validators cannot be evaluated (a malformed `If-None-Match`, or
 * no date to compare with).
 */
export function notModified(
  entry: CachedResponse,
  conditions: CacheConditions,
): boolean | undefined {
  const { ifNoneMatch, ifModifiedSince } = conditions;
  if (ifNoneMatch !== null) {
    if (ifNoneMatch.trim() === "*") return true;
    const tags = _entityTags(ifNoneMatch);
    if (tags === undefined) return undefined;
    const etag = etagOf(entry);
    if (etag === "") return false;
    const stored = weakTag(etag);
    return tags.some((tag) => weakTag(tag) === stored);
  }
  const since = parseHttpDate(ifModifiedSince!);
  if (since === undefined) return false;
  const modified = parseHttpDate(
    lastModifiedOf(entry) || headerOf(entry.headers, "date"),
  );
  if (modified === undefined) return undefined;
  return modified <= since;
}

/**
 * The answer to a conditional request from a fresh stored outcome: a 304
 * with the fields of {@linkcode KEPT_BY_304} and the outcome's `Age` when
 * it is not modified, the outcome itself when it is.
 *
 * @returns The answer; `undefined` when it cannot be told here (the
 * request goes to the origin).
 */
export function conditionalOutcome(
  outcome: Outcome,
  conditions: CacheConditions,
): Outcome | undefined {
  if (outcome.kind !== "entry" || outcome.entry.status !== 200) {
    return undefined;
  }
  const { entry } = outcome;
  const answer = notModified(entry, conditions);
  if (answer !== true) return answer === false ? outcome : undefined;
  const headers = entry.headers.filter(([name]) => KEPT_BY_304.has(name));
  headers.push(["age", String(outcome.ageSeconds)]);
  return {
    kind: "raw",
    raw: {
      url: entry.url,
      status: 304,
      statusText: "Not Modified",
      headers,
      body: new Uint8Array(0),
    },
    source: outcome.source,
    attempts: outcome.attempts,
  };
}

// The entity tags of a list; `undefined` when malformed.
function _entityTags(list: string): string[] | undefined {
  const tags: string[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < list.length) {
    const match = ENTITY_TAG.exec(list);
    if (match === null) return undefined;
    tags.push(match[1]!);
  }
  return tags.length === 0 ? undefined : tags;
}

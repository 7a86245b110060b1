/**
 * Secondary keys (RFC 9111 §4.1): a response with `Vary` may only answer a
 * request whose named fields match those of the request that fetched it.
 *
 * Field names are case-insensitive. Values are normalised before comparison
 * so that trivially different spellings match:
 *
 * - every value: leading and trailing whitespace trimmed, inner runs of
 *   spaces and tabs collapsed to one space, several field lines joined by
 *   `", "` (as `Headers.get` does);
 * - `Accept`, `Accept-Charset`, `Accept-Encoding`, `Accept-Language`: also
 *   lower-cased, with whitespace around `,`, `;` and `=` removed (these are
 *   case-insensitive token lists). The order of members is kept, as it may
 *   carry preference.
 *
 * Other fields keep their case, as their values may be case-sensitive.
 * Credentials (`Authorization`, `Proxy-Authorization`, `Cookie`) are never
 * kept in clear: their normalised value is replaced by a 64-bit digest, so a
 * stored entry does not carry a user's token into a shared store.
 * `Vary: *` never matches anything, and neither does a `Vary` naming
 * something that is not a field name (`Vary: foo bar`, `Vary: a=b`): no
 * request field can be compared against it, so it counts as `*`.
 *
 * A client that stores several variants of one URL keeps a small index entry
 * per URL with the `Vary` names ({@linkcode varyNames}), and one entry per
 * variant under a key derived from {@linkcode variantKey}.
 *
 * @module
 */

import { isFieldName } from "./_fields.ts";
import type { CachedResponse } from "./entry.ts";

const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
]);

const TOKEN_LIST_FIELDS: ReadonlySet<string> = new Set([
  "accept",
  "accept-charset",
  "accept-encoding",
  "accept-language",
]);

/**
 * Lists the field names of a `Vary` value: lower-cased, de-duplicated and
 * sorted.
 *
 * @param vary The `Vary` field value, or `null` when absent.
 * @returns The names; `["*"]` when the value contains `*` or anything that
 * is not a field name; `[]` when absent or empty.
 *
 * @example
 * ```ts
 * import { varyNames } from "./vary.ts";
 *
 * console.log(varyNames("Accept-Encoding, accept")); // ["accept", "accept-encoding"]
 * ```
 */
export function varyNames(vary: string | null): string[] {
  if (vary === null || vary === "") return [];
  const names: string[] = [];
  for (const part of vary.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "") continue;
    if (name === "*" || !isFieldName(name)) return ["*"];
    if (!names.includes(name)) names.push(name);
  }
  return names.sort();
}

const NO_SELECTION: Record<string, string | null> = Object.freeze({});

/**
 * Captures the normalised values of the request fields a response varies on.
 *
 * @param vary The response's `Vary` value, or names from
 * {@linkcode varyNames}.
 * @param requestHeaders The request fields.
 * @returns The selection, keyed by lower-case name (sorted); `null` for a
 * field the request did not carry; `{ "*": null }` for `Vary: *` and for
 * names that are not field names.
 *
 * @example
 * ```ts
 * import { varySelection } from "./vary.ts";
 *
 * const selection = varySelection("Accept-Encoding", new Headers({ "accept-encoding": "GZIP,  br" }));
 * console.log(selection); // { "accept-encoding": "gzip,br" }
 * ```
 */
export function varySelection(
  vary: string | readonly string[] | null,
  requestHeaders: Headers,
): Record<string, string | null> {
  const names = typeof vary === "string" || vary === null
    ? varyNames(vary)
    : vary;
  // Most responses vary on nothing: they share one frozen selection, which
  // a cache holding many of them keeps once.
  if (names.length === 0) return NO_SELECTION;
  const out: Record<string, string | null> = {};
  for (const name of names) {
    if (name === "*" || !isFieldName(name)) return { "*": null };
    out[name] = normaliseFieldValue(name, requestHeaders.get(name));
  }
  return out;
}

/**
 * Tells whether a stored response may answer a request as far as `Vary` is
 * concerned.
 *
 * @param entry The stored response (only `varyHeaders` is read).
 * @param requestHeaders The new request's fields.
 * @returns `true` when every varied field matches; always `false` for
 * `Vary: *` and for a stored name that is not a field name.
 *
 * @example
 * ```ts
 * import { varyMatches } from "./vary.ts";
 *
 * const entry = { varyHeaders: { "accept-language": "en" } };
 * console.log(varyMatches(entry, new Headers({ "accept-language": "EN" }))); // true
 * console.log(varyMatches(entry, new Headers({ "accept-language": "de" }))); // false
 * ```
 */
export function varyMatches(
  entry: Pick<CachedResponse, "varyHeaders">,
  requestHeaders: Headers,
): boolean {
  for (const name in entry.varyHeaders) {
    if (name === "*" || !isFieldName(name)) return false;
    const stored = entry.varyHeaders[name];
    if (normaliseFieldValue(name, requestHeaders.get(name)) !== stored) {
      return false;
    }
  }
  return true;
}

/**
 * Builds a deterministic string naming one variant, for use in a store key
 * (hash it with the URL). Field order in `selection` does not matter.
 *
 * @param selection A selection from {@linkcode varySelection}.
 * @returns `""` when nothing varies; otherwise a string that differs for
 * every different selection (a missing field differs from an empty one).
 *
 * @example
 * ```ts
 * import { variantKey } from "./vary.ts";
 *
 * console.log(variantKey({}));  // ""
 * console.log(variantKey({ b: "2", a: null }) === variantKey({ a: null, b: "2" })); // true
 * ```
 */
export function variantKey(selection: Record<string, string | null>): string {
  const names = Object.keys(selection);
  if (names.length === 0) return "";
  names.sort();
  return JSON.stringify(names.map((name) => [name, selection[name] ?? null]));
}

/**
 * Normalises a request field value for `Vary` comparison.
 *
 * @param name The lower-case field name.
 * @param value The field value, or `null` when absent.
 * @returns The normalised value, or `null` when absent.
 *
 * @example
 * ```ts
 * import { normaliseFieldValue } from "./vary.ts";
 *
 * console.log(normaliseFieldValue("accept", " Text/HTML ; q=0.9 , Application/JSON")); // "text/html;q=0.9,application/json"
 * ```
 */
export function normaliseFieldValue(
  name: string,
  value: string | null,
): string | null {
  if (value === null) return null;
  let out = value.trim().replace(/[ \t]+/g, " ");
  if (TOKEN_LIST_FIELDS.has(name)) {
    out = out.toLowerCase().replace(/ ?([,;=]) ?/g, "$1");
  } else if (CREDENTIAL_FIELDS.has(name)) {
    out = `#${_digest(out)}`;
  }
  return out;
}

// Two independent 32-bit FNV-1a passes over the UTF-16 code units: a 64-bit
// digest. Not a security boundary (the client's key already carries a
// cryptographic credential fingerprint); it only keeps the value out of the
// store.
function _digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") +
    (b >>> 0).toString(16).padStart(8, "0");
}

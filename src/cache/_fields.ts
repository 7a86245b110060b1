import type { CacheControl } from "./cache_control.ts";
import type { CachePolicyOptions } from "./options.ts";

// Header helpers shared by the cache policy modules. Stored header lists are
// `[name, value]` pairs with lower-case names, as `Headers` iterates them.

/** A stored header list. */
export type HeaderList = readonly (readonly [string, string])[];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What `Headers` refuses in a value: NUL, CR, LF, and anything past Latin-1.
const NOT_FIELD_VALUE = /[\0\r\n\u0100-\uffff]/;
// What `Response` accepts as a status text (RFC 9112 reason-phrase).
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Whether `name` is a field name `Headers` accepts (an RFC 9110 token). */
export function isFieldName(name: unknown): boolean {
  return typeof name === "string" && TOKEN.test(name);
}

/** Whether `value` is a field value `Headers` accepts. */
export function isFieldValue(value: unknown): boolean {
  return typeof value === "string" && !NOT_FIELD_VALUE.test(value);
}

/** Whether `text` is a status text `Response` accepts. */
export function isReasonPhrase(text: unknown): boolean {
  return typeof text === "string" && REASON_PHRASE.test(text);
}

/**
 * Whether `value` is a header list that `new Headers(value)` takes without
 * throwing: `[name, value]` pairs of valid names and values.
 */
export function isHeaderList(value: unknown): value is HeaderList {
  if (!Array.isArray(value)) return false;
  for (const pair of value as unknown[]) {
    if (
      !Array.isArray(pair) || pair.length !== 2 || !isFieldName(pair[0]) ||
      !isFieldValue(pair[1])
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Whether `value` is a Vary selection whose names `Headers.get` takes:
 * field names (or `*`) mapped to a string or `null`.
 */
export function isVarySelection(
  value: unknown,
): value is Record<string, string | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return false;
  }
  for (const [name, selected] of Object.entries(value)) {
    if (name !== "*" && !isFieldName(name)) return false;
    if (selected !== null && typeof selected !== "string") return false;
  }
  return true;
}

/**
 * Reads a field from a stored header list: every line of `name` (matched
 * case-insensitively) joined by `", "`, or `null` when absent.
 */
export function fieldValue(headers: HeaderList, name: string): string | null {
  let out: string | null = null;
  for (const [key, value] of headers) {
    if (key === name || key.toLowerCase() === name) {
      out = out === null ? value : `${out}, ${value}`;
    }
  }
  return out;
}

/** Hop-by-hop fields, never stored nor taken from a 304 (RFC 9111 §3.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "trailer",
  "upgrade",
  "proxy-authenticate",
  "proxy-authentication-info",
  "proxy-authorization",
]);

/** The field names listed in a `Connection` field, lower-cased. */
export function connectionFields(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((s) => s.trim().toLowerCase()).filter((s) =>
    s !== ""
  );
}

/**
 * Filters response fields down to those a cache may store.
 *
 * @param source The received fields.
 * @param cc The parsed `Cache-Control` of the response.
 * @param options The cache policy options.
 * @returns The stored `[name, value]` pairs.
 */
export function _storableFields(
  source: Headers | HeaderList,
  cc: CacheControl,
  options: CachePolicyOptions,
): [string, string][] {
  const shared = options.shared === true;
  const connection = connectionFields(
    source instanceof Headers
      ? source.get("connection")
      : fieldValue(source, "connection"),
  );
  const out: [string, string][] = [];
  for (const [rawName, value] of source) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name) || connection.includes(name)) continue;
    if (cc.noCacheFields.includes(name)) continue;
    if (shared && (name === "set-cookie" || cc.privateFields.includes(name))) {
      continue;
    }
    out.push([name, value]);
  }
  return out;
}

import type { CacheControl } from "./cache_control.ts";
import type { CachePolicyOptions } from "./options.ts";

// Header helpers shared by the cache policy modules. Stored header lists are
// `[name, value]` pairs with lower-case names, as `Headers` iterates them.

/** A stored header list. */
export type HeaderList = readonly (readonly [string, string])[];

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

/**
 * A tolerant parser for the `Cache-Control` field (RFC 9111 §5.2), used for
 * both request and response directives.
 *
 * Rules, chosen so that a malformed field can only make sluice cache less:
 *
 * - Directive names are case-insensitive; unknown directives are ignored.
 * - Values may be tokens or quoted strings (`no-cache="set-cookie"`,
 *   `max-age="60"`); backslash escapes in quoted strings are honoured.
 * - No whitespace may stand around `=` (RFC 9111 §5.2 has none): the value
 *   of `max-age =60` or `max-age= 60` is malformed, as if empty. A numeric
 *   directive then counts as invalid (below), and a qualified `no-cache` or
 *   `private` as unqualified.
 * - Delta-seconds are non-negative decimal integers. Values above 2^31 clamp
 *   to 2^31. An invalid `max-age` or `s-maxage` (`-1`, `1.5`, `abc`, empty)
 *   counts as `0`: the response is stale at once. Other invalid numeric
 *   values (`max-stale`, `min-fresh`, `stale-while-revalidate`,
 *   `stale-if-error`) are ignored as if absent.
 * - Duplicates: `max-age` and `s-maxage` keep the smallest value (the most
 *   restrictive, which also covers RFC 9111 §4.2.1's "treat as stale" for a
 *   conflicting `max-age=0`); every other numeric directive keeps its first
 *   occurrence; the field lists of qualified `no-cache` and `private` are
 *   merged.
 * - `max-stale` without a value means "any staleness" and is reported as
 *   `Number.MAX_SAFE_INTEGER` seconds (a finite number, so parsed values stay
 *   JSON-safe).
 * - Nothing here throws, whatever the input.
 *
 * @module
 */

/** The largest delta-seconds value kept; larger values clamp to it (RFC 9111 §1.2.2). */
export const MAX_DELTA_SECONDS = 2_147_483_648;

/** The value of `max-stale` given without a number: any staleness is accepted. */
export const ANY_STALENESS: number = Number.MAX_SAFE_INTEGER;

// What a malformed value reads as: an empty one, which is no delta-seconds
// and no field list, so each directive treats it as it treats any invalid
// value.
const MALFORMED = "";

/**
 * The directives of one `Cache-Control` field. Numeric directives are in
 * seconds and absent when the field does not carry them.
 */
export interface CacheControl {
  /** `max-age`: in a response, the freshness lifetime; in a request, the oldest acceptable age. */
  maxAge?: number;
  /** `s-maxage`: the freshness lifetime for shared caches (response). */
  sMaxAge?: number;
  /** `max-stale`: how stale a response the client accepts (request); {@linkcode ANY_STALENESS} when given without a value. */
  maxStale?: number;
  /** `min-fresh`: how much freshness must remain (request). */
  minFresh?: number;
  /** `stale-while-revalidate` (RFC 5861). */
  staleWhileRevalidate?: number;
  /** `stale-if-error` (RFC 5861); valid in requests and responses. */
  staleIfError?: number;
  /** `no-cache`, qualified or not. */
  noCache: boolean;
  /**
   * The field names of a qualified `no-cache="a, b"`, lower-cased. Empty when
   * the unqualified form (which wins over any qualified one) is present.
   */
  noCacheFields: string[];
  /** `no-store`. */
  noStore: boolean;
  /** `private`, qualified or not. */
  private: boolean;
  /**
   * The field names of a qualified `private="a, b"`, lower-cased. Empty when
   * the unqualified form (which wins over any qualified one) is present.
   */
  privateFields: string[];
  /** `public`. */
  public: boolean;
  /** `must-revalidate`. */
  mustRevalidate: boolean;
  /** `proxy-revalidate` (applies to shared caches only). */
  proxyRevalidate: boolean;
  /** `must-understand`. */
  mustUnderstand: boolean;
  /** `no-transform`. */
  noTransform: boolean;
  /** `immutable` (RFC 8246). */
  immutable: boolean;
  /** `only-if-cached` (request). */
  onlyIfCached: boolean;
}

/**
 * Parses a `Cache-Control` field value. Never throws.
 *
 * @param value The field value (several field lines joined by `, `, as
 * `Headers.get` returns them), or `null` when absent.
 * @returns The directives; all flags `false` and no numbers when `value` is
 * `null`, empty or garbage.
 *
 * @example Parsing a response's directives
 * ```ts
 * import { parseCacheControl } from "./cache_control.ts";
 *
 * const cc = parseCacheControl('max-age=60, no-cache="Set-Cookie"');
 * console.log(cc.maxAge, cc.noCache, cc.noCacheFields); // 60 true ["set-cookie"]
 * ```
 */
export function parseCacheControl(value: string | null): CacheControl {
  const cc = emptyCacheControl();
  if (value === null || value === "") return cc;
  const length = value.length;
  let i = 0;
  while (i < length) {
    // Skip separators and whitespace before a directive name.
    let c = value.charCodeAt(i);
    while (c === 44 || c === 32 || c === 9) {
      i++;
      if (i >= length) return cc;
      c = value.charCodeAt(i);
    }
    const nameStart = i;
    while (i < length) {
      c = value.charCodeAt(i);
      if (c === 61 || c === 44) break; // "=" or ","
      i++;
    }
    const name = value.slice(nameStart, i).trim().toLowerCase();
    let argument: string | undefined;
    if (i < length && value.charCodeAt(i) === 61) {
      const spaced = (i > nameStart && _isSpace(value.charCodeAt(i - 1))) ||
        (i + 1 < length && _isSpace(value.charCodeAt(i + 1)));
      i++;
      while (i < length && _isSpace(value.charCodeAt(i))) i++;
      if (i < length && value.charCodeAt(i) === 34) {
        // Quoted string: read to the closing quote, honouring escapes.
        i++;
        let text = "";
        while (i < length) {
          c = value.charCodeAt(i);
          if (c === 34) {
            i++;
            break;
          }
          if (c === 92 && i + 1 < length) i++;
          text += value[i];
          i++;
        }
        argument = text;
        // Discard anything between the closing quote and the next comma.
        while (i < length && value.charCodeAt(i) !== 44) i++;
      } else {
        const start = i;
        while (i < length && value.charCodeAt(i) !== 44) i++;
        argument = value.slice(start, i).trim();
      }
      if (spaced) argument = MALFORMED;
    }
    _apply(cc, name, argument);
  }
  return cc;
}

/**
 * Parses delta-seconds strictly: a non-empty run of ASCII digits, clamped to
 * {@linkcode MAX_DELTA_SECONDS}.
 *
 * @param value The text to parse.
 * @returns The number of seconds, or `undefined` when `value` is not
 * delta-seconds.
 *
 * @example Clamping and rejecting
 * ```ts
 * import { parseDeltaSeconds } from "./cache_control.ts";
 *
 * console.log(parseDeltaSeconds("60")); // 60
 * console.log(parseDeltaSeconds("99999999999")); // 2147483648
 * console.log(parseDeltaSeconds("-1")); // undefined
 * ```
 */
export function parseDeltaSeconds(value: string): number | undefined {
  const length = value.length;
  if (length === 0) return undefined;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  // More than ten digits is always above the clamp.
  if (length > 10) return MAX_DELTA_SECONDS;
  const n = Number(value);
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

function emptyCacheControl(): CacheControl {
  return {
    noCache: false,
    noCacheFields: [],
    noStore: false,
    private: false,
    privateFields: [],
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    mustUnderstand: false,
    noTransform: false,
    immutable: false,
    onlyIfCached: false,
  };
}

function _isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function _fieldList(argument: string | undefined): string[] {
  if (argument === undefined) return [];
  const out: string[] = [];
  for (const part of argument.split(",")) {
    const name = part.trim().toLowerCase();
    if (name !== "" && !out.includes(name)) out.push(name);
  }
  return out;
}

// The unqualified form is the stronger one: once seen (a flag set with no
// fields), the field list stays empty.
function _mergeFields(
  seen: boolean,
  fields: string[],
  argument: string | undefined,
): string[] {
  if (seen && fields.length === 0) return fields;
  const added = _fieldList(argument);
  if (added.length === 0) return [];
  for (const field of added) if (!fields.includes(field)) fields.push(field);
  return fields;
}

function _smallest(
  current: number | undefined,
  argument: string | undefined,
): number {
  const parsed = argument === undefined ? 0 : parseDeltaSeconds(argument) ?? 0;
  return current === undefined ? parsed : Math.min(current, parsed);
}

function _first(
  current: number | undefined,
  argument: string | undefined,
): number | undefined {
  if (current !== undefined) return current;
  return argument === undefined ? undefined : parseDeltaSeconds(argument);
}

function _apply(
  cc: CacheControl,
  name: string,
  argument: string | undefined,
): void {
  switch (name) {
    case "max-age":
      cc.maxAge = _smallest(cc.maxAge, argument);
      return;
    case "s-maxage":
      cc.sMaxAge = _smallest(cc.sMaxAge, argument);
      return;
    case "max-stale": {
      if (cc.maxStale !== undefined) return;
      if (argument === undefined) cc.maxStale = ANY_STALENESS;
      else {
        const seconds = parseDeltaSeconds(argument);
        if (seconds !== undefined) cc.maxStale = seconds;
      }
      return;
    }
    case "min-fresh": {
      const seconds = _first(cc.minFresh, argument);
      if (seconds !== undefined) cc.minFresh = seconds;
      return;
    }
    case "stale-while-revalidate": {
      const seconds = _first(cc.staleWhileRevalidate, argument);
      if (seconds !== undefined) cc.staleWhileRevalidate = seconds;
      return;
    }
    case "stale-if-error": {
      const seconds = _first(cc.staleIfError, argument);
      if (seconds !== undefined) cc.staleIfError = seconds;
      return;
    }
    case "no-cache":
      cc.noCacheFields = _mergeFields(cc.noCache, cc.noCacheFields, argument);
      cc.noCache = true;
      return;
    case "private":
      cc.privateFields = _mergeFields(cc.private, cc.privateFields, argument);
      cc.private = true;
      return;
    case "no-store":
      cc.noStore = true;
      return;
    case "public":
      cc.public = true;
      return;
    case "must-revalidate":
      cc.mustRevalidate = true;
      return;
    case "proxy-revalidate":
      cc.proxyRevalidate = true;
      return;
    case "must-understand":
      cc.mustUnderstand = true;
      return;
    case "no-transform":
      cc.noTransform = true;
      return;
    case "immutable":
      cc.immutable = true;
      return;
    case "only-if-cached":
      cc.onlyIfCached = true;
      return;
  }
}

/**
 * The stored form of a cached response, and the conversions between it and
 * a `Response`.
 *
 * A {@linkcode CachedResponse} is plain JSON data plus one `Uint8Array`, so
 * every store backend can hold it (see `src/stores/codec.ts`). It carries a
 * precomputed {@linkcode CachedResponse.policy}, so deciding whether a
 * stored response can be served ({@linkcode evaluate}) parses no header.
 * An entry kept in process memory may hold a small text body as a string
 * instead ({@linkcode inMemoryEntry}).
 *
 * What is stored (RFC 9111 §3.1):
 *
 * - Hop-by-hop fields (`Connection` and the fields it names, `Keep-Alive`,
 *   `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`, `Proxy-*`) are dropped.
 * - The fields named by a qualified `no-cache="…"` are dropped, so the rest
 *   of the response can be reused without revalidation.
 * - In a shared cache, the fields named by a qualified `private="…"` and
 *   every `Set-Cookie` are dropped, so one user's cookie never reaches
 *   another.
 * - Every other field, framing fields included, is kept as received, so a
 *   cache hit carries the same headers as the response that filled it.
 *
 * @module
 */

import { parseCacheControl } from "./cache_control.ts";
import type { CacheControl } from "./cache_control.ts";
import {
  _storableFields,
  fieldValue,
  type HeaderList,
  isHeaderList,
  isReasonPhrase,
  isVarySelection,
} from "./_fields.ts";
import { initialAgeMs, lifetimeFrom } from "./freshness.ts";
import type { CachePolicyOptions } from "./options.ts";
import { varySelection } from "./vary.ts";

/**
 * Facts about a stored response, computed once when it is stored (or
 * refreshed by a 304) so that serving it parses no header. Every field is a
 * finite number or a boolean: the object survives JSON. They follow from
 * the response's `Cache-Control` and the cache's options, and responses
 * with the same facts share one frozen object (see
 * {@linkcode computePolicy}); what differs from one response to the next
 * (its age, its validators) is the entry's own.
 */
export interface CachePolicyData {
  /** The freshness lifetime, in milliseconds, after the user's overrides. */
  readonly freshnessLifetimeMs: number;
  /** Whether the lifetime is heuristic (no explicit freshness, no user ttl). */
  readonly heuristic: boolean;
  /** Whether every reuse needs revalidation (response `no-cache`, unless overridden). */
  readonly requiresValidation: boolean;
  /**
   * Whether the response must never be served stale: `must-revalidate`, or
   * in a shared cache `proxy-revalidate` or `s-maxage`. This forbids
   * `max-stale`, `stale-while-revalidate` and `stale-if-error` alike.
   */
  readonly noStaleServing: boolean;
  /** The `stale-while-revalidate` window, in milliseconds; `0` when absent. */
  readonly staleWhileRevalidateMs: number;
  /** The `stale-if-error` window, in milliseconds; `0` when absent. */
  readonly staleIfErrorMs: number;
}

/** A stored response. Plain data plus the body. */
export interface CachedResponse {
  /** The normalised request URL (see {@linkcode normaliseUrl}). */
  url: string;
  /** The request method: `"GET"` or `"HEAD"`. A HEAD entry has an empty body. */
  method: string;
  /** The response status. */
  status: number;
  /** The response status text. */
  statusText: string;
  /** The stored response fields as `[name, value]` pairs with lower-case names. */
  headers: [string, string][];
  /**
   * The response body, already decoded by `fetch`: its bytes, or a string
   * whose UTF-8 encoding they are (see {@linkcode inMemoryEntry}). Read it
   * through {@linkcode bodyBytes} where bytes are needed.
   */
  body: Uint8Array | string;
  /** When the request was sent, in milliseconds since the epoch. */
  requestTime: number;
  /** When the response was received, in milliseconds since the epoch. */
  responseTime: number;
  /**
   * The normalised values of the request fields named by the response's
   * `Vary`, keyed by lower-case name; `null` for a field the request did not
   * carry. `{ "*": null }` for `Vary: *`, which never matches.
   */
  varyHeaders: Record<string, string | null>;
  /**
   * The age the response had on arrival (its corrected initial age), in
   * milliseconds, precomputed for serving.
   */
  initialAgeMs: number;
  /** Facts precomputed for serving, shared with entries that have the same. */
  policy: CachePolicyData;
}

/** The stored fields of an entry, from which the precomputed ones follow. */
export type CachedResponseParts = Omit<
  CachedResponse,
  "initialAgeMs" | "policy"
>;

/** What {@linkcode createCachedResponse} needs to build an entry. */
export interface CachedResponseInit {
  /** The normalised request URL. */
  url: string;
  /** The request method. */
  method: string;
  /** The request fields, for `Vary`. */
  requestHeaders: Headers;
  /** The response status. */
  status: number;
  /** The response status text. */
  statusText: string;
  /** The response fields. */
  headers: Headers;
  /** The response body; ignored (stored empty) for HEAD. */
  body: Uint8Array;
  /** When the request was sent, in milliseconds since the epoch. */
  requestTime: number;
  /** When the response was received, in milliseconds since the epoch. */
  responseTime: number;
}

/** Options for {@linkcode toResponse}. */
export interface ToResponseOptions {
  /**
   * The value of the `Age` field to set, in whole seconds (use
   * {@linkcode CacheEvaluation.ageSeconds}). When omitted, the stored fields
   * are returned unchanged.
   *
   * @default {undefined}
   */
  ageSeconds?: number;
  /**
   * Return no body, as the answer to a HEAD request.
   *
   * @default {false}
   */
  headOnly?: boolean;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
// Fatal, so that only a body that is valid UTF-8 becomes text; keeping a
// byte-order mark, so that the text encodes back to the same bytes.
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([
  101,
  103,
  204,
  205,
  304,
]);

/**
 * Builds the entry to store from a response's parts. It does not decide
 * whether the response may be stored: ask {@linkcode isStorable} first.
 *
 * @param init The request and response parts.
 * @param options The cache policy options (the same the client uses to
 * evaluate, so precomputed facts agree).
 * @returns A new entry.
 *
 * @example Storing a response
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://api.example.com/users",
 *   method: "GET",
 *   requestHeaders: new Headers(),
 *   status: 200,
 *   statusText: "OK",
 *   headers: new Headers({ "cache-control": "max-age=60" }),
 *   body: new TextEncoder().encode("[]"),
 *   requestTime: 0,
 *   responseTime: 10,
 * }, {});
 * console.log(entry.policy.freshnessLifetimeMs); // 60000
 * ```
 */
export function createCachedResponse(
  init: CachedResponseInit,
  options: CachePolicyOptions,
): CachedResponse {
  const cc = parseCacheControl(init.headers.get("cache-control"));
  const headers = _storableFields(init.headers, cc, options);
  const method = init.method.toUpperCase();
  return withPolicy(
    {
      url: init.url,
      method,
      status: init.status,
      statusText: init.statusText,
      headers,
      body: method === "HEAD" ? EMPTY : init.body,
      requestTime: init.requestTime,
      responseTime: init.responseTime,
      varyHeaders: varySelection(init.headers.get("vary"), init.requestHeaders),
    },
    cc,
    options,
  );
}

/**
 * Completes an entry with its {@linkcode CachePolicyData}.
 *
 * Every entry is built by the same object literal, so all of them share
 * one hidden class: copying the parts with a spread gives each entry a
 * shape of its own in V8, which costs more memory than the entry's fields.
 *
 * @param parts The entry's stored fields.
 * @param cc The parsed `Cache-Control` of the entry, when already at hand.
 * @param options The cache policy options.
 * @returns The entry.
 */
export function withPolicy(
  parts: CachedResponseParts,
  cc: CacheControl | undefined,
  options: CachePolicyOptions,
): CachedResponse {
  return _entry(
    parts,
    _sharedFields(parts.headers),
    _ownBuffer(parts.body),
    initialAgeMs(parts),
    computePolicy(parts, cc, options),
  );
}

// The one object literal that builds every entry (see `withPolicy`).
function _entry(
  parts: CachedResponseParts,
  headers: [string, string][],
  body: Uint8Array | string,
  initialAge: number,
  policy: CachePolicyData,
): CachedResponse {
  return {
    url: parts.url,
    method: parts.method,
    status: parts.status,
    statusText: parts.statusText,
    headers,
    body,
    requestTime: parts.requestTime,
    responseTime: parts.responseTime,
    varyHeaders: parts.varyHeaders,
    initialAgeMs: initialAge,
    policy,
  };
}

/**
 * The most distinct fields {@linkcode _sharedFields} remembers, shared or
 * seen once. When full, it starts over: what it remembers stays bounded
 * however many distinct values pass through, and the fields that keep
 * repeating are shared again at once.
 */
const SHARED_FIELDS_LIMIT = 4_096;
/** Values longer than this are not shared: they rarely repeat. */
const SHARED_VALUE_MAX_LENGTH = 256;
/** Fields whose value is nearly always unique to one response. */
const UNSHARED_FIELDS: ReadonlySet<string> = new Set([
  "age",
  "content-range",
  "date",
  "etag",
  "expires",
  "set-cookie",
]);
/** The values of one field name that {@linkcode _sharedFields} remembers. */
interface _SharedField {
  /** The name, one string for every entry that holds the field. */
  readonly name: string;
  /** By value: the shared pair, or `null` for a value seen once. */
  readonly values: Map<string, [string, string] | null>;
}
let sharedFields = new Map<string, _SharedField>();
let sharedFieldCount = 0;

/**
 * The header list of an entry, of its exact length, in which every field
 * that another entry also holds is the same frozen pair: a cache of many
 * responses keeps `content-type: application/json` once, not once per
 * entry. A shared pair cannot be changed, so no entry can alter another's.
 * A value is shared from the second time it is seen: one unique to its
 * response (a request id) stays in a pair of the entry's own, without the
 * cost of a frozen copy that no other entry would use, though under a name
 * shared with the other entries (a runtime may give each response's
 * `Headers` its own copy of a name it does not know).
 */
function _sharedFields(headers: [string, string][]): [string, string][] {
  const out = new Array<[string, string]>(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    const [name, value] = pair;
    out[i] = UNSHARED_FIELDS.has(name) ||
        value.length > SHARED_VALUE_MAX_LENGTH
      ? pair
      : _sharedField(name, value);
  }
  return out;
}

function _sharedField(name: string, value: string): [string, string] {
  let field = sharedFields.get(name);
  const known = field?.values.get(value);
  if (known !== undefined && known !== null) return known;
  if (known === null) {
    // Seen before: from now on, one pair for all.
    const pair = Object.freeze([field!.name, value]) as [string, string];
    field!.values.set(value, pair);
    return pair;
  }
  if (sharedFieldCount >= SHARED_FIELDS_LIMIT) {
    sharedFields = new Map();
    sharedFieldCount = 0;
    field = undefined;
  }
  if (field === undefined) {
    field = { name, values: new Map() };
    sharedFields.set(name, field);
  }
  field.values.set(value, null);
  sharedFieldCount++;
  return [field.name, value];
}

/**
 * The body to keep: a view of part of a larger buffer (a chunk of a
 * network read, say) is copied, so that an entry never holds more memory
 * than its bytes.
 */
function _ownBuffer(body: Uint8Array | string): Uint8Array | string {
  return typeof body === "string" ||
      (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength)
    ? body
    : body.slice();
}

/**
 * The largest body {@linkcode inMemoryEntry} keeps as text. A byte array
 * costs about 200 bytes of its own besides its bytes, a large part of a
 * small body's cost and a small part of a large one's; and its bytes lie
 * outside the engine's heap, whose size limit they do not count against.
 */
export const TEXT_BODY_MAX_BYTES = 4_096;

/**
 * The form of an entry to keep in process memory (a memory store): a
 * body of at most {@linkcode TEXT_BODY_MAX_BYTES} that is ASCII text is
 * held as a string, one byte per character, without the fixed cost of a
 * byte array. It encodes back to the same bytes, so the entry serves the
 * same response. Any other entry is returned as it is.
 *
 * @param entry The entry to store.
 * @returns `entry`, or a copy of it with a text body.
 */
export function inMemoryEntry(entry: CachedResponse): CachedResponse {
  const body = entry.body;
  if (
    typeof body === "string" || body.byteLength === 0 ||
    body.byteLength > TEXT_BODY_MAX_BYTES
  ) {
    return entry;
  }
  let text: string;
  try {
    text = textDecoder.decode(body);
  } catch {
    return entry; // Not UTF-8: kept as bytes.
  }
  // As many characters as bytes: every one is ASCII, and the engine holds
  // the string at one byte per character (other text may take two).
  if (text.length !== body.byteLength) return entry;
  return _entry(entry, entry.headers, text, entry.initialAgeMs, entry.policy);
}

/**
 * The bytes of a stored body: the array itself, or the UTF-8 encoding of
 * a text body (a new array).
 *
 * @param body A {@linkcode CachedResponse.body}.
 * @returns Its bytes.
 */
export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/**
 * The most distinct {@linkcode CachePolicyData} that {@linkcode computePolicy}
 * remembers. When full, it starts over, as {@linkcode _sharedFields} does.
 */
const SHARED_POLICIES_LIMIT = 1_024;
let sharedPolicies = new Map<string, CachePolicyData>();

/**
 * Computes the {@linkcode CachePolicyData} of an entry from its stored
 * fields. The object is frozen, and the same for every entry with the same
 * facts: a cache of many responses to one API keeps their policy once.
 *
 * @param entry The entry's stored fields; its `policy` is not read.
 * @param cc The parsed `Cache-Control` of the entry, when already at hand.
 * @param options The cache policy options.
 * @returns The facts to store in `entry.policy`.
 *
 * @example Recomputing after changing options
 * ```ts
 * import { computePolicy, createCachedResponse } from "./entry.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK", headers: new Headers({ "cache-control": "max-age=5" }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * const policy = computePolicy(entry, undefined, { overrides: { minTtlMs: 60_000 } });
 * console.log(policy.freshnessLifetimeMs); // 60000
 * ```
 */
export function computePolicy(
  entry: CachedResponseParts,
  cc: CacheControl | undefined,
  options: CachePolicyOptions,
): CachePolicyData {
  const directives = cc ??
    parseCacheControl(fieldValue(entry.headers, "cache-control"));
  const shared = options.shared === true;
  const { lifetimeMs, heuristic } = lifetimeFrom(directives, entry, options);
  const requiresValidation = directives.noCache &&
    directives.noCacheFields.length === 0 &&
    options.overrides?.ignoreNoCache !== true;
  const noStaleServing = directives.mustRevalidate ||
    (shared &&
      (directives.proxyRevalidate || directives.sMaxAge !== undefined));
  const staleWhileRevalidateMs = (directives.staleWhileRevalidate ?? 0) * 1000;
  const staleIfErrorMs = (directives.staleIfError ?? 0) * 1000;
  const key =
    `${lifetimeMs} ${+heuristic}${+requiresValidation}${+noStaleServing} ${staleWhileRevalidateMs} ${staleIfErrorMs}`;
  let policy = sharedPolicies.get(key);
  if (policy === undefined) {
    policy = Object.freeze({
      freshnessLifetimeMs: lifetimeMs,
      heuristic,
      requiresValidation,
      noStaleServing,
      staleWhileRevalidateMs,
      staleIfErrorMs,
    });
    if (sharedPolicies.size >= SHARED_POLICIES_LIMIT) {
      sharedPolicies = new Map();
    }
    sharedPolicies.set(key, policy);
  }
  return policy;
}

/**
 * The entity tag of a stored response: its `ETag` field, trimmed, or `""`
 * when it has none.
 *
 * @param entry The stored response (only `headers` is read).
 * @returns The entity tag.
 */
export function etagOf(entry: { headers: HeaderList }): string {
  return fieldValue(entry.headers, "etag")?.trim() ?? "";
}

/**
 * The `Last-Modified` field of a stored response, trimmed, or `""` when it
 * has none.
 *
 * @param entry The stored response (only `headers` is read).
 * @returns The field's value.
 */
export function lastModifiedOf(entry: { headers: HeaderList }): string {
  return fieldValue(entry.headers, "last-modified")?.trim() ?? "";
}

/**
 * Builds a new `Response` from a stored entry. Every call returns a new
 * `Response` with its own copy of the body, so one caller reading or
 * cancelling it never affects another. The response's `url` is the entry's.
 *
 * @param entry The stored entry.
 * @param options The `Age` to set, and whether to drop the body.
 * @returns A new response.
 *
 * @example Serving a hit
 * ```ts
 * import { createCachedResponse, toResponse } from "./entry.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK", headers: new Headers({ "cache-control": "max-age=60" }),
 *   body: new TextEncoder().encode("hi"), requestTime: 0, responseTime: 0,
 * }, {});
 * const response = toResponse(entry, { ageSeconds: 3 });
 * console.log(response.headers.get("age"), await response.text()); // "3" "hi"
 * ```
 */
export function toResponse(
  entry: CachedResponse,
  options: ToResponseOptions = {},
): Response {
  const headers = headersOf(entry.headers);
  if (options.ageSeconds !== undefined) {
    headers.set("age", String(Math.max(0, Math.floor(options.ageSeconds))));
  }
  const noBody = options.headOnly === true || entry.method === "HEAD" ||
    NULL_BODY_STATUSES.has(entry.status);
  // The Response constructor copies a BufferSource body and encodes a
  // string one, so each response owns its bytes. A string body would also
  // bring a `Content-Type` of its own where the entry has none.
  const body = entry.body;
  const response = new Response(
    noBody
      ? null
      : typeof body === "string" && headers.has("content-type")
      ? body
      : bodyBytes(body) as Uint8Array<ArrayBuffer>,
    { status: entry.status, statusText: entry.statusText, headers },
  );
  Object.defineProperty(response, "url", {
    value: entry.url,
    enumerable: true,
  });
  return response;
}

/**
 * Builds `Headers` from a header list. Appending field by field is quicker
 * in every runtime than handing the list to the `Headers` constructor, and
 * in Bun much quicker for the frozen pairs that entries share.
 *
 * @param list The fields as `[name, value]` pairs.
 * @returns New headers holding them, in order.
 */
export function headersOf(list: HeaderList): Headers {
  const headers = new Headers();
  for (let i = 0; i < list.length; i++) {
    const pair = list[i]!;
    headers.append(pair[0], pair[1]);
  }
  return headers;
}

/**
 * Brings an entry written by sluice 0.1, which kept its initial age in
 * `policy.initialAgeMs`, to the current shape, in place, so that a
 * persistent cache survives an upgrade. Any other value is left as it is,
 * for {@linkcode isCachedResponse} to judge.
 *
 * @param value A value read from a store, freshly decoded.
 */
export function upgradeEntry(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  const v = value as Record<string, unknown>;
  if (v.initialAgeMs !== undefined) return;
  const policy = v.policy as Record<string, unknown> | null | undefined;
  if (typeof policy === "object" && policy !== null) {
    v.initialAgeMs = policy.initialAgeMs;
  }
}

/**
 * Tells whether a value read from a store has the shape of a
 * {@linkcode CachedResponse}, down to header names and values that
 * `Headers` accepts and a status text that `Response` accepts, so that
 * evaluating and serving it cannot throw. A value that does not is corrupt,
 * or was written by an incompatible version: treat it as a miss and delete
 * it.
 *
 * @param value The value read from a store.
 * @returns `true` when `value` can be evaluated and served.
 *
 * @example Guarding a store read
 * ```ts
 * import { isCachedResponse } from "./entry.ts";
 *
 * console.log(isCachedResponse({ url: "x" })); // false
 * ```
 */
export function isCachedResponse(value: unknown): value is CachedResponse {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  if (
    typeof v.url !== "string" || typeof v.method !== "string" ||
    !_isStatus(v.status) || !isReasonPhrase(v.statusText) ||
    !(v.body instanceof Uint8Array || typeof v.body === "string") ||
    !Number.isFinite(v.requestTime) ||
    !Number.isFinite(v.responseTime) || !isHeaderList(v.headers) ||
    !isVarySelection(v.varyHeaders) || !_isNonNegative(v.initialAgeMs) ||
    typeof v.policy !== "object" || v.policy === null
  ) {
    return false;
  }
  const p = v.policy as Record<string, unknown>;
  return _isNonNegative(p.freshnessLifetimeMs) &&
    _isNonNegative(p.staleWhileRevalidateMs) &&
    _isNonNegative(p.staleIfErrorMs) && typeof p.heuristic === "boolean" &&
    typeof p.requiresValidation === "boolean" &&
    typeof p.noStaleServing === "boolean";
}

function _isStatus(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) &&
    value >= 200 && value <= 599;
}

function _isNonNegative(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/**
 * Freshness and age (RFC 9111 §4.2).
 *
 * The freshness lifetime comes from the first of these that applies:
 *
 * 1. `s-maxage`, in a shared cache only;
 * 2. `max-age`;
 * 3. `Expires` minus `Date` (`Date` defaults to the time the response was
 *    received; an invalid `Expires`, such as `0`, means already expired);
 * 4. the user's `defaultTtlMs`, for responses without explicit freshness
 *    whose status is heuristically cacheable or that are marked `public`;
 * 5. heuristic freshness for those same responses: 10% of the time between
 *    `Last-Modified` and `Date`, capped at `maxHeuristicMs` (24 hours by
 *    default); `0` without a usable `Last-Modified`.
 *
 * The user's `overrides.minTtlMs` and `overrides.maxTtlMs` then clamp the
 * result, whatever its source.
 *
 * @module
 */

import { parseCacheControl, parseDeltaSeconds } from "./cache_control.ts";
import type { CacheControl } from "./cache_control.ts";
import { fieldValue } from "./_fields.ts";
import { parseHttpDate } from "./http_date.ts";
import { DEFAULT_MAX_HEURISTIC_MS } from "./options.ts";
import type { CachePolicyOptions } from "./options.ts";
import type { CachedResponse } from "./entry.ts";

/** The share of the time since `Last-Modified` used as heuristic freshness. */
const HEURISTIC_FRACTION = 0.1;

/**
 * Status codes that are heuristically cacheable (RFC 9110 §15.1), except
 * 206, which sluice never stores because it does not combine ranges.
 */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([
  200,
  203,
  204,
  300,
  301,
  308,
  404,
  405,
  410,
  414,
  501,
]);

/**
 * The parts of a response that freshness and age depend on. A
 * {@linkcode CachedResponse} is one.
 */
export interface FreshnessInput {
  /** The response status. */
  status: number;
  /** The stored response fields as `[name, value]` pairs. */
  headers: readonly (readonly [string, string])[];
  /** When the request was sent, in milliseconds since the epoch. */
  requestTime: number;
  /** When the response was received, in milliseconds since the epoch. */
  responseTime: number;
}

/**
 * Computes the freshness lifetime of a response.
 *
 * @param entry The response (a {@linkcode CachedResponse} or its parts).
 * @param options The cache policy options.
 * @returns The lifetime in milliseconds; `0` when the response is stale on
 * arrival.
 *
 * @example max-age wins over Expires
 * ```ts
 * import { freshnessLifetimeMs } from "./freshness.ts";
 *
 * const lifetime = freshnessLifetimeMs({
 *   status: 200,
 *   headers: [["cache-control", "max-age=60"], ["expires", "Thu, 01 Jan 1970 00:00:00 GMT"]],
 *   requestTime: 0,
 *   responseTime: 0,
 * }, {});
 * console.log(lifetime); // 60000
 * ```
 */
export function freshnessLifetimeMs(
  entry: FreshnessInput,
  options: CachePolicyOptions,
): number {
  const cc = parseCacheControl(fieldValue(entry.headers, "cache-control"));
  return lifetimeFrom(cc, entry, options).lifetimeMs;
}

/**
 * Computes the age a response had on arrival (the corrected initial age of
 * RFC 9111 §4.2.3): the larger of the apparent age (`responseTime − Date`)
 * and the `Age` field plus the response delay (`responseTime −
 * requestTime`).
 *
 * @param entry The response (a {@linkcode CachedResponse} or its parts).
 * @returns The initial age in milliseconds.
 *
 * @example An Age header from an upstream cache
 * ```ts
 * import { initialAgeMs } from "./freshness.ts";
 *
 * console.log(initialAgeMs({
 *   status: 200,
 *   headers: [["age", "30"]],
 *   requestTime: 0,
 *   responseTime: 500,
 * })); // 30500
 * ```
 */
export function initialAgeMs(entry: FreshnessInput): number {
  const date = parseHttpDate(
    fieldValue(entry.headers, "date"),
    entry.responseTime,
  );
  const apparentAge = date === undefined
    ? 0
    : Math.max(0, entry.responseTime - date);
  const ageField = fieldValue(entry.headers, "age");
  // A list of Age values (two field lines) reads as its first member.
  const ageSeconds = ageField === null
    ? undefined
    : parseDeltaSeconds(ageField.split(",")[0]!.trim());
  const responseDelay = Math.max(0, entry.responseTime - entry.requestTime);
  const correctedAge = (ageSeconds ?? 0) * 1000 + responseDelay;
  return Math.max(apparentAge, correctedAge);
}

/**
 * Computes the current age of a stored response (RFC 9111 §4.2.3): its
 * initial age plus the time it has been resident in the cache.
 *
 * Uses the age precomputed in `entry.initialAgeMs` when present, so it
 * costs no header parsing.
 *
 * @param entry The stored response.
 * @param now The current time, in milliseconds since the epoch.
 * @returns The age in milliseconds.
 *
 * @example Ageing in the store
 * ```ts
 * import { currentAgeMs } from "./freshness.ts";
 *
 * const entry = { status: 200, headers: [], requestTime: 0, responseTime: 0 };
 * console.log(currentAgeMs(entry, 5_000)); // 5000
 * ```
 */
export function currentAgeMs(
  entry: FreshnessInput & Partial<Pick<CachedResponse, "initialAgeMs">>,
  now: number,
): number {
  const initial = entry.initialAgeMs ?? initialAgeMs(entry);
  return initial + Math.max(0, now - entry.responseTime);
}

/**
 * Tells whether a status may be stored and given heuristic freshness
 * without explicit freshness information.
 *
 * @param status The response status.
 * @returns `true` for 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501.
 *
 * @example
 * ```ts
 * import { isHeuristicallyCacheable } from "./freshness.ts";
 *
 * console.log(isHeuristicallyCacheable(404), isHeuristicallyCacheable(500)); // true false
 * ```
 */
export function isHeuristicallyCacheable(status: number): boolean {
  return HEURISTICALLY_CACHEABLE.has(status);
}

/** The result of {@linkcode lifetimeFrom}. */
export interface LifetimeResult {
  /** The freshness lifetime in milliseconds, after the user's clamps. */
  lifetimeMs: number;
  /** Whether the lifetime came from explicit origin information. */
  explicit: boolean;
  /** Whether the lifetime is heuristic. */
  heuristic: boolean;
}

/**
 * Computes the lifetime from already parsed directives.
 *
 * @param cc The response's `Cache-Control` directives.
 * @param entry The response.
 * @param options The cache policy options.
 * @returns The lifetime and where it came from.
 */
export function lifetimeFrom(
  cc: CacheControl,
  entry: FreshnessInput,
  options: CachePolicyOptions,
): LifetimeResult {
  let lifetimeMs: number;
  let explicit = true;
  let heuristic = false;
  if (options.shared === true && cc.sMaxAge !== undefined) {
    lifetimeMs = cc.sMaxAge * 1000;
  } else if (cc.maxAge !== undefined) {
    lifetimeMs = cc.maxAge * 1000;
  } else {
    const expiresField = fieldValue(entry.headers, "expires");
    if (expiresField !== null) {
      const expires = parseHttpDate(expiresField, entry.responseTime);
      const date = parseHttpDate(
        fieldValue(entry.headers, "date"),
        entry.responseTime,
      ) ?? entry.responseTime;
      lifetimeMs = expires === undefined ? 0 : Math.max(0, expires - date);
    } else {
      explicit = false;
      lifetimeMs = 0;
      if (cc.public || HEURISTICALLY_CACHEABLE.has(entry.status)) {
        if (
          options.defaultTtlMs !== undefined &&
          (options.defaultTtlStatuses === undefined ||
            options.defaultTtlStatuses.has(entry.status))
        ) {
          lifetimeMs = options.defaultTtlMs;
        } else {
          lifetimeMs = _heuristicMs(entry, options);
          heuristic = lifetimeMs > 0;
        }
      }
    }
  }
  const overrides = options.overrides;
  if (overrides !== undefined) {
    if (overrides.minTtlMs !== undefined && lifetimeMs < overrides.minTtlMs) {
      lifetimeMs = overrides.minTtlMs;
    }
    if (overrides.maxTtlMs !== undefined && lifetimeMs > overrides.maxTtlMs) {
      lifetimeMs = overrides.maxTtlMs;
    }
  }
  return { lifetimeMs, explicit, heuristic };
}

function _heuristicMs(
  entry: FreshnessInput,
  options: CachePolicyOptions,
): number {
  const cap = options.maxHeuristicMs ?? DEFAULT_MAX_HEURISTIC_MS;
  if (cap <= 0) return 0;
  const lastModified = parseHttpDate(
    fieldValue(entry.headers, "last-modified"),
    entry.responseTime,
  );
  if (lastModified === undefined) return 0;
  const date = parseHttpDate(
    fieldValue(entry.headers, "date"),
    entry.responseTime,
  ) ?? entry.responseTime;
  const since = date - lastModified;
  if (since <= 0) return 0;
  return Math.min(cap, Math.floor(since * HEURISTIC_FRACTION));
}

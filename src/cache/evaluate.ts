/**
 * The serve decision (RFC 9111 §4): may a stored response answer this
 * request, as is, stale while revalidating, or only after validation?
 *
 * This runs on every cache hit, so it reads only the facts precomputed in
 * {@linkcode CachedResponse.policy} and parses a header only when the
 * request carries `Cache-Control` (or `Pragma`) or the entry has `Vary`.
 *
 * The rules, in order:
 *
 * 1. `Vary` must match ({@linkcode varyMatches}), else `"unusable"`.
 * 2. A response `no-cache` (unless overridden) or a request `no-cache`
 *    means `"stale"`: validate before use.
 * 3. A request `max-age=N` refuses a response older than N seconds, and a
 *    request `min-fresh=N` one with less than N seconds of freshness left:
 *    `"stale"`.
 * 4. A fresh response is `"fresh"`.
 * 5. A stale response with `must-revalidate` (or, shared, `proxy-revalidate`
 *    or `s-maxage`) is `"stale"`, whatever the request's `max-stale`.
 * 6. A request `max-stale` (any staleness without a value, else up to N
 *    seconds) makes a stale response `"fresh"` with `servedStale: true`.
 * 7. Within the response's `stale-while-revalidate` window:
 *    `"stale-while-revalidate"`.
 * 8. Otherwise `"stale"`.
 *
 * @module
 */

import type { CachedResponse } from "./entry.ts";
import { requestCacheControl } from "./request.ts";
import { varyMatches } from "./vary.ts";

/** A stored response may be served as is: no origin contact. */
export interface FreshEvaluation {
  /** The decision. */
  kind: "fresh";
  /** The response's current age in whole seconds, for the `Age` field. */
  ageSeconds: number;
  /** `true` when the response is stale but the request's `max-stale` accepts it. */
  servedStale: boolean;
}

/** Serve the stored response now, and revalidate it once in the background. */
export interface StaleWhileRevalidateEvaluation {
  /** The decision. */
  kind: "stale-while-revalidate";
  /** The response's current age in whole seconds, for the `Age` field. */
  ageSeconds: number;
}

/**
 * The stored response may only be used after validation: send a conditional
 * request ({@linkcode conditionalHeaders}); a 304 refreshes it
 * ({@linkcode mergeNotModified}).
 */
export interface StaleEvaluation {
  /** The decision. */
  kind: "stale";
  /** The response's current age in whole seconds, for the `Age` field. */
  ageSeconds: number;
  /**
   * Whether the stored response may be served if validation fails with a
   * network error or a 5xx (`stale-if-error`).
   */
  staleIfError: boolean;
}

/** The stored response can never answer this request (a `Vary` mismatch). */
export interface UnusableEvaluation {
  /** The decision. */
  kind: "unusable";
  /** Why: the request's varied fields differ from the stored ones. */
  reason: "vary";
}

/** The result of {@linkcode evaluate}. */
export type CacheEvaluation =
  | FreshEvaluation
  | StaleWhileRevalidateEvaluation
  | StaleEvaluation
  | UnusableEvaluation;

/**
 * Decides whether and how a stored response answers a request.
 *
 * An `only-if-cached` request ({@linkcode onlyIfCached}) must be answered
 * with a 504 unless the result is `"fresh"` or `"stale-while-revalidate"`.
 *
 * @param requestHeaders The request fields.
 * @param entry The stored response.
 * @param now The current time, in milliseconds since the epoch.
 * @returns The decision, with the age for the `Age` field.
 *
 * @example A fresh hit
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { evaluate } from "./evaluate.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK", headers: new Headers({ "cache-control": "max-age=60" }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * console.log(evaluate(new Headers(), entry, 10_000)); // { kind: "fresh", ageSeconds: 10, servedStale: false }
 * ```
 */
export function evaluate(
  requestHeaders: Headers,
  entry: CachedResponse,
  now: number,
): CacheEvaluation {
  const policy = entry.policy;
  if (!_varyMatchesFast(entry, requestHeaders)) {
    return { kind: "unusable", reason: "vary" };
  }
  const ageMs = entry.initialAgeMs + Math.max(0, now - entry.responseTime);
  const ageSeconds = Math.floor(ageMs / 1000);
  const freshLeftMs = policy.freshnessLifetimeMs - ageMs;
  const hasDirectives = requestHeaders.has("cache-control") ||
    requestHeaders.has("pragma");
  if (!hasDirectives) {
    // The hot path: a plain request.
    if (policy.requiresValidation) {
      return _stale(ageSeconds, entry, -freshLeftMs, undefined);
    }
    if (freshLeftMs > 0) {
      return { kind: "fresh", ageSeconds, servedStale: false };
    }
    return _staleDecision(ageSeconds, entry, -freshLeftMs, undefined);
  }
  const rc = requestCacheControl(requestHeaders);
  if (policy.requiresValidation || rc.noCache) {
    return _stale(ageSeconds, entry, -freshLeftMs, rc.staleIfError);
  }
  if (rc.maxAge !== undefined && ageMs > rc.maxAge * 1000) {
    return _stale(ageSeconds, entry, -freshLeftMs, rc.staleIfError);
  }
  if (rc.minFresh !== undefined && freshLeftMs < rc.minFresh * 1000) {
    return _stale(ageSeconds, entry, -freshLeftMs, rc.staleIfError);
  }
  if (freshLeftMs > 0) return { kind: "fresh", ageSeconds, servedStale: false };
  if (
    !policy.noStaleServing && rc.maxStale !== undefined &&
    -freshLeftMs <= rc.maxStale * 1000
  ) {
    return { kind: "fresh", ageSeconds, servedStale: true };
  }
  return _staleDecision(ageSeconds, entry, -freshLeftMs, rc.staleIfError);
}

/**
 * Tells whether a stored response may be served because the origin failed
 * (a network error or a 5xx status), under `stale-if-error` (RFC 5861 §4).
 * Never when the response has `must-revalidate` (or, shared,
 * `proxy-revalidate` or `s-maxage`) or `no-cache`, as RFC 9111 §4.2.4
 * forbids serving those stale.
 *
 * @param entry The stored response.
 * @param now The current time, in milliseconds since the epoch.
 * @param requestStaleIfErrorSeconds The request's own `stale-if-error`
 * value, if any; the larger of the two windows applies.
 * @returns `true` when the stored response may be served instead of the error.
 *
 * @example
 * ```ts
 * import { createCachedResponse } from "./entry.ts";
 * import { staleIfErrorApplies } from "./evaluate.ts";
 *
 * const entry = createCachedResponse({
 *   url: "https://a.example/", method: "GET", requestHeaders: new Headers(),
 *   status: 200, statusText: "OK",
 *   headers: new Headers({ "cache-control": "max-age=60, stale-if-error=600" }),
 *   body: new Uint8Array(), requestTime: 0, responseTime: 0,
 * }, {});
 * console.log(staleIfErrorApplies(entry, 120_000)); // true
 * console.log(staleIfErrorApplies(entry, 700_000)); // false
 * ```
 */
export function staleIfErrorApplies(
  entry: CachedResponse,
  now: number,
  requestStaleIfErrorSeconds?: number,
): boolean {
  const ageMs = entry.initialAgeMs + Math.max(0, now - entry.responseTime);
  return _staleIfError(
    entry,
    ageMs - entry.policy.freshnessLifetimeMs,
    requestStaleIfErrorSeconds,
  );
}

function _staleIfError(
  entry: CachedResponse,
  stalenessMs: number,
  requestSeconds: number | undefined,
): boolean {
  const policy = entry.policy;
  if (policy.noStaleServing || policy.requiresValidation) return false;
  const windowMs = Math.max(
    policy.staleIfErrorMs,
    (requestSeconds ?? 0) * 1000,
  );
  return windowMs > 0 && stalenessMs <= windowMs;
}

function _stale(
  ageSeconds: number,
  entry: CachedResponse,
  stalenessMs: number,
  requestStaleIfError: number | undefined,
): StaleEvaluation {
  return {
    kind: "stale",
    ageSeconds,
    staleIfError: _staleIfError(entry, stalenessMs, requestStaleIfError),
  };
}

function _staleDecision(
  ageSeconds: number,
  entry: CachedResponse,
  stalenessMs: number,
  requestStaleIfError: number | undefined,
): StaleWhileRevalidateEvaluation | StaleEvaluation {
  const policy = entry.policy;
  if (
    !policy.noStaleServing && policy.staleWhileRevalidateMs > 0 &&
    stalenessMs <= policy.staleWhileRevalidateMs
  ) {
    return { kind: "stale-while-revalidate", ageSeconds };
  }
  return _stale(ageSeconds, entry, stalenessMs, requestStaleIfError);
}

function _varyMatchesFast(
  entry: CachedResponse,
  requestHeaders: Headers,
): boolean {
  // Most entries vary on nothing; skip the call in that case.
  for (const _ in entry.varyHeaders) return varyMatches(entry, requestHeaders);
  return true;
}

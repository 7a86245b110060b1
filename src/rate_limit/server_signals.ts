/**
 * The server's own rate-limit signals: `Retry-After` (RFC 9110 §10.2.3) and
 * the `RateLimit` fields, in every form found in the wild:
 *
 * - the structured `RateLimit` list of the current IETF draft, one member
 *   per policy: `RateLimit: "default";r=0;t=30` (`r` remaining quota, `t`
 *   seconds until it resets), with `RateLimit-Policy: "default";q=100;w=60`
 *   (`q` quota, `w` window in seconds);
 * - the dictionary form of earlier drafts: `RateLimit: limit=100,
 *   remaining=0, reset=30`;
 * - separate `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 *   fields (draft 6 and earlier);
 * - the `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`
 *   (and `X-RateLimit-Reset-After`) fields of GitHub, Twitter, Discord and
 *   many others, and `X-RateLimit-Retry-After`, read like `Retry-After`
 *   when that is absent (delta-seconds, an epoch time or an HTTP-date);
 * - a `RateLimit-Policy` beside the separate fields (`100;w=60`), for the
 *   quota and its window.
 *
 * A reset value is read as delta-seconds, unless it is larger than ten
 * years of seconds, in which case it is an epoch time (seconds, or
 * milliseconds when larger than 10^12), as GitHub's `X-RateLimit-Reset` is.
 * Malformed fields are ignored; nothing here throws.
 *
 * @module
 */

import { parseHttpDate } from "../cache/http_date.ts";

/** Ten years of seconds: reset values above this are epoch times. */
const EPOCH_THRESHOLD_SECONDS = 315_360_000;
/** Values above this are epoch milliseconds rather than seconds. */
const EPOCH_MS_THRESHOLD = 1e12;
/** The longest delay sluice will read from a header: about 68 years. */
const MAX_DELAY_MS = 2_147_483_647_000;

/** What the server said about its rate limit, from one response's fields. */
export interface RateLimitSignals {
  /**
   * How long to hold back requests, in milliseconds: from `Retry-After`, or
   * from the reset time when the remaining quota is 0. Absent, or never
   * `0`, when there is nothing to wait for.
   */
  cooldownMs?: number;
  /** The remaining quota in the current window. */
  remaining?: number;
  /** Milliseconds until the quota resets. */
  resetMs?: number;
  /** The quota of the window. */
  limit?: number;
  /** The length of the policy's window, in milliseconds, when the server names it. */
  windowMs?: number;
}

/**
 * Parses a `Retry-After` value: delta-seconds or an HTTP-date.
 *
 * @param value The field value, or `null` when absent.
 * @param now The current time, in milliseconds since the epoch.
 * @returns Milliseconds to wait: `0` for a negative number or a date in the
 * past; `undefined` when absent or unparseable. Fractional seconds (`1.5`),
 * which some servers send, are accepted.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "./server_signals.ts";
 *
 * console.log(parseRetryAfter("120", 0)); // 120000
 * console.log(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4_000)); // 6000
 * console.log(parseRetryAfter("soon", 0)); // undefined
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  now: number,
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^[+-]?\d+(?:\.\d+)?$/.test(text)) {
    return _clampDelay(Number(text) * 1000);
  }
  const date = parseHttpDate(text, now);
  return date === undefined ? undefined : _clampDelay(date - now);
}

/**
 * Whether a response has a field that can make
 * {@linkcode readRateLimitSignals} report a cooldown: a remaining budget
 * (which a reset may then turn into one), or a `Retry-After` that counts on
 * its status. Cheaper than reading every signal, for the many responses
 * without any.
 *
 * @param headers The response fields.
 * @param status The response status.
 */
export function mayCarryCooldown(headers: Headers, status: number): boolean {
  return headers.has("ratelimit") || headers.has("ratelimit-remaining") ||
    headers.has("x-ratelimit-remaining") ||
    (_retryAfterCounts(status) &&
      (headers.has("retry-after") || headers.has("x-ratelimit-retry-after")));
}

/**
 * Whether a response announces the server's limit (a quota, with or
 * without what remains of it), so that {@linkcode readRateLimitSignals} is
 * worth calling for it.
 */
export function mayAnnounceLimit(headers: Headers): boolean {
  return headers.has("ratelimit") || headers.has("ratelimit-limit") ||
    headers.has("x-ratelimit-limit") || headers.has("ratelimit-policy");
}

/**
 * Reads every rate-limit signal of a response.
 *
 * Precedence: the structured `RateLimit` field, then `RateLimit-*`, then
 * `X-RateLimit-*`, field by field. When the structured field lists several
 * policies, the most restrictive one (least remaining, then latest reset)
 * is reported.
 *
 * @param headers The response fields.
 * @param now The current time, in milliseconds since the epoch.
 * @param status The response status, when known. `Retry-After` then counts
 * only on 429 and 5xx responses (on a 3xx it delays a redirect, not the
 * budget).
 * @returns The signals found; an empty object when there are none.
 *
 * @example GitHub's fields
 * ```ts
 * import { readRateLimitSignals } from "./server_signals.ts";
 *
 * const headers = new Headers({
 *   "x-ratelimit-limit": "60",
 *   "x-ratelimit-remaining": "0",
 *   "x-ratelimit-reset": "1767225660", // epoch seconds
 * });
 * const now = 1_767_225_600_000;
 * console.log(readRateLimitSignals(headers, now));
 * // { remaining: 0, resetMs: 60000, limit: 60, cooldownMs: 60000 }
 * ```
 */
export function readRateLimitSignals(
  headers: Headers,
  now: number,
  status?: number,
): RateLimitSignals {
  const out: RateLimitSignals = {};
  const structured = headers.get("ratelimit");
  if (structured !== null) _readStructured(structured, headers, now, out);
  if (out.remaining === undefined) {
    const remaining = _count(headers.get("ratelimit-remaining")) ??
      _count(headers.get("x-ratelimit-remaining"));
    if (remaining !== undefined) out.remaining = remaining;
  }
  if (out.resetMs === undefined) {
    const reset = _reset(headers.get("ratelimit-reset"), now) ??
      _resetAfter(headers.get("x-ratelimit-reset-after")) ??
      _reset(headers.get("x-ratelimit-reset"), now);
    if (reset !== undefined) out.resetMs = reset;
  }
  if (out.limit === undefined) {
    const limit = _count(headers.get("ratelimit-limit")) ??
      _count(headers.get("x-ratelimit-limit"));
    if (limit !== undefined) out.limit = limit;
  }
  if (out.windowMs === undefined) _readPolicy(headers, undefined, out);
  const retryAfter = _retryAfterCounts(status)
    ? parseRetryAfter(headers.get("retry-after"), now) ??
      _reset(headers.get("x-ratelimit-retry-after"), now)
    : undefined;
  if (retryAfter !== undefined) {
    if (retryAfter > 0) out.cooldownMs = retryAfter;
  } else if (
    out.remaining === 0 && out.resetMs !== undefined && out.resetMs > 0
  ) {
    out.cooldownMs = out.resetMs;
  }
  return out;
}

// Whether `Retry-After` counts on a response of `status` (any, when unknown).
function _retryAfterCounts(status: number | undefined): boolean {
  return status === undefined || status === 429 ||
    (status >= 500 && status <= 599);
}

/** One member of a structured field: its bare item and its parameters. */
interface _Member {
  key: string | undefined;
  item: string;
  params: Map<string, string>;
}

// A tolerant reader for structured-field lists and dictionaries (RFC 8941):
// members separated by commas outside quotes, each `item;k=v;k=v` or
// `key=item;k=v`. Quotes are removed from items and values.
function _members(value: string): _Member[] {
  const members: _Member[] = [];
  for (const raw of _splitOutsideQuotes(value, ",")) {
    const parts = _splitOutsideQuotes(raw, ";").map((p) => p.trim());
    const head = parts[0] ?? "";
    let key: string | undefined;
    let item = head;
    const eq = head.startsWith('"') ? -1 : head.indexOf("=");
    if (eq !== -1) {
      key = head.slice(0, eq).trim().toLowerCase();
      item = head.slice(eq + 1).trim();
    }
    const params = new Map<string, string>();
    for (const part of parts.slice(1)) {
      const i = part.indexOf("=");
      const name = (i === -1 ? part : part.slice(0, i)).trim().toLowerCase();
      if (name !== "" && !params.has(name)) {
        params.set(name, i === -1 ? "?1" : _unquote(part.slice(i + 1).trim()));
      }
    }
    members.push({ key, item: _unquote(item), params });
  }
  return members;
}

function _readStructured(
  value: string,
  headers: Headers,
  now: number,
  out: RateLimitSignals,
): void {
  const members = _members(value);
  // Dictionary form: limit=…, remaining=…, reset=…
  const dict = new Map<string, string>();
  for (const m of members) {
    if (m.key !== undefined && !dict.has(m.key)) dict.set(m.key, m.item);
  }
  if (dict.has("remaining") || dict.has("reset") || dict.has("limit")) {
    const remaining = _count(dict.get("remaining") ?? null);
    if (remaining !== undefined) out.remaining = remaining;
    const reset = _reset(dict.get("reset") ?? null, now);
    if (reset !== undefined) out.resetMs = reset;
    const limit = _count(dict.get("limit") ?? null);
    if (limit !== undefined) out.limit = limit;
    return;
  }
  // List form: "policy";r=…;t=…  — keep the most restrictive policy.
  let best:
    | { name: string; r: number | undefined; t: number | undefined }
    | undefined;
  for (const m of members) {
    if (m.key !== undefined) continue;
    const r = _count(m.params.get("r") ?? null);
    const t = _reset(m.params.get("t") ?? null, now);
    if (r === undefined && t === undefined) continue;
    const candidate = { name: m.item, r, t };
    if (best === undefined || _moreRestrictive(candidate, best)) {
      best = candidate;
    }
  }
  if (best === undefined) return;
  if (best.r !== undefined) out.remaining = best.r;
  if (best.t !== undefined) out.resetMs = best.t;
  _readPolicy(headers, best.name, out);
}

// The quota and window of `RateLimit-Policy`: the policy named `name`, or
// the only one; with no name (the separate fields), the first that gives a
// window. The quota is taken only when no other field gave one.
function _readPolicy(
  headers: Headers,
  name: string | undefined,
  out: RateLimitSignals,
): void {
  const policyValue = headers.get("ratelimit-policy");
  if (policyValue === null) return;
  const policies = _members(policyValue).filter((m) => m.key === undefined);
  const policy = name === undefined
    ? policies.find((p) => p.params.has("w")) ?? policies[0]
    : policies.find((p) => p.item === name) ??
      (policies.length === 1 ? policies[0] : undefined);
  if (policy === undefined) return;
  const quota = _count(policy.params.get("q") ?? null) ?? _count(policy.item);
  if (quota !== undefined && (name !== undefined || out.limit === undefined)) {
    out.limit = quota;
  }
  const window = _number(policy.params.get("w") ?? null);
  if (window !== undefined && window > 0) {
    out.windowMs = _clampDelay(window * 1000);
  }
}

function _moreRestrictive(
  a: { r: number | undefined; t: number | undefined },
  b: { r: number | undefined; t: number | undefined },
): boolean {
  const ar = a.r ?? Number.MAX_SAFE_INTEGER;
  const br = b.r ?? Number.MAX_SAFE_INTEGER;
  if (ar !== br) return ar < br;
  return (a.t ?? 0) > (b.t ?? 0);
}

function _splitOutsideQuotes(value: string, separator: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === separator && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

function _unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return value;
}

// A non-negative decimal number, optionally followed by parameters or other
// list members (`100, 100;w=60` reads as 100).
function _number(value: string | null): number | undefined {
  if (value === null) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:[,;]|$)/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

function _count(value: string | null): number | undefined {
  const n = _number(value);
  return n === undefined || !Number.isSafeInteger(Math.floor(n))
    ? undefined
    : Math.floor(n);
}

function _reset(value: string | null, now: number): number | undefined {
  const n = _number(value);
  if (n === undefined) {
    // Some servers send an HTTP-date.
    const date = value === null ? undefined : parseHttpDate(value, now);
    return date === undefined ? undefined : _clampDelay(date - now);
  }
  if (n > EPOCH_MS_THRESHOLD) return _clampDelay(n - now);
  if (n > EPOCH_THRESHOLD_SECONDS) return _clampDelay(n * 1000 - now);
  return _clampDelay(n * 1000);
}

function _resetAfter(value: string | null): number | undefined {
  const n = _number(value);
  return n === undefined ? undefined : _clampDelay(n * 1000);
}

function _clampDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms > MAX_DELAY_MS ? MAX_DELAY_MS : Math.ceil(ms);
}

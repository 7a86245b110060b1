/**
 * Retry decisions and backoff: which failed attempts are retried, and how
 * long to wait before the next one.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** Options of the retry policy. */
export interface RetryOptions {
  /**
   * How many retries may follow the first attempt. `0` disables retries.
   *
   * @default {2}
   */
  attempts?: number;
  /**
   * The base of the exponential backoff, in milliseconds: retry `n`
   * (0-based) waits a random time below `baseDelayMs * 2^n`.
   *
   * @default {100}
   */
  baseDelayMs?: number;
  /**
   * The cap of the exponential backoff, in milliseconds. It does not cut a
   * server's `Retry-After`, which is a floor.
   *
   * @default {10_000}
   */
  maxDelayMs?: number;
  /**
   * The methods that may be retried, case-insensitive.
   *
   * @default {["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]}
   */
  methods?: readonly string[];
  /**
   * The response statuses that are retried.
   *
   * @default {[408, 429, 500, 502, 503, 504]}
   */
  statuses?: readonly number[];
}

/** Retry options with every default filled in; see {@linkcode validateRetryOptions}. */
export interface ResolvedRetryOptions {
  /** How many retries may follow the first attempt. */
  attempts: number;
  /** The base of the exponential backoff, in milliseconds. */
  baseDelayMs: number;
  /** The cap of the exponential backoff, in milliseconds. */
  maxDelayMs: number;
  /** The retried methods, upper-cased. */
  methods: ReadonlySet<string>;
  /** The retried statuses. */
  statuses: ReadonlySet<number>;
}

/** The idempotent methods (RFC 9110 §9.2.2), retried by default. */
export const DEFAULT_RETRY_METHODS: readonly string[] = Object.freeze([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
  "TRACE",
]);

/** The statuses retried by default. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([
  408,
  429,
  500,
  502,
  503,
  504,
]);

/** What an attempt ended with, for {@linkcode shouldRetry}. */
export type AttemptOutcome =
  | { status: number; error?: undefined }
  | { error: unknown; status?: undefined };

/**
 * Validates retry options and fills in the defaults.
 *
 * @param value The `retry` option as given: `undefined` for the defaults,
 * `false` to disable retries, a number of retries, or {@linkcode RetryOptions}.
 * @param component The thing being created, named in errors.
 * @param prefix The option path prefix, named in errors.
 * @returns The resolved options.
 * @throws {ConfigError} When an option is invalid, naming it, for example
 * "Cannot create HttpClient as 'retry.attempts' must be a non-negative
 * integer: received -1".
 *
 * @example
 * ```ts
 * import { validateRetryOptions } from "./retry_policy.ts";
 *
 * console.log(validateRetryOptions({ attempts: 3 }).attempts); // 3
 * console.log(validateRetryOptions(false).attempts); // 0
 * ```
 */
export function validateRetryOptions(
  value: unknown,
  component = "HttpClient",
  prefix = "retry",
): ResolvedRetryOptions {
  let input: Record<string, unknown>;
  if (value === undefined || value === true) input = {};
  else if (value === false) input = { attempts: 0 };
  else if (typeof value === "number") input = { attempts: value };
  else if (
    typeof value === "object" && value !== null && !Array.isArray(value)
  ) {
    input = value as Record<string, unknown>;
  } else {
    throw new ConfigError(
      component,
      prefix,
      value,
      "a boolean, a number of retries or an object",
    );
  }
  const attempts = input.attempts ?? 2;
  if (
    typeof attempts !== "number" || !Number.isSafeInteger(attempts) ||
    attempts < 0
  ) {
    throw new ConfigError(
      component,
      `${prefix}.attempts`,
      attempts,
      "a non-negative integer",
    );
  }
  const baseDelayMs = _delay(
    component,
    `${prefix}.baseDelayMs`,
    input.baseDelayMs ?? 100,
  );
  const maxDelayMs = _delay(
    component,
    `${prefix}.maxDelayMs`,
    input.maxDelayMs ?? 10_000,
  );
  if (maxDelayMs < baseDelayMs) {
    throw new ConfigError(
      component,
      `${prefix}.maxDelayMs`,
      maxDelayMs,
      `at least '${prefix}.baseDelayMs' (${baseDelayMs})`,
    );
  }
  const methods = input.methods ?? DEFAULT_RETRY_METHODS;
  if (
    !Array.isArray(methods) ||
    !methods.every((m) =>
      typeof m === "string" && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m)
    )
  ) {
    throw new ConfigError(
      component,
      `${prefix}.methods`,
      methods,
      "an array of HTTP method names",
    );
  }
  const statuses = input.statuses ?? DEFAULT_RETRY_STATUSES;
  if (
    !Array.isArray(statuses) ||
    !statuses.every((s) =>
      typeof s === "number" && Number.isInteger(s) && s >= 100 && s <= 599
    )
  ) {
    throw new ConfigError(
      component,
      `${prefix}.statuses`,
      statuses,
      "an array of HTTP status codes (100-599)",
    );
  }
  return {
    attempts,
    baseDelayMs,
    maxDelayMs,
    methods: new Set(methods.map((m: string) => m.toUpperCase())),
    statuses: new Set(statuses as number[]),
  };
}

/**
 * Tells whether a failed attempt should be retried.
 *
 * Retried: a response whose status is in `options.statuses`, or an error
 * that {@linkcode isRetryableError} accepts, for a method in
 * `options.methods`, while fewer than `options.attempts` retries were made.
 * The caller checks its own abort signal and total deadline first.
 *
 * @param method The request method.
 * @param retriesSoFar How many retries were already made (0 after the first attempt).
 * @param outcome The response status, or the error, of the attempt.
 * @param options The resolved retry options.
 * @returns `true` when another attempt should be made.
 *
 * @example
 * ```ts
 * import { shouldRetry, validateRetryOptions } from "./retry_policy.ts";
 *
 * const options = validateRetryOptions({});
 * console.log(shouldRetry("GET", 0, { status: 503 }, options)); // true
 * console.log(shouldRetry("POST", 0, { status: 503 }, options)); // false
 * ```
 */
export function shouldRetry(
  method: string,
  retriesSoFar: number,
  outcome: AttemptOutcome,
  options: ResolvedRetryOptions,
): boolean {
  if (!(retriesSoFar < options.attempts)) return false;
  if (!options.methods.has(method.toUpperCase())) return false;
  if (outcome.status !== undefined) return options.statuses.has(outcome.status);
  return isRetryableError(outcome.error);
}

/**
 * Tells whether an error thrown by an attempt is worth retrying: a network
 * failure (`fetch` rejects with a `TypeError`) or a per-attempt timeout (a
 * `TimeoutError` DOMException from `AbortSignal.timeout`, or a sluice
 * `TimeoutError` with phase `"attempt"`). Never a user abort
 * (`AbortError`), a total timeout, or any other error.
 *
 * @param error The error thrown by the attempt.
 * @returns `true` when a retry may succeed.
 *
 * @example
 * ```ts
 * import { isRetryableError } from "./retry_policy.ts";
 *
 * console.log(isRetryableError(new TypeError("fetch failed"))); // true
 * console.log(isRetryableError(new DOMException("aborted", "AbortError"))); // false
 * ```
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: unknown; code?: unknown; phase?: unknown };
  if (e.code === "ERR_TIMEOUT") return e.phase === "attempt";
  return e.name === "TimeoutError" && typeof DOMException !== "undefined" &&
    error instanceof DOMException;
}

/**
 * Computes the delay before a retry: exponential backoff with full jitter,
 * `random() * min(maxDelayMs, baseDelayMs * 2^retry)`, floored by the
 * server's `Retry-After` when given.
 *
 * A `Retry-After` longer than `maxDelayMs` is still honoured: the server's
 * floor wins over the backoff cap. The client gives up instead of waiting
 * when the delay would run past its total timeout.
 *
 * @param retry The 0-based index of the retry about to be made.
 * @param options The resolved retry options.
 * @param random A source of uniform numbers in `[0, 1)`; values outside are clamped.
 * @param retryAfterMs The server's `Retry-After`, in milliseconds, if any.
 * @returns The delay in milliseconds: finite and non-negative.
 *
 * @example
 * ```ts
 * import { backoffDelayMs, validateRetryOptions } from "./retry_policy.ts";
 *
 * const options = validateRetryOptions({ baseDelayMs: 100, maxDelayMs: 1_000 });
 * console.log(backoffDelayMs(3, options, () => 0.5)); // 400
 * console.log(backoffDelayMs(3, options, () => 0.5, 5_000)); // 5000
 * ```
 */
export function backoffDelayMs(
  retry: number,
  options: Pick<ResolvedRetryOptions, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(retry) || 0), 52);
  const ceiling = Math.min(
    options.maxDelayMs,
    options.baseDelayMs * 2 ** exponent,
  );
  let r = random();
  if (!(r >= 0)) r = 0;
  else if (r >= 1) r = 1;
  const delay = r * ceiling;
  if (
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) &&
    retryAfterMs > delay
  ) {
    return retryAfterMs;
  }
  return delay;
}

function _delay(component: string, option: string, value: unknown): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    value > 2_147_483_647
  ) {
    throw new ConfigError(
      component,
      option,
      value,
      "a non-negative number of milliseconds (at most 2147483647)",
    );
  }
  return value;
}

// Validation of the options one request is given: a helper's options, its
// `timeout` and its `cache`.

import { ConfigError } from "../errors.ts";
import {
  HELPER_KEYS,
  knownKeys,
  REQUEST_CACHE_KEYS,
  RETRY_KEYS,
  TIMEOUT_KEYS,
} from "./_option_keys.ts";
import {
  type ResolvedRetryOptions,
  validateRetryOptions,
} from "../retry/retry_policy.ts";
import { COMPONENT, positiveMs } from "./_option_values.ts";
import type {
  CacheMode,
  HttpClientRetryOptions,
  RequestCacheOptions,
  TimeoutOptions,
  WaitUntil,
} from "./options.ts";

const CACHE_MODES: ReadonlySet<string> = new Set([
  "default",
  "no-store",
  "reload",
  "no-cache",
  "force-cache",
  "only-if-cached",
]);
const DEFAULT_REQUEST_CACHE: { mode: CacheMode; directives: string } = {
  mode: "default",
  directives: "",
};

/** Timeouts with defaults applied. */
export interface ResolvedTimeouts {
  attemptMs: number;
  totalMs: number | undefined;
}

/**
 * Checks the options a helper (`get`, `post`, ...) was given: an object
 * of known keys, or nothing.
 *
 * @throws {ConfigError} For anything else, naming the key and the closest
 * real one.
 */
export function checkHelperOptions(options: unknown): void {
  if (options === undefined) return;
  if (
    typeof options !== "object" || options === null || Array.isArray(options)
  ) {
    throw new ConfigError("request", "options", options, "an object");
  }
  knownKeys("request", "", options as Record<string, unknown>, HELPER_KEYS);
}

/**
 * Resolves a `timeout` option (client or request level) over defaults.
 * A number is the total deadline.
 */
export function resolveTimeouts(
  value: unknown,
  defaults: ResolvedTimeouts,
  option: string,
  component: string = COMPONENT,
): ResolvedTimeouts {
  if (value === undefined) return defaults;
  if (typeof value === "number") {
    return {
      attemptMs: defaults.attemptMs,
      totalMs: positiveMs(option, value, component),
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      component,
      option,
      value,
      "a number of milliseconds or { attemptMs, totalMs }",
    );
  }
  knownKeys(component, option, value, TIMEOUT_KEYS);
  const { attemptMs, totalMs } = value as TimeoutOptions;
  return {
    attemptMs: attemptMs === undefined
      ? defaults.attemptMs
      : positiveMs(`${option}.attemptMs`, attemptMs, component),
    totalMs: totalMs === undefined
      ? defaults.totalMs
      : positiveMs(`${option}.totalMs`, totalMs, component),
  };
}

/**
 * Checks a request's `waitUntil`.
 *
 * @throws {ConfigError} When it is not a function.
 */
export function resolveWaitUntil(value: unknown): WaitUntil {
  if (typeof value !== "function") {
    throw new ConfigError(
      "request",
      "waitUntil",
      value,
      "a function that takes a promise, such as (promise) => ctx.waitUntil(promise)",
    );
  }
  return value as WaitUntil;
}

/**
 * Resolves the per-request `cache` option into a mode and the request
 * directives it adds.
 */
export function resolveRequestCache(
  value: unknown,
): { mode: CacheMode; directives: string; ttlMs?: number } {
  if (value === undefined) return DEFAULT_REQUEST_CACHE;
  if (typeof value === "string") {
    if (!CACHE_MODES.has(value)) {
      throw new TypeError(
        `Cannot send a request as 'cache' must be a cache mode: received ${
          JSON.stringify(value)
        }`,
      );
    }
    return { mode: value as CacheMode, directives: "" };
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      "Cannot send a request as 'cache' must be a cache mode or an object",
    );
  }
  knownKeys("request", "cache", value, REQUEST_CACHE_KEYS);
  const { mode = "default", maxAge, maxStale, minFresh, ttl } =
    value as RequestCacheOptions;
  if (!CACHE_MODES.has(mode)) {
    throw new TypeError(
      `Cannot send a request as 'cache.mode' must be a cache mode: received ${
        JSON.stringify(mode)
      }`,
    );
  }
  const parts: string[] = [];
  for (
    const [directive, seconds] of [
      ["max-age", maxAge],
      ["max-stale", maxStale],
      ["min-fresh", minFresh],
    ] as const
  ) {
    if (seconds === undefined) continue;
    if (
      typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0
    ) {
      throw new TypeError(
        `Cannot send a request as the cache '${directive}' must be a non-negative number of seconds: received ${seconds}`,
      );
    }
    parts.push(`${directive}=${Math.floor(seconds)}`);
  }
  const directives = parts.join(", ");
  if (ttl === undefined) return { mode, directives };
  if (
    typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0 ||
    ttl > MAX_TTL_SECONDS
  ) {
    throw new ConfigError(
      "request",
      "cache.ttl",
      ttl,
      `a non-negative number of seconds, at most ${MAX_TTL_SECONDS}`,
    );
  }
  return { mode, directives, ttlMs: ttl * 1000 };
}

/** The longest `cache.ttl` whose milliseconds the cache policy accepts. */
export const MAX_TTL_SECONDS: number = Math.floor(
  Number.MAX_SAFE_INTEGER / 2 / 1000,
);

/**
 * The retries of one request: the client's, or the request's `retry` over
 * them (`false` for none; the fields given replace the client's).
 *
 * @throws {ConfigError} When `value` is not `false` nor valid retry options.
 */
export function resolveRequestRetry(
  value: unknown,
  client: ResolvedRetryOptions,
): ResolvedRetryOptions {
  if (value === undefined) return client;
  if (value === false) return { ...client, attempts: 0 };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      "request",
      "retry",
      value,
      "false or an object of retry options",
    );
  }
  knownKeys("request", "retry", value, RETRY_KEYS);
  const given = value as HttpClientRetryOptions;
  return validateRetryOptions(
    {
      attempts: given.attempts ?? client.attempts,
      baseDelayMs: given.baseDelayMs ?? client.baseDelayMs,
      maxDelayMs: given.maxDelayMs ?? client.maxDelayMs,
      methods: given.methods ?? [...client.methods],
      statuses: given.statuses ?? [...client.statuses],
    },
    "request",
    "retry",
  );
}

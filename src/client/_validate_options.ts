// Eager validation of HttpClient options: a bad option fails at
// construction with a ConfigError naming it, never at the first request.

import {
  type CachePolicyOptions,
  validateCachePolicyOptions,
} from "../cache/options.ts";
import { DEFAULT_STORE_TIMEOUT_MS } from "../_store_deadline.ts";
import { type Clock, systemClock } from "../clock.ts";
import { ConfigError } from "../errors.ts";
import type { EventListener } from "../events.ts";
import { RateLimiter } from "../rate_limit/limiter.ts";
import { validClock } from "../stores/_validate.ts";
import {
  type ResolvedRetryOptions,
  validateRetryOptions,
} from "../retry/retry_policy.ts";
import type {
  CacheStore,
  DedupeStore,
  RateLimitStore,
} from "../stores/types.ts";
import type {
  CacheMode,
  FetchLike,
  HttpClientOptions,
  RequestCacheOptions,
  TimeoutOptions,
} from "./options.ts";

const COMPONENT = "HttpClient";
const DEFAULT_ATTEMPT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** `rateLimit.maxWaitMs` when not given, as the RateLimiter applies it. */
const DEFAULT_MAX_WAIT_MS = 60_000;
const MAX_TIMER_MS = 2_147_483_647;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
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

/** Options with defaults applied. */
export interface ResolvedOptions {
  name: string;
  baseUrl: URL | undefined;
  headers: Headers;
  fetch: FetchLike;
  cache: { store: CacheStore<unknown>; policy: CachePolicyOptions } | undefined;
  dedupeStore: DedupeStore<unknown> | undefined;
  limiter: RateLimiter | undefined;
  /** The longest one admission may wait: 0 without a limiter or waiting. */
  admissionWaitMs: number;
  resource: (url: URL) => string;
  retry: ResolvedRetryOptions;
  timeouts: ResolvedTimeouts;
  maxBodyBytes: number;
  storeTimeoutMs: number;
  credentialHeaders: readonly string[];
  onEvent: EventListener | undefined;
  clock: Clock;
}

/** Validates every option; throws ConfigError naming the first bad one. */
export function resolveOptions(options: HttpClientOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(COMPONENT, "options", options, "an object");
  }
  const {
    name,
    baseUrl,
    headers,
    fetch: fetchImpl,
    cache,
    dedupe,
    rateLimit,
    retry,
    timeout,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS,
    credentialHeaders = [],
    onEvent,
    clock = systemClock,
  } = options;

  if (typeof name !== "string" || name.trim() === "") {
    throw new ConfigError(COMPONENT, "name", name, "a non-empty string");
  }

  let base: URL | undefined;
  if (baseUrl !== undefined) {
    try {
      base = new URL(baseUrl);
    } catch {
      throw new ConfigError(COMPONENT, "baseUrl", baseUrl, "an absolute URL");
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new ConfigError(
        COMPONENT,
        "baseUrl",
        baseUrl,
        "an http: or https: URL",
      );
    }
  }

  let defaultHeaders: Headers;
  try {
    defaultHeaders = new Headers(headers);
  } catch {
    throw new ConfigError(COMPONENT, "headers", headers, "valid HeadersInit");
  }

  const transport = fetchImpl ?? globalThis.fetch;
  if (typeof transport !== "function") {
    throw new ConfigError(COMPONENT, "fetch", fetchImpl, "a function");
  }

  let resolvedCache: ResolvedOptions["cache"];
  if (cache !== undefined) {
    _object("cache", cache);
    const store = _store("cache.store", cache.store, [
      "get",
      "set",
      "delete",
      "clear",
    ]);
    const { ttl } = cache;
    if (
      ttl !== undefined &&
      (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0)
    ) {
      throw new ConfigError(
        COMPONENT,
        "cache.ttl",
        ttl,
        "a non-negative number of seconds",
      );
    }
    const policy = validateCachePolicyOptions(
      {
        ...(cache.shared === undefined ? {} : { shared: cache.shared }),
        ...(ttl === undefined ? {} : { defaultTtlMs: ttl * 1000 }),
        ...(cache.overrides === undefined
          ? {}
          : { overrides: cache.overrides }),
        ...(cache.maxHeuristicMs === undefined
          ? {}
          : { maxHeuristicMs: cache.maxHeuristicMs }),
        ...(cache.revalidationStorageMs === undefined
          ? {}
          : { revalidationStorageMs: cache.revalidationStorageMs }),
      },
      COMPONENT,
      "cache",
    );
    resolvedCache = { store: store as CacheStore<unknown>, policy };
  }

  let dedupeStore: DedupeStore<unknown> | undefined;
  if (dedupe !== undefined) {
    _object("dedupe", dedupe);
    dedupeStore = _store("dedupe.store", dedupe.store, [
      "registerOrJoin",
      "waitFor",
      "complete",
      "fail",
    ]) as DedupeStore<unknown>;
  }

  const storeTimeout = _positiveMs("storeTimeoutMs", storeTimeoutMs, COMPONENT);
  const validatedClock = validClock(COMPONENT, clock);

  let limiter: RateLimiter | undefined;
  let admissionWaitMs = 0;
  let resource = (url: URL): string => url.origin;
  if (rateLimit !== undefined) {
    _object("rateLimit", rateLimit);
    const store = _store("rateLimit.store", rateLimit.store, [
      "acquire",
      "getWaitTime",
      "getCooldown",
      "setCooldown",
    ]) as RateLimitStore;
    if (rateLimit.resource !== undefined) {
      if (typeof rateLimit.resource !== "function") {
        throw new ConfigError(
          COMPONENT,
          "rateLimit.resource",
          rateLimit.resource,
          "a function (url: URL) => string",
        );
      }
      const user = rateLimit.resource;
      resource = (url) => {
        const value = user(url);
        if (typeof value !== "string" || value === "") {
          throw new TypeError(
            `HttpClient option 'rateLimit.resource' must return a non-empty string: received ${typeof value}`,
          );
        }
        return value;
      };
    }
    const maxWaitMs = _ms("rateLimit.maxWaitMs", rateLimit.maxWaitMs, true);
    const throwOnLimit = _boolean(
      "rateLimit.throwOnLimit",
      rateLimit.throwOnLimit,
    );
    const failOpen = _boolean("rateLimit.failOpen", rateLimit.failOpen);
    admissionWaitMs = throwOnLimit === true
      ? 0
      : maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    limiter = new RateLimiter({
      store,
      storeTimeoutMs: storeTimeout,
      ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
      ...(throwOnLimit === undefined ? {} : { throwOnLimit }),
      ...(failOpen === undefined ? {} : { failOpen }),
      clock: validatedClock,
    });
  }

  const resolvedRetry = validateRetryOptions(retry, COMPONENT, "retry");

  const timeouts = resolveTimeouts(
    timeout,
    { attemptMs: DEFAULT_ATTEMPT_MS, totalMs: undefined },
    "timeout",
  );

  if (
    typeof maxBodyBytes !== "number" || !Number.isSafeInteger(maxBodyBytes) ||
    maxBodyBytes < 0
  ) {
    throw new ConfigError(
      COMPONENT,
      "maxBodyBytes",
      maxBodyBytes,
      "a non-negative integer",
    );
  }

  if (
    !Array.isArray(credentialHeaders) ||
    !credentialHeaders.every((h) => typeof h === "string" && TOKEN.test(h))
  ) {
    throw new ConfigError(
      COMPONENT,
      "credentialHeaders",
      credentialHeaders,
      "an array of header names",
    );
  }

  if (onEvent !== undefined && typeof onEvent !== "function") {
    throw new ConfigError(COMPONENT, "onEvent", onEvent, "a function");
  }

  return {
    name,
    baseUrl: base,
    headers: defaultHeaders,
    fetch: fetchImpl ?? ((input, init) => globalThis.fetch(input, init)),
    cache: resolvedCache,
    dedupeStore,
    limiter,
    admissionWaitMs,
    resource,
    retry: resolvedRetry,
    timeouts,
    maxBodyBytes,
    storeTimeoutMs: storeTimeout,
    credentialHeaders: [...credentialHeaders],
    onEvent,
    clock: validatedClock,
  };
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
      totalMs: _positiveMs(option, value, component),
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
  const { attemptMs, totalMs } = value as TimeoutOptions;
  return {
    attemptMs: attemptMs === undefined
      ? defaults.attemptMs
      : _positiveMs(`${option}.attemptMs`, attemptMs, component),
    totalMs: totalMs === undefined
      ? defaults.totalMs
      : _positiveMs(`${option}.totalMs`, totalMs, component),
  };
}

/**
 * Resolves the per-request `cache` option into a mode and the request
 * directives it adds.
 */
export function resolveRequestCache(
  value: unknown,
): { mode: CacheMode; directives: string } {
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
  const { mode = "default", maxAge, maxStale, minFresh } =
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
  return { mode, directives: parts.join(", ") };
}

function _object(option: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(COMPONENT, option, value, "an object");
  }
}

function _store(option: string, value: unknown, methods: string[]): object {
  if (typeof value !== "object" || value === null) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a store with methods ${methods.join(", ")}`,
    );
  }
  const missing = methods.filter((m) =>
    typeof (value as Record<string, unknown>)[m] !== "function"
  );
  if (missing.length > 0) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a store with methods ${methods.join(", ")} (missing ${
        missing.join(", ")
      })`,
    );
  }
  return value;
}

function _boolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ConfigError(COMPONENT, option, value, "a boolean");
}

function _ms(
  option: string,
  value: unknown,
  allowZero: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" || !Number.isFinite(value) ||
    value < 0 || (!allowZero && value === 0) || value > MAX_TIMER_MS
  ) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a ${allowZero ? "non-negative" : "positive"} number of milliseconds`,
    );
  }
  return value;
}

function _positiveMs(
  option: string,
  value: unknown,
  component: string,
): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value <= 0 ||
    value > MAX_TIMER_MS
  ) {
    throw new ConfigError(
      component,
      option,
      value,
      "a positive number of milliseconds",
    );
  }
  return value;
}

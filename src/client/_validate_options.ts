// Eager validation of HttpClient options: a bad option fails at
// construction with a ConfigError naming it, never at the first request.

import {
  type CachePolicyOptions,
  type CachePolicyOverrides,
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
  HttpClientCacheOptions,
  HttpClientDedupeOptions,
  HttpClientOptions,
  HttpClientRateLimitOptions,
  HttpClientRetryOptions,
  RequestCacheOptions,
  RequestOptions,
  TimeoutOptions,
} from "./options.ts";

const COMPONENT = "HttpClient";
const DEFAULT_ATTEMPT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** `rateLimit.maxWaitMs` when not given, as the RateLimiter applies it. */
const DEFAULT_MAX_WAIT_MS = 60_000;
const MAX_TIMER_MS = 2_147_483_647;
/** The longest `cache.ttl` whose milliseconds the cache policy accepts. */
const MAX_TTL_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 2 / 1000);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CACHE_MODES: ReadonlySet<string> = new Set([
  "default",
  "no-store",
  "reload",
  "no-cache",
  "force-cache",
  "only-if-cached",
]);

// The keys of each options object sluice reads. A `Record` over the
// interface's keys makes the compiler keep these lists in step with it.
const CLIENT_KEYS: readonly string[] = _keys<HttpClientOptions>({
  name: true,
  baseUrl: true,
  headers: true,
  fetch: true,
  cache: true,
  dedupe: true,
  rateLimit: true,
  retry: true,
  timeout: true,
  maxBodyBytes: true,
  storeTimeoutMs: true,
  credentialHeaders: true,
  onEvent: true,
  clock: true,
});
const CACHE_KEYS: readonly string[] = _keys<HttpClientCacheOptions>({
  store: true,
  ttl: true,
  shared: true,
  overrides: true,
  maxHeuristicMs: true,
  revalidationStorageMs: true,
  staleStorageMs: true,
});
const OVERRIDE_KEYS: readonly string[] = _keys<CachePolicyOverrides>({
  ignoreNoStore: true,
  ignoreNoCache: true,
  minTtlMs: true,
  maxTtlMs: true,
});
const DEDUPE_KEYS: readonly string[] = _keys<HttpClientDedupeOptions>({
  store: true,
});
const RATE_LIMIT_KEYS: readonly string[] = _keys<HttpClientRateLimitOptions>({
  store: true,
  resource: true,
  maxWaitMs: true,
  throwOnLimit: true,
  failOpen: true,
});
const RETRY_KEYS: readonly string[] = _keys<HttpClientRetryOptions>({
  attempts: true,
  baseDelayMs: true,
  maxDelayMs: true,
  methods: true,
  statuses: true,
});
const TIMEOUT_KEYS: readonly string[] = _keys<TimeoutOptions>({
  attemptMs: true,
  totalMs: true,
});
const HELPER_KEYS: readonly string[] = _keys<RequestOptions<unknown>>({
  headers: true,
  signal: true,
  priority: true,
  schema: true,
  cache: true,
  timeout: true,
});
const REQUEST_CACHE_KEYS: readonly string[] = _keys<RequestCacheOptions>({
  mode: true,
  maxAge: true,
  maxStale: true,
  minFresh: true,
});

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
  if (
    typeof options !== "object" || options === null || Array.isArray(options)
  ) {
    throw new ConfigError(
      COMPONENT,
      "options",
      options,
      `an object with a non-empty string 'name', for example { name: "api" }`,
    );
  }
  _knownKeys(COMPONENT, "", options, CLIENT_KEYS);
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
    _knownKeys(COMPONENT, "cache", cache, CACHE_KEYS);
    const { overrides } = cache;
    if (
      typeof overrides === "object" && overrides !== null &&
      !Array.isArray(overrides)
    ) {
      _knownKeys(COMPONENT, "cache.overrides", overrides, OVERRIDE_KEYS);
    }
    const store = _store("cache.store", cache.store, [
      "get",
      "set",
      "delete",
      "clear",
    ]);
    const { ttl } = cache;
    if (
      ttl !== undefined &&
      (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0 ||
        ttl > MAX_TTL_SECONDS)
    ) {
      throw new ConfigError(
        COMPONENT,
        "cache.ttl",
        ttl,
        typeof ttl === "number" && ttl > MAX_TTL_SECONDS
          ? `at most ${MAX_TTL_SECONDS} seconds`
          : "a non-negative number of seconds",
      );
    }
    const policy = validateCachePolicyOptions(
      {
        ...(cache.shared === undefined ? {} : { shared: cache.shared }),
        ...(ttl === undefined ? {} : { defaultTtlMs: ttl * 1000 }),
        ...(overrides === undefined ? {} : { overrides }),
        ...(cache.maxHeuristicMs === undefined
          ? {}
          : { maxHeuristicMs: cache.maxHeuristicMs }),
        ...(cache.revalidationStorageMs === undefined
          ? {}
          : { revalidationStorageMs: cache.revalidationStorageMs }),
        ...(cache.staleStorageMs === undefined
          ? {}
          : { staleStorageMs: cache.staleStorageMs }),
      },
      COMPONENT,
      "cache",
    );
    resolvedCache = { store: store as CacheStore<unknown>, policy };
  }

  let dedupeStore: DedupeStore<unknown> | undefined;
  if (dedupe !== undefined) {
    _object("dedupe", dedupe);
    _knownKeys(COMPONENT, "dedupe", dedupe, DEDUPE_KEYS);
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
    _knownKeys(COMPONENT, "rateLimit", rateLimit, RATE_LIMIT_KEYS);
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

  if (typeof retry === "object" && retry !== null && !Array.isArray(retry)) {
    _knownKeys(COMPONENT, "retry", retry, RETRY_KEYS);
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
  _knownKeys("request", "", options as Record<string, unknown>, HELPER_KEYS);
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
  _knownKeys(component, option, value, TIMEOUT_KEYS);
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
  _knownKeys("request", "cache", value, REQUEST_CACHE_KEYS);
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

function _keys<T>(keys: Record<keyof T, true>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

// Rejects a key sluice does not read, so that a misspelled option fails here
// instead of being ignored. `prefix` is the path of `value`, "" at the top.
function _knownKeys(
  component: string,
  prefix: string,
  value: object,
  known: readonly string[],
): void {
  const path = (key: string): string =>
    prefix === "" ? key : `${prefix}.${key}`;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = _closest(key, known);
    throw new ConfigError(
      component,
      path(key),
      (value as Record<string, unknown>)[key],
      suggestion === undefined
        ? `a known option (${_list(known.map(path))})`
        : `a known option (did you mean '${path(suggestion)}'?)`,
    );
  }
}

// The known key a misspelled one most likely stands for, if any: the same
// key in another case or with separators (`baseURL`, `fail_open`), one a few
// edits away (`attempt`, `timeouts`), or one that starts the same way for at
// least half its length (`ttlSeconds` for `ttl`, `maxWait` for `maxWaitMs`).
function _closest(key: string, known: readonly string[]): string | undefined {
  const typed = _fold(key);
  const limit = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = _distance(typed, _fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  let bestShared = 0;
  let bestGap = Infinity;
  for (const candidate of known) {
    const folded = _fold(candidate);
    let shared = 0;
    while (shared < typed.length && typed[shared] === folded[shared]) shared++;
    const gap = Math.abs(typed.length - folded.length);
    if (
      shared >= 3 && shared * 2 >= folded.length &&
      (shared > bestShared || (shared === bestShared && gap < bestGap))
    ) {
      best = candidate;
      bestShared = shared;
      bestGap = gap;
    }
  }
  return best;
}

function _fold(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

// Edit distance with adjacent transpositions (optimal string alignment).
function _distance(a: string, b: string): number {
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + cost,
      );
      if (
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]
      ) {
        value = Math.min(value, before[j - 2]! + 1);
      }
      current.push(value);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

function _list(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
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

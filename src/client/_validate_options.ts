// Eager validation of HttpClient options: a bad option fails at
// construction with a ConfigError naming it, never at the first request.

import type { HttpClientHooks } from "./hooks.ts";
import { urlShower } from "../observe/redact.ts";
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
import {
  CACHE_KEYS,
  CLIENT_KEYS,
  DEDUPE_KEYS,
  HOOK_KEYS,
  knownKeys,
  OVERRIDE_KEYS,
  RATE_LIMIT_KEYS,
  RETRY_KEYS,
} from "./_option_keys.ts";
import {
  boolean,
  COMPONENT,
  ms,
  object,
  positiveMs,
  store as storeWith,
} from "./_option_values.ts";
import {
  MAX_TTL_SECONDS,
  type ResolvedTimeouts,
  resolveTimeouts,
} from "./_request_options.ts";
import type { FetchLike, HttpClientOptions, WaitUntil } from "./options.ts";

const DEFAULT_ATTEMPT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** `rateLimit.maxWaitMs` when not given, as the RateLimiter applies it. */
const DEFAULT_MAX_WAIT_MS = 60_000;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The transport of a client without `fetch` of its own: the runtime's
 * `fetch` at the time of each call.
 */
export const runtimeFetch: FetchLike = (
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> => globalThis.fetch(input, init);

/** The global `fetch` as it was when sluice loaded. */
const loadedFetch: unknown = globalThis.fetch;

/**
 * Whether `fetch` is the runtime's own, not replaced since sluice loaded
 * (a mock installed by a test, say): its responses are framed by the
 * runtime, so a body that declares its length has that many bytes.
 */
export function isRuntimeFetch(fetch: FetchLike): boolean {
  return fetch === runtimeFetch && globalThis.fetch === loadedFetch;
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
  waitUntil: WaitUntil | undefined;
  /** How events and error messages show a URL (`redactUrls`). */
  showUrl: (url: string) => string;
  hooks: HttpClientHooks | undefined;
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
  knownKeys(COMPONENT, "", options, CLIENT_KEYS);
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
    waitUntil,
    redactUrls = true,
    hooks,
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

  const resolvedCache = cache === undefined ? undefined : _cache(cache);

  let dedupeStore: DedupeStore<unknown> | undefined;
  if (dedupe !== undefined) {
    object("dedupe", dedupe);
    knownKeys(COMPONENT, "dedupe", dedupe, DEDUPE_KEYS);
    dedupeStore = storeWith("dedupe.store", dedupe.store, [
      "registerOrJoin",
      "waitFor",
      "complete",
      "fail",
    ]) as DedupeStore<unknown>;
  }

  const storeTimeout = positiveMs("storeTimeoutMs", storeTimeoutMs, COMPONENT);
  const validatedClock = validClock(COMPONENT, clock);

  const { limiter, admissionWaitMs, resource } = rateLimit === undefined
    ? { limiter: undefined, admissionWaitMs: 0, resource: origin }
    : _rateLimit(rateLimit, storeTimeout, validatedClock);

  if (typeof retry === "object" && retry !== null && !Array.isArray(retry)) {
    knownKeys(COMPONENT, "retry", retry, RETRY_KEYS);
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

  if (waitUntil !== undefined && typeof waitUntil !== "function") {
    throw new ConfigError(
      COMPONENT,
      "waitUntil",
      waitUntil,
      "a function that takes a promise, such as waitUntil from cloudflare:workers",
    );
  }

  if (typeof redactUrls !== "boolean" && typeof redactUrls !== "function") {
    throw new ConfigError(
      COMPONENT,
      "redactUrls",
      redactUrls,
      "true, false or a function from a URL to the text to show",
    );
  }

  if (hooks !== undefined) {
    object("hooks", hooks);
    knownKeys(COMPONENT, "hooks", hooks, HOOK_KEYS);
    for (const name of HOOK_KEYS) {
      const hook = (hooks as Record<string, unknown>)[name];
      if (hook !== undefined && typeof hook !== "function") {
        throw new ConfigError(COMPONENT, `hooks.${name}`, hook, "a function");
      }
    }
  }

  return {
    name,
    baseUrl: base,
    headers: defaultHeaders,
    fetch: fetchImpl ?? runtimeFetch,
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
    waitUntil,
    showUrl: urlShower(redactUrls),
    hooks: hooks === undefined ? undefined : { ...hooks },
  };
}

/** The cache store and policy `cache` asks for. */
function _cache(
  cache: NonNullable<HttpClientOptions["cache"]>,
): NonNullable<ResolvedOptions["cache"]> {
  object("cache", cache);
  knownKeys(COMPONENT, "cache", cache, CACHE_KEYS);
  const { overrides } = cache;
  if (
    typeof overrides === "object" && overrides !== null &&
    !Array.isArray(overrides)
  ) {
    knownKeys(COMPONENT, "cache.overrides", overrides, OVERRIDE_KEYS);
  }
  const store = storeWith("cache.store", cache.store, [
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
  const { ttlStatuses } = cache;
  if (
    ttlStatuses !== undefined &&
    (!Array.isArray(ttlStatuses) ||
      !ttlStatuses.every((s) =>
        typeof s === "number" && Number.isInteger(s) && s >= 200 && s <= 599
      ))
  ) {
    throw new ConfigError(
      COMPONENT,
      "cache.ttlStatuses",
      ttlStatuses,
      "an array of final HTTP status codes (200-599)",
    );
  }
  const policy = validateCachePolicyOptions(
    {
      ...(cache.shared === undefined ? {} : { shared: cache.shared }),
      ...(ttl === undefined ? {} : { defaultTtlMs: ttl * 1000 }),
      ...(cache.ttlStatuses === undefined
        ? {}
        : { defaultTtlStatuses: cache.ttlStatuses }),
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
  return { store: store as CacheStore<unknown>, policy };
}

/** The limiter `rateLimit` asks for, and how long one admission may wait. */
function _rateLimit(
  rateLimit: NonNullable<HttpClientOptions["rateLimit"]>,
  storeTimeout: number,
  clock: Clock,
): Pick<ResolvedOptions, "limiter" | "admissionWaitMs" | "resource"> {
  let resource = origin;
  object("rateLimit", rateLimit);
  knownKeys(COMPONENT, "rateLimit", rateLimit, RATE_LIMIT_KEYS);
  const store = storeWith("rateLimit.store", rateLimit.store, [
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
  const maxWaitMs = ms("rateLimit.maxWaitMs", rateLimit.maxWaitMs, true);
  const throwOnLimit = boolean(
    "rateLimit.throwOnLimit",
    rateLimit.throwOnLimit,
  );
  const failOpen = boolean("rateLimit.failOpen", rateLimit.failOpen);
  const admissionWaitMs = throwOnLimit === true
    ? 0
    : maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const limiter = new RateLimiter({
    store,
    storeTimeoutMs: storeTimeout,
    ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    ...(throwOnLimit === undefined ? {} : { throwOnLimit }),
    ...(failOpen === undefined ? {} : { failOpen }),
    clock,
  });
  return { limiter, admissionWaitMs, resource };
}

function origin(url: URL): string {
  return url.origin;
}

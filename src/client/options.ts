/**
 * The options of {@linkcode HttpClient} and of each request.
 *
 * @module
 */

import type { HttpClientHooks } from "./hooks.ts";
import type { RedactUrls } from "../observe/redact.ts";
import type { CachePolicyOverrides } from "../cache/options.ts";
import type { Clock } from "../clock.ts";
import type { EventListener } from "../events.ts";
import type {
  AdaptiveRateLimitStore,
  CacheStore,
  DedupeStore,
  RateLimitStore,
} from "../stores/types.ts";

/**
 * A function with the shape of `fetch`. {@linkcode HttpClient.fetch} is one,
 * so a client can be handed to anything that takes a `fetch`.
 */
export type FetchLike = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/**
 * Hands a promise to the platform, which keeps the work it stands for
 * running after the response has been returned: `ctx.waitUntil` on
 * Cloudflare Workers (or `waitUntil` from `cloudflare:workers`), the
 * `waitUntil` of `@vercel/functions` or of a `FetchEvent`.
 */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** Caching options of a client: an RFC 9111 private (or shared) cache. */
export interface HttpClientCacheOptions {
  /** Where responses are stored. The client never closes it. */
  store: CacheStore<unknown>;
  /**
   * The freshness lifetime, in seconds, given to responses that carry no
   * explicit freshness (`max-age`, `s-maxage`, `Expires`) but may be
   * cached. It takes precedence over heuristic freshness.
   *
   * @default {undefined} (heuristic freshness: 10% of the time since
   * `Last-Modified`, at most a day)
   */
  ttl?: number;
  /**
   * The statuses `ttl` applies to. Other responses without explicit
   * freshness keep heuristic freshness.
   *
   * @default {undefined} (every heuristically cacheable status: 200, 203,
   * 204, 300, 301, 308, 404, 405, 410, 414, 501)
   */
  ttlStatuses?: readonly number[];
  /**
   * Behave as a shared cache (`s-maxage`, `proxy-revalidate`, no `private`
   * responses, and no responses to requests with `Authorization` unless the
   * origin allows). Credentials are always part of the key either way.
   *
   * @default {false}
   */
  shared?: boolean;
  /**
   * Overrides of the origin's directives. Use with care.
   *
   * @default {{}}
   */
  overrides?: CachePolicyOverrides;
  /**
   * The cap of heuristic freshness, in milliseconds; `0` turns it off.
   *
   * @default {86_400_000}
   */
  maxHeuristicMs?: number;
  /**
   * How long, in milliseconds, a stale entry with a validator (`ETag`,
   * `Last-Modified`) is kept for a cheap conditional revalidation.
   *
   * @default {86_400_000}
   */
  revalidationStorageMs?: number;
  /**
   * How long, in milliseconds, a stale entry is kept for requests that
   * accept a stale response: `max-stale` (as a request header or
   * `cache: { maxStale }`), a request's `stale-if-error`, and the
   * `force-cache` and `only-if-cached` modes. A request's `max-stale`
   * without a value (any staleness) is thus served entries at most this
   * stale, unless a validator keeps them longer (`revalidationStorageMs`).
   * Entries that may never be served stale (`must-revalidate`, `no-cache`)
   * or were never fresh (`max-age=0`, or no freshness at all) are not kept
   * for it. `0` keeps entries without a validator only while fresh or
   * within their own `stale-while-revalidate` or `stale-if-error`.
   *
   * @default {3_600_000} (1 hour)
   */
  staleStorageMs?: number;
}

/** De-duplication options of a client. */
export interface HttpClientDedupeOptions {
  /**
   * Shares flights with other processes using the same store. In-process
   * de-duplication needs no store and is always on for GET and HEAD. The
   * client never closes it.
   *
   * A store that fails never holds a key: a wait for another process's
   * flight is bounded (see `storeTimeoutMs`), an owner whose `complete`
   * fails calls `fail`, and a registration that answers after
   * `storeTimeoutMs` and makes the client owner is released with `fail`.
   */
  store: DedupeStore<unknown>;
}

/** Rate-limiting options of a client. */
export interface HttpClientRateLimitOptions {
  /**
   * Counts admissions and holds server cooldowns. Each scope of the client
   * has its own budget; a server cooldown holds back the client and all
   * its scopes. An {@linkcode AdaptiveRateLimitStore} also gets each
   * request's priority. The client never closes it.
   */
  store: RateLimitStore | AdaptiveRateLimitStore;
  /**
   * Maps a request URL to the rate-limited resource.
   *
   * @default {(url) => url.origin}
   */
  resource?: (url: URL) => string;
  /**
   * The longest a request waits for budget or a server cooldown, in
   * milliseconds. A wait known to be longer fails at once with
   * {@linkcode RateLimitError}.
   *
   * @default {60_000}
   */
  maxWaitMs?: number;
  /**
   * Fail at once with {@linkcode RateLimitError} instead of waiting.
   *
   * @default {false}
   */
  throwOnLimit?: boolean;
  /**
   * When the store fails: send the request anyway (`true`, reported as an
   * `error` event) or fail with {@linkcode StoreError} (`false`).
   *
   * @default {true}
   */
  failOpen?: boolean;
}

/** Retry options of a client. */
export interface HttpClientRetryOptions {
  /**
   * How many times a failed attempt is retried (so at most `attempts + 1`
   * origin calls).
   *
   * @default {2}
   */
  attempts?: number;
  /**
   * The base of the exponential backoff, in milliseconds: retry `n` waits a
   * random time up to `baseDelayMs * 2 ** (n - 1)` (full jitter).
   *
   * @default {100}
   */
  baseDelayMs?: number;
  /**
   * The longest backoff, in milliseconds. A `Retry-After` longer than this
   * is not waited for: the response is returned as is.
   *
   * @default {10_000}
   */
  maxDelayMs?: number;
  /**
   * The methods that are retried.
   *
   * @default {["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]}
   */
  methods?: readonly string[];
  /**
   * The statuses that are retried.
   *
   * @default {[408, 429, 500, 502, 503, 504]}
   */
  statuses?: readonly number[];
}

/** Deadlines of a request. */
export interface TimeoutOptions {
  /**
   * The deadline of one attempt, in milliseconds, from sending the request
   * until its body has been read whenever the client reads it: to cache it
   * or share it, and in the data helpers (`get()` and the others), however
   * large the body.
   *
   * When `client.fetch` hands the body over as a stream, the attempt ends
   * with the headers; from then on each read of the body may wait at most
   * `attemptMs` for the origin, or the body fails with a
   * {@linkcode TimeoutError} (phase `"attempt"`). The time between the
   * caller's reads does not count, and an event stream
   * (`text/event-stream`) has no bound on its reads.
   *
   * @default {30_000}
   */
  attemptMs?: number;
  /**
   * The deadline of the whole call, in milliseconds: waits for budget,
   * every attempt and backoff, and the reading of the body, whoever reads
   * it. A body still being read when it passes fails with a
   * {@linkcode TimeoutError} (phase `"total"`).
   *
   * @default {undefined} (none)
   */
  totalMs?: number;
}

/**
 * Options of {@linkcode HttpClient}. A key that is none of these, in this
 * object or in one of its option objects (`cache`, `cache.overrides`,
 * `dedupe`, `rateLimit`, `retry`, `timeout`), is taken for a misspelling:
 * the constructor throws {@linkcode ConfigError} naming it and, when one is
 * close, the option it likely means.
 */
export interface HttpClientOptions {
  /**
   * The client's name. It prefixes every store key, so clients sharing a
   * store never read each other's entries. A non-empty string.
   */
  name: string;
  /**
   * Resolves relative request URLs.
   *
   * @default {undefined}
   */
  baseUrl?: string | URL;
  /**
   * Headers sent with every request, in any form `fetch` takes. A request's
   * own headers win.
   *
   * @default {undefined}
   */
  headers?: NonNullable<RequestInit["headers"]>;
  /**
   * The transport.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * Turns on the cache.
   *
   * @default {undefined} (no cache)
   */
  cache?: HttpClientCacheOptions;
  /**
   * Shares flights across processes through a store.
   *
   * @default {undefined} (in-process de-duplication only)
   */
  dedupe?: HttpClientDedupeOptions;
  /**
   * Turns on rate limiting.
   *
   * @default {undefined} (no rate limit)
   */
  rateLimit?: HttpClientRateLimitOptions;
  /**
   * Retries of idempotent requests, or `false` for none.
   *
   * @default {{ attempts: 2 }}
   */
  retry?: HttpClientRetryOptions | false;
  /**
   * Deadlines. A number is the total deadline in milliseconds.
   *
   * @default {{ attemptMs: 30_000 }}
   */
  timeout?: number | TimeoutOptions;
  /**
   * The largest body the client buffers, in bytes, to cache it or share it
   * with de-duplicated callers. Larger bodies are never stored: `fetch`
   * streams them to its caller, and the data helpers (`get`, `post`, ...)
   * fail with {@linkcode BodyTooLargeError} without reading past the limit
   * (nor at all when `Content-Length` declares more).
   *
   * @default {10_485_760} (10 MiB)
   */
  maxBodyBytes?: number;
  /**
   * The longest the client waits for one store operation (a cache read or
   * write, a dedupe registration, a rate-limit check), in milliseconds. A
   * store slower than this counts as failing: the cache and dedupe fail
   * open, the rate limiter follows `rateLimit.failOpen`. A request's own
   * signal and deadline stop such a wait at once.
   *
   * A wait for a flight another process owns (`DedupeStore.waitFor`) lasts
   * at most as long as that flight may take by the request's deadlines: one
   * admission wait (`rateLimit.maxWaitMs`; none without `rateLimit` or with
   * `throwOnLimit`), one attempt (`timeout.attemptMs`), then
   * `storeTimeoutMs` for its result to come through the store. Past that,
   * an `error` event (stage `"dedupe"`, a {@linkcode StoreError} for
   * `"waitFor"`) reports it and the request is sent without the store. A
   * request whose total deadline comes first fails with its
   * {@linkcode TimeoutError} instead.
   *
   * @default {5_000}
   */
  storeTimeoutMs?: number;
  /**
   * Request headers, besides `Authorization` and `Cookie`, whose values
   * identify a user. Their values are hashed into every key, so two users
   * never share a cache entry or a flight.
   *
   * @default {[]}
   */
  credentialHeaders?: readonly string[];
  /**
   * Receives every event. It may throw or reject: that never breaks a
   * request.
   *
   * @default {undefined}
   */
  onEvent?: EventListener;
  /**
   * The time source of the cache, the events and the rate limiter. When it
   * has `sleep()`, the client's waits are measured on it too: the attempt
   * and total deadlines (`timeout`), the backoffs between retries, the
   * rate limiter's waits (budget, cooldown and `maxWaitMs`), the store
   * deadlines (`storeTimeoutMs`) and the wait for another process's
   * flight. A clock with
   * `now()` alone has those waits made on real timers. With a
   * `ManualClock`, a deadline or a backoff ends only when the test moves
   * the clock past it.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * Hands work that outlives a response to the platform, where a request's
   * unfinished work is cut off once its handler has returned (Cloudflare
   * Workers, Vercel Functions): a background revalidation
   * (`stale-while-revalidate`), and the shared request of identical
   * concurrent callers, which then still ends for the others when the
   * caller it was sent for has gone. Give a function that finds the
   * current request itself, such as `waitUntil` from `cloudflare:workers`
   * or from `@vercel/functions`; a request's own `waitUntil` option
   * replaces it.
   *
   * Without one, such platforms cut a background revalidation off, and no
   * other starts while it would still be running: the stale entry is
   * served until its `stale-while-revalidate` window ends, then refreshed
   * by the next request. A request also never joins a shared request
   * whose own caller has gone or that nobody waits for: it sends its own.
   * A caller that joined before the other left waits until the platform
   * or its own signal or deadline ends it, so give requests a `timeout`.
   *
   * @default {undefined}
   */
  waitUntil?: WaitUntil;
  /**
   * How request URLs appear in events and in error messages (and the `url`
   * of `HttpError` and `BodyTooLargeError`): `true` replaces the value of
   * every query parameter with `REDACTED` and keeps the names, so that an
   * `?api_key=…` stays out of logs; `false` shows URLs in full; a function
   * gets the full URL and returns what to show (when it throws or returns
   * no string, the default redaction applies). Responses keep their full
   * `url`, and what is sent is never changed.
   *
   * @default {true}
   */
  redactUrls?: RedactUrls;
  /**
   * Hooks into each attempt at the origin: change its headers, turn a
   * response into an error, decide on retries. See
   * {@linkcode HttpClientHooks} for where each runs.
   *
   * @default {undefined}
   */
  hooks?: HttpClientHooks;
}

export type {
  CacheMode,
  HttpRequestInit,
  RequestCacheOptions,
  RequestOptions,
  StandardSchemaIssue,
  StandardSchemaResult,
  StandardSchemaV1,
} from "./request_options.ts";

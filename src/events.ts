/**
 * The events an {@linkcode HttpClient} reports through its `onEvent` option.
 *
 * Every event is a plain object discriminated on `type`. Events carry keys,
 * resources, statuses and timings; they never carry bodies or header values.
 * A listener that throws, or returns a promise that rejects, never breaks a
 * request: the error is swallowed.
 *
 * @example Counting cache hits
 * ```ts
 * import type { SluiceEvent } from "@sluice/http";
 *
 * let hits = 0;
 * const onEvent = (event: SluiceEvent): void => {
 *   if (event.type === "cache.hit") hits++;
 * };
 * onEvent({ type: "cache.hit", client: "api", time: 0, requestId: "r1", method: "GET", url: "https://example.com/", key: "api:cache:1", ageMs: 0 });
 * console.log(hits); // 1
 * ```
 *
 * @module
 */

import type { Priority } from "./stores/types.ts";

/** Fields every event carries. */
export interface BaseEvent {
  /** The store key prefix of the client or scope that emitted the event. */
  client: string;
  /** When the event happened, from the client's clock (ms since the epoch). */
  time: number;
}

/** Fields of events that concern one request. */
export interface RequestScopedEvent extends BaseEvent {
  /**
   * The call's id: every event of one call carries the same one, so that
   * its events pair into one span. A background revalidation carries the id
   * of the call that started it. Unique within the process, and random
   * across processes.
   */
  requestId: string;
  /** The request method, upper case. */
  method: string;
  /**
   * The normalised request URL, with query values and user info redacted
   * unless the client's `redactUrls` option says otherwise.
   */
  url: string;
}

/** A request entered the client. */
export interface RequestEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "request";
  /** The request's traffic class. */
  priority: Priority;
}

/** Where the response handed to a caller came from. */
export type ResponseSource =
  | "network"
  | "cache"
  | "revalidated"
  | "stale"
  | "dedupe";

/** A response was handed to a caller. */
export interface ResponseEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "response";
  /** The HTTP status handed to the caller. */
  status: number;
  /** Where the response came from. */
  source: ResponseSource;
  /** Time from the request entering the client to the response, in ms. */
  durationMs: number;
  /** Origin attempts this caller made itself (0 for hits and joiners). */
  attempts: number;
  /**
   * For a joiner (`source: "dedupe"`), the `requestId` of the call that
   * owned the flight, when it ran in this process.
   */
  ownerRequestId?: string;
}

/** A fresh cache entry answered a request. */
export interface CacheHitEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.hit";
  /** The cache key of the entry. */
  key: string;
  /** The entry's current age, in ms. */
  ageMs: number;
}

/**
 * Why a request could not be answered from the cache:
 *
 * - `"absent"`: the store holds nothing under the request's key.
 * - `"vary"`: the store holds responses for the URL, but none for the
 *   values of the request headers they vary on.
 * - `"corrupt"`: what the store handed back is not an entry this client can
 *   serve (a wrong shape or type, a header name or value `Headers` refuses).
 *   It is deleted, and an `error` event of stage `"cache"` reports it.
 * - `"bypass"`: the request's cache mode skips stored responses (`reload`).
 * - `"range"`: a stored response exists, but cannot answer the request's
 *   `Range` itself (several ranges, another unit, a malformed field, an
 *   `If-Range` it does not match, or a content-coded body); the origin does.
 * - `"store-error"`: the store failed or did not answer within
 *   `storeTimeoutMs`; an `error` event reports it.
 */
export type CacheMissReason =
  | "absent"
  | "vary"
  | "corrupt"
  | "bypass"
  | "range"
  | "store-error";

/** No usable cache entry answered a request. */
export interface CacheMissEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.miss";
  /** The cache key that was looked up. */
  key: string;
  /** Why it missed. */
  reason: CacheMissReason;
}

/** What the client does with a stale entry. */
export type CacheStaleAction =
  | "serve-and-revalidate"
  | "revalidate"
  | "serve-on-error";

/** A stored entry was found but is stale. */
export interface CacheStaleEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.stale";
  /** The cache key of the entry. */
  key: string;
  /** The entry's current age, in ms. */
  ageMs: number;
  /** What the client does with it. */
  action: CacheStaleAction;
}

/** A stale entry was revalidated with the origin. */
export interface CacheRevalidatedEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.revalidated";
  /** The cache key of the entry. */
  key: string;
  /** The origin's status: 304 when the stored body is still valid. */
  status: number;
  /** Whether the revalidation ran in the background. */
  background: boolean;
  /** How long the revalidation took, in ms. */
  durationMs: number;
}

/**
 * A response was written to the cache, and the store said it kept it (a
 * store whose `set` resolves to nothing is taken to have kept it).
 */
export interface CacheStoredEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.stored";
  /** The cache key of the entry. */
  key: string;
  /** The time to live given to the store, in seconds. */
  ttlSeconds: number;
  /** The stored body size, in bytes. */
  bytes: number;
  /**
   * How many cache tags the entry was stored with, when the request had
   * any. The tags themselves are never in events: they are labels of your
   * choosing, which may name users.
   */
  tagCount?: number;
}

/**
 * Why a response was not written to the cache:
 *
 * - `"not-storable"`: its directives or status forbid storing it.
 * - `"too-large"`: its body is larger than `maxBodyBytes`.
 * - `"validation-failed"`: its data failed the request's schema.
 * - `"store-refused"`: the cache store was asked to keep it and answered
 *   that it did not (for example a value larger than the store's byte
 *   bound). For a response with `Vary`, the store refused the variant or
 *   the index that leads to it; no index is written for a refused variant.
 */
export type CacheSkipReason =
  | "not-storable"
  | "too-large"
  | "validation-failed"
  | "store-refused";

/** A response that could have been cached was not. */
export interface CacheSkippedEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cache.skipped";
  /** The cache key the response would have had. */
  key: string;
  /** Why it was not stored. */
  reason: CacheSkipReason;
}

/** Where a flight is shared: within this process or through a dedupe store. */
export type FlightScope = "process" | "distributed";

/** A request became the owner of a flight and will call the origin. */
export interface DedupeOwnerEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "dedupe.owner";
  /** The flight key. */
  key: string;
  /** Where the flight is shared. */
  scope: FlightScope;
}

/** A request joined a flight owned by another request. */
export interface DedupeJoinedEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "dedupe.joined";
  /** The flight key. */
  key: string;
  /** Where the flight is shared. */
  scope: FlightScope;
  /** How long the joiner waited for the owner, in ms. */
  waitedMs: number;
  /**
   * The `requestId` of the call that owns the flight, when it runs in this
   * process (a distributed owner's id is not known).
   */
  ownerRequestId?: string;
}

/** A request waits for rate budget. */
export interface RateLimitWaitEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "ratelimit.wait";
  /** The rate-limit resource (store key). */
  resource: string;
  /** The traffic class. */
  priority: Priority;
  /** How long the client sleeps before asking again, in ms. */
  waitMs: number;
}

/** A request was refused because waiting for budget was not allowed or too long. */
export interface RateLimitRejectedEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "ratelimit.rejected";
  /** The rate-limit resource (store key). */
  resource: string;
  /** The traffic class. */
  priority: Priority;
  /** How long until the budget admits again, in ms. */
  retryAfterMs: number;
  /** Whether the budget was spent or the server asked for a cooldown. */
  reason: "limit" | "cooldown";
}

/** A server cooldown was learned from a response, or is being waited out. */
export interface CooldownEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "cooldown";
  /** The rate-limit resource (store key). */
  resource: string;
  /** The cooldown length, in ms. */
  cooldownMs: number;
  /** `"set"` when learned from a response, `"wait"` when a request sleeps through it. */
  action: "set" | "wait";
}

/** An attempt failed and the request will be retried. */
export interface RetryEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "retry";
  /** The number of the attempt that failed (1 for the first). */
  attempt: number;
  /** The backoff before the next attempt, in ms. */
  delayMs: number;
  /** The status that failed, or `undefined` for a network error. */
  status?: number;
  /** The name of the network error, when there was one. */
  errorName?: string;
}

/**
 * The limit a server announced on a response (`RateLimit`,
 * `RateLimit-Policy`, `RateLimit-*`, `X-RateLimit-*`), as far as it did.
 */
export interface AnnouncedLimit {
  /** The quota of the server's window. */
  limit?: number;
  /** What is left of it. */
  remaining?: number;
  /** Milliseconds until it resets. */
  resetMs?: number;
  /** The length of the server's window, in ms, when it names one. */
  windowMs?: number;
}

/**
 * One attempt at the origin ended: its response headers arrived, or it
 * failed (a network error or a timeout). Every request sent to the origin
 * emits one, retries and revalidations included, so counting them counts
 * origin calls.
 */
export interface OriginEvent extends RequestScopedEvent {
  /** Discriminant. */
  type: "origin";
  /** The attempt's number within its call (1 for the first). */
  attempt: number;
  /** The status, or `undefined` when the attempt failed without one. */
  status?: number;
  /** The name of the error when the attempt failed without a status. */
  errorName?: string;
  /** From sending the request to its response headers or failure, in ms. */
  durationMs: number;
  /** Whether the request was conditional (a revalidation). */
  conditional: boolean;
  /** Whether no caller waits for it (a background revalidation). */
  background: boolean;
  /** The rate-limit resource the attempt was admitted on, when rate limited. */
  resource?: string;
  /** The limit the server announced on its response, when it announced one. */
  announced?: AnnouncedLimit;
}

/** The part of the pipeline that failed. */
export type ErrorStage = "cache" | "dedupe" | "ratelimit" | "fetch";

/** Something failed. Store failures are reported here even when the request still succeeds. */
export interface ErrorEvent extends BaseEvent {
  /** Discriminant. */
  type: "error";
  /** The call's id, when the error concerns a request. */
  requestId?: string;
  /** The request method, when the error concerns a request. */
  method?: string;
  /** The request URL (redacted like every event's), when the error concerns a request. */
  url?: string;
  /** The part of the pipeline that failed. */
  stage: ErrorStage;
  /** Whether the client carried on without the failed part. */
  failedOpen: boolean;
  /** The error. */
  error: unknown;
}

/** Every event an {@linkcode HttpClient} emits, discriminated on `type`. */
export type SluiceEvent =
  | RequestEvent
  | ResponseEvent
  | CacheHitEvent
  | CacheMissEvent
  | CacheStaleEvent
  | CacheRevalidatedEvent
  | CacheStoredEvent
  | CacheSkippedEvent
  | DedupeOwnerEvent
  | DedupeJoinedEvent
  | RateLimitWaitEvent
  | RateLimitRejectedEvent
  | CooldownEvent
  | RetryEvent
  | OriginEvent
  | ErrorEvent;

/** The `type` of every event. */
export type SluiceEventType = SluiceEvent["type"];

/**
 * Receives events. It may return a promise; a throw or a rejection is
 * swallowed and never reaches the request.
 */
export type EventListener = (event: SluiceEvent) => void | Promise<void>;

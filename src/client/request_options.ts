/**
 * The options of one request: the `init` of {@linkcode HttpClient.fetch},
 * the options of the helpers, and the schemas they validate with.
 *
 * @module
 */

import type { Priority } from "../stores/types.ts";
import type {
  HttpClientRetryOptions,
  TimeoutOptions,
  WaitUntil,
} from "./options.ts";

/** How the cache treats one request, as in the Fetch standard's `RequestInit.cache`. */
export type CacheMode =
  | "default"
  | "no-store"
  | "reload"
  | "no-cache"
  | "force-cache"
  | "only-if-cached";

/** Per-request cache options. */
export interface RequestCacheOptions {
  /**
   * How the cache treats the request:
   *
   * - `"default"`: RFC 9111 (fresh hits, revalidation, storing).
   * - `"no-store"`: neither read nor write the cache.
   * - `"reload"`: skip the stored response, store the new one.
   * - `"no-cache"`: revalidate any stored response with the origin first.
   * - `"force-cache"`: use a stored response however stale, else fetch.
   * - `"only-if-cached"`: use a stored response however stale, else answer
   *   504 without contacting the origin.
   *
   * @default {"default"}
   */
  mode?: CacheMode;
  /**
   * Accept a stored response at most this old, in seconds (request
   * `max-age`).
   *
   * @default {undefined}
   */
  maxAge?: number;
  /**
   * Accept a stored response this many seconds past its freshness (request
   * `max-stale`).
   *
   * @default {undefined}
   */
  maxStale?: number;
  /**
   * Require a stored response to stay fresh at least this many more seconds
   * (request `min-fresh`).
   *
   * @default {undefined}
   */
  minFresh?: number;
  /**
   * The freshness lifetime, in seconds, given to this request's response
   * when the origin gives it none: the client's `cache.ttl`, for this
   * request (and only for the statuses of `cache.ttlStatuses`). It applies
   * when the response is stored, so it stays with the entry; joiners of
   * this request's flight share its entry.
   *
   * @default {undefined} (the client's `cache.ttl`)
   */
  ttl?: number;
}

/**
 * The `init` of {@linkcode HttpClient.fetch}: a `RequestInit` whose
 * `priority` is the rate-limit traffic class and whose `cache` may also be
 * an object of {@linkcode RequestCacheOptions}. Every `RequestInit` is one,
 * so {@linkcode HttpClient.fetch} has the type of `fetch`.
 */
export interface HttpRequestInit
  extends Omit<RequestInit, "cache" | "priority"> {
  /**
   * The traffic class, for an {@linkcode AdaptiveRateLimitStore}. The
   * Fetch standard's priorities map to it: `"high"` is `"user"`, `"low"`
   * and `"auto"` are `"background"`.
   *
   * @default {"background"}
   */
  priority?: Priority | "high" | "low" | "auto";
  /**
   * The cache mode, or per-request cache options.
   *
   * @default {"default"}
   */
  cache?: CacheMode | RequestCacheOptions;
  /**
   * Deadlines of this request: each one given replaces the client's, and
   * the other stays. A number is the total deadline in milliseconds.
   *
   * @default {undefined} (the client's)
   */
  timeout?: number | TimeoutOptions;
  /**
   * Hands this request's background work to the platform, replacing the
   * client's `waitUntil`: on Cloudflare Workers,
   * `(promise) => ctx.waitUntil(promise)`.
   *
   * @default {undefined} (the client's)
   */
  waitUntil?: WaitUntil;
  /**
   * Retries of this request: `false` for none, or options whose fields
   * replace the client's (the others stay). Callers that join this
   * request's flight get its outcome, retries included.
   *
   * @default {undefined} (the client's)
   */
  retry?: false | HttpClientRetryOptions;
  /**
   * Cache tags for the entry this request's response is stored as, so
   * that {@linkcode HttpClient.invalidateTags} of any of them drops it, in
   * every process sharing the cache store. Each a non-empty string of at
   * most 256 UTF-16 code units, at most 64 (duplicates count once); they
   * are this client's or scope's, as its cache keys are. A response with
   * `Vary` tags the variant it is stored as. A refresh of the entry (a 304,
   * a background revalidation) keeps its tags and adds this request's; a
   * response served from the cache attaches nothing. Needs a cache store
   * with tag support (every sluice store has it); with another store the
   * request fails with a `ConfigError`. Without a cache they are ignored.
   *
   * @default {undefined}
   */
  tags?: readonly string[];
}

/** A Standard Schema v1 validation issue. */
export interface StandardSchemaIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where it is wrong. */
  readonly path?:
    | ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>
    | undefined;
}

/** The result of a Standard Schema v1 validation. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

/**
 * Any Standard Schema v1 validator (zod, valibot, arktype and others). The
 * core needs no validation library.
 *
 * @typeParam Output The validated data.
 */
export interface StandardSchemaV1<Output = unknown> {
  /** The Standard Schema interface. */
  readonly "~standard": {
    /** The version of the standard: 1. */
    readonly version: 1;
    /** The library that implements it. */
    readonly vendor: string;
    /** Validates a value, possibly asynchronously. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  };
}

/**
 * Options of the helpers ({@linkcode HttpClient.get} and the others).
 *
 * @typeParam T The data the helper returns.
 */
export interface RequestOptions<T = unknown> {
  /**
   * Request headers, in any form `fetch` takes, added to the client's.
   *
   * @default {undefined}
   */
  headers?: NonNullable<RequestInit["headers"]>;
  /**
   * Cancels the request (or this caller's wait for a shared one); the call
   * rejects with the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The traffic class, for an {@linkcode AdaptiveRateLimitStore}.
   *
   * @default {"background"}
   */
  priority?: Priority;
  /**
   * Validates the data. Data that fails throws
   * {@linkcode ValidationError} and is not cached.
   *
   * @default {undefined}
   */
  schema?: StandardSchemaV1<T>;
  /**
   * The cache mode, or per-request cache options.
   *
   * @default {"default"}
   */
  cache?: CacheMode | RequestCacheOptions;
  /**
   * Deadlines of this request: each one given replaces the client's, and
   * the other stays. A number is the total deadline in milliseconds.
   *
   * @default {undefined} (the client's)
   */
  timeout?: number | TimeoutOptions;
  /**
   * Hands this request's background work to the platform, replacing the
   * client's `waitUntil`: on Cloudflare Workers,
   * `(promise) => ctx.waitUntil(promise)`.
   *
   * @default {undefined} (the client's)
   */
  waitUntil?: WaitUntil;
  /**
   * Retries of this request: `false` for none, or options whose fields
   * replace the client's (the others stay).
   *
   * @default {undefined} (the client's)
   */
  retry?: false | HttpClientRetryOptions;
  /**
   * Cache tags for the entry this request's response is stored as, so
   * that {@linkcode HttpClient.invalidateTags} of any of them drops it, in
   * every process sharing the cache store. Each a non-empty string of at
   * most 256 UTF-16 code units, at most 64 (duplicates count once); they
   * are this client's or scope's, as its cache keys are. A response with
   * `Vary` tags the variant it is stored as. A refresh of the entry (a 304,
   * a background revalidation) keeps its tags and adds this request's; a
   * response served from the cache attaches nothing. Needs a cache store
   * with tag support (every sluice store has it); with another store the
   * request fails with a `ConfigError`. Without a cache they are ignored.
   *
   * @default {undefined}
   */
  tags?: readonly string[];
}

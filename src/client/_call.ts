// One request as the pipeline sees it: what the caller asked for (the spec,
// fixed once the client normalised it) and the little the pipeline learns on
// the way (the state). Also the shapes every stage hands to the next.

import type { CachedResponse } from "../cache/entry.ts";
import type { CachePolicyOptions } from "../cache/options.ts";
import type { ResolvedRetryOptions } from "../retry/retry_policy.ts";
import type { ResponseSource } from "../events.ts";
import type { Priority } from "../stores/types.ts";
import type { CacheMode, WaitUntil } from "./options.ts";
import type { RangeRequest } from "./_range.ts";

/** A client or scope: its key prefix and its closed state. */
export interface Scope {
  /** The name, then one `scopeKeyPart(key, id)` per scope, joined by `:`. */
  readonly prefix: string;
  closed: boolean;
}

/** The result of a validation hook. */
export type Validated =
  | { ok: true; value: unknown }
  | { ok: false; error: unknown };

/** Validates the data of a 2xx response before it is stored. */
export type Validate = (
  body: Uint8Array | string,
  contentType: string | null,
) => Promise<unknown>;

/** A buffered response that may be shared: plain data plus the body. */
export interface Raw {
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** What a request produced. */
export type Outcome =
  | {
    kind: "entry";
    entry: CachedResponse;
    ageSeconds: number;
    source: ResponseSource;
    attempts: number;
    validated?: Validated | undefined;
  }
  | {
    kind: "raw";
    raw: Raw;
    source: ResponseSource;
    attempts: number;
    validated?: Validated | undefined;
  }
  | {
    kind: "response";
    response: Response;
    source: ResponseSource;
    attempts: number;
    /** Whether the response's body stream clears the call's total timer. */
    ownsTimer: boolean;
  };

/** What the caller asked for, normalised by the client. */
export interface CallSpec {
  readonly scope: Scope;
  /** The call's id in events ("" when no listener is set). */
  readonly requestId: string;
  readonly method: string;
  /** The normalised URL: the key and what is sent. */
  readonly url: string;
  /** The URL as events and error messages show it (`redactUrls`). */
  readonly shownUrl: string;
  readonly headers: Headers;
  /** Headers for cache decisions (with per-request directives added). */
  readonly evalHeaders: Headers;
  /** The headers sent to the origin (with the cache mode's directives added). */
  readonly sentHeaders: Headers;
  /** The credential part of the key (see `KeyHasher.credentials`). */
  readonly credentials: string;
  readonly body: BodyInit | null;
  /** Whether the body can be sent again (it is not a stream). */
  readonly retryableBody: boolean;
  readonly init: RequestInit | undefined;
  readonly signal: AbortSignal | undefined;
  readonly mode: CacheMode;
  readonly attemptMs: number;
  readonly totalMs: number | undefined;
  /** The retries of this call: the client's, or the request's over them. */
  readonly retry: ResolvedRetryOptions;
  /** The cache policy its response is stored with (a request's `ttl` over the client's). */
  readonly cachePolicy: CachePolicyOptions | undefined;
  /** `performance.now()` at entry (0 when no event needs it). */
  readonly started: number;
  readonly validate: Validate | undefined;
  /**
   * Whether the caller takes the body as data (a helper), not as a stream:
   * the client reads it in full, so the attempt's deadline covers the whole
   * body, and a body larger than `maxBodyBytes` fails the call instead of
   * being streamed.
   */
  readonly buffered: boolean;
  /** Whether it is background work (a revalidation) no caller waits for. */
  readonly background: boolean;
  /** Hands work that outlives the response to the platform (the request's, else the client's). */
  readonly waitUntil: WaitUntil | undefined;
  /** The request's cache tags in the store's form (see `scopedTags`), if any. */
  readonly tags: readonly string[] | undefined;
}

/** What the pipeline learns about a call on the way. */
export interface CallState {
  /** Raised to `"user"` when a user request joins its flight. */
  priority: Priority;
  /** Whether an attempt is on the wire (not waiting for budget or a backoff). */
  sending: boolean;
  /** Aborts when the total deadline passes. */
  totalSignal?: AbortSignal | undefined;
  /** When the total deadline passes, by the clock deadlines are measured on. */
  totalEndsAt?: number | undefined;
  /** Cancels the total deadline. */
  release?: (() => void) | undefined;
  /** The rate-limit resource of this client or scope. */
  resource?: string | undefined;
  /** Where cooldowns of the resource are kept: shared by every scope. */
  cooldownResource?: string | undefined;
  /** `headers` as Vary sees them (credentials replaced). */
  varyHeaders?: Headers | undefined;
  /** Whether the cache store failed this call's read: it is not read again. */
  cacheFailed?: boolean | undefined;
  /**
   * Whether the request carries fields that make its answer partial or
   * conditional (`Range`, `If-None-Match`, ...): it has flights of its own.
   */
  selecting?: boolean | undefined;
  /** What a GET's `Range` asks of a stored response. */
  range?: RangeRequest | undefined;
  /** The `requestId` of the flight's owner, once this call joined it. */
  ownerRequestId?: string | undefined;
}

/** One request as the pipeline sees it. */
export interface Call extends CallSpec {
  readonly state: CallState;
}

/** A cache entry and the key it was read from. */
export interface Found {
  entry: CachedResponse;
  storeKey: string;
}

/** A stored entry that must be revalidated before it is served. */
export interface Stale extends Found {
  /** Whether `stale-if-error` lets it answer when the origin fails. */
  staleIfError: boolean;
}

/** What a flight hands to every request waiting for it. */
export interface FlightResult {
  outcome: Outcome;
  /** The varied request fields of the request that made the flight. */
  vary: Record<string, string | null>;
}

/** The age of an entry at `now`, in milliseconds. */
export function ageMs(entry: CachedResponse, now: number): number {
  return entry.initialAgeMs + Math.max(0, now - entry.responseTime);
}

/** An outcome that serves a stored entry. */
export function entryOutcome(
  entry: CachedResponse,
  now: number,
  source: ResponseSource,
  attempts = 0,
  validated?: Validated,
): Outcome {
  return {
    kind: "entry",
    entry,
    ageSeconds: Math.floor(ageMs(entry, now) / 1000),
    source,
    attempts,
    validated,
  };
}

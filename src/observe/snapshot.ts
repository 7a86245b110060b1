/**
 * The shapes {@linkcode Metrics.snapshot} returns: what the client's events
 * add up to, per client and scope, over a rolling window and since start.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ErrorStage, ResponseSource, SluiceEvent } from "../events.ts";

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /**
   * The length of the rolling window, in ms (default 60 000). The window
   * moves in tenths of its length.
   */
  windowMs?: number;
  /** The time the window is measured on (default: the system clock). */
  clock?: Clock;
  /**
   * How many clients and scopes get series of their own (default 100). The
   * events of any further ones add up under {@linkcode OTHER_CLIENTS}.
   */
  maxClients?: number;
  /**
   * How many rate-limit resources each client reports (default 50). The
   * events of any further ones add up under {@linkcode OTHER_RESOURCES}.
   */
  maxResources?: number;
  /** How many recent errors are kept (default 20). */
  recentErrors?: number;
}

/** The series that counts clients beyond `maxClients`. */
export const OTHER_CLIENTS = "(other clients)";

/** The resource that counts resources beyond `maxResources`. */
export const OTHER_RESOURCES = "(other resources)";

/** Waits for rate budget, counted per call. */
export interface WaitMetrics {
  /** Calls that waited at least once. */
  count: number;
  /** The time they waited, added up, in ms. */
  totalMs: number;
  /** The 95th percentile of one call's wait, in ms (0 with no waits). */
  p95Ms: number;
  /** The longest wait of one call, in ms. */
  maxMs: number;
}

/** How long callers waited for their responses (`response.durationMs`). */
export interface LatencyMetrics {
  /** Responses measured. */
  count: number;
  /** Their mean duration, in ms (0 with none). */
  meanMs: number;
  /** The median, in ms. */
  p50Ms: number;
  /** The 95th percentile, in ms. */
  p95Ms: number;
  /** The 99th percentile, in ms. */
  p99Ms: number;
  /** The longest, in ms. */
  maxMs: number;
}

/** What one client's events add up to over a span of time. */
export interface MetricsCounts {
  /** Calls that entered the client (`request` events). */
  calls: number;
  /** Responses handed to callers, by where they came from. */
  responses: Record<ResponseSource, number>;
  /** Calls that ended in an error instead of a response. */
  failures: number;
  /** Requests sent to the origin (`origin` events), retries and revalidations included. */
  originCalls: number;
  /** Of `originCalls`, those no caller waited for (background revalidations). */
  backgroundOriginCalls: number;
  /** Fresh cache entries served (`cache.hit`). */
  hits: number;
  /** Stale entries served (`cache.stale` with `serve-and-revalidate` or `serve-on-error`). */
  staleServed: number;
  /** Cache lookups that found nothing usable (`cache.miss`). */
  misses: number;
  /** Revalidations with the origin (`cache.revalidated`). */
  revalidations: number;
  /** Of `revalidations`, those the origin answered with 304. */
  notModified: number;
  /** Calls that joined another call's flight (`dedupe.joined`). */
  joins: number;
  /** Responses written to the cache (`cache.stored`). */
  stored: number;
  /** Waits for rate budget. */
  waits: WaitMetrics;
  /** Calls refused for want of budget or by a cooldown (`ratelimit.rejected`). */
  rejections: number;
  /** Server cooldowns learned from responses (`cooldown` with action `set`). */
  cooldowns: number;
  /** Attempts retried (`retry`). */
  retries: number;
  /** Store failures (`error` events of stage cache, dedupe or ratelimit). */
  storeErrors: number;
  /**
   * Cache lookups answered from the cache, fresh or stale, over all cache
   * lookups (hits, stale entries found, misses); 0 when there were none.
   */
  hitRatio: number;
  /**
   * Calls answered without an origin call of their own: fresh hits, stale
   * entries served, and joins.
   */
  originCallsSaved: number;
  /** How long callers waited for their responses. */
  latency: LatencyMetrics;
}

/** What one rate-limit resource's events add up to, since start. */
export interface ResourceMetrics {
  /** The resource (store key), as events name it. */
  resource: string;
  /** Requests admitted on it that reached the origin. */
  originCalls: number;
  /** Waits for its budget (`ratelimit.wait` events). */
  waits: number;
  /** The time slept waiting for its budget, in ms. */
  waitedMs: number;
  /** Calls it refused. */
  rejections: number;
  /** Cooldowns the server set on it. */
  cooldowns: number;
  /** When its last cooldown ends, by the metrics' clock (0 when none was set). */
  cooldownUntil: number;
}

/** One client or scope: its counts over the window and since start. */
export interface ClientMetrics {
  /** The client's or scope's key prefix, as events name it, or {@linkcode OTHER_CLIENTS}. */
  client: string;
  /** Counts over the rolling window. */
  window: MetricsCounts;
  /** Counts since start (or the last `reset`). */
  total: MetricsCounts;
  /** Its rate-limit resources, most recently used first. */
  resources: ResourceMetrics[];
}

/** An error an event reported, without the error object itself. */
export interface RecentError {
  /** When it happened (the event's time). */
  time: number;
  /** The client or scope. */
  client: string;
  /** The call, when the error concerns one. */
  requestId?: string;
  /** The request method, when the error concerns a request. */
  method?: string;
  /** The request URL as the event carried it (redacted by default). */
  url?: string;
  /** The part of the pipeline that failed. */
  stage: ErrorStage;
  /** Whether the client carried on without the failed part. */
  failedOpen: boolean;
  /** The error's `name` (`"Error"` for a value that has none). */
  name: string;
  /**
   * The error's `code`: a `SluiceError`'s, or any other string `code` the
   * error carries (a runtime's network error may carry one).
   */
  code?: string;
  /** The error's message, cut to 300 characters. */
  message: string;
}

/** Everything the metrics hold, at one time. */
export interface MetricsSnapshot {
  /** When it was taken, by the metrics' clock. */
  time: number;
  /** When counting started (creation or the last `reset`). */
  since: number;
  /** The rolling window's length, in ms. */
  windowMs: number;
  /** Every client and scope seen, by key prefix. */
  clients: ClientMetrics[];
  /** The most recent errors, newest first. */
  recentErrors: RecentError[];
}

/** Counts a client's events: pass `onEvent` to the client, read `snapshot()`. */
export interface Metrics {
  /** The listener to pass as the client's `onEvent`. It never throws. */
  readonly onEvent: (event: SluiceEvent) => void;
  /** What the events added up to so far; a copy the caller may keep. */
  snapshot(): MetricsSnapshot;
  /** Forgets every count, as if just created. */
  reset(): void;
}

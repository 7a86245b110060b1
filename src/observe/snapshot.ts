/**
 * The shapes {@linkcode Metrics.snapshot} returns: what the client's events
 * add up to, per client and scope, over a rolling window and since start.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ErrorStage, ResponseSource, SluiceEvent } from "../events.ts";

/**
 * Options of `createMetrics`.
 *
 * @example A five-minute window, and room for many tenants
 * ```ts
 * import { createMetrics, type MetricsOptions } from "@sluice/http";
 *
 * const options: MetricsOptions = { windowMs: 300_000, maxClients: 500 };
 * const metrics = createMetrics(options);
 * console.log(metrics.snapshot().windowMs); // 300000
 * ```
 */
export interface MetricsOptions {
  /**
   * The length of the rolling window, in ms: a finite number of at least
   * 10. The window moves in tenths of its length, so it covers between nine
   * and ten tenths of it.
   *
   * @default {60_000}
   */
  windowMs?: number;
  /**
   * The time the window is measured on: read at every event and snapshot
   * (no timer runs).
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * How many clients and scopes get series of their own, a positive
   * integer. The events of any further ones add up under
   * {@linkcode OTHER_CLIENTS}.
   *
   * @default {100}
   */
  maxClients?: number;
  /**
   * How many rate-limit resources each client reports, a positive integer.
   * The events of any further ones add up under {@linkcode OTHER_RESOURCES}.
   *
   * @default {50}
   */
  maxResources?: number;
  /**
   * How many recent errors are kept, a non-negative integer (0 keeps none).
   *
   * @default {20}
   */
  recentErrors?: number;
}

/**
 * The series that counts clients beyond `maxClients`.
 *
 * @example Telling the overflow apart
 * ```ts
 * import { createMetrics, OTHER_CLIENTS } from "@sluice/http";
 *
 * const metrics = createMetrics({ maxClients: 1 });
 * for (const client of ["a", "b", "c"]) {
 *   metrics.onEvent({ type: "request", client, time: 0, requestId: client, method: "GET", url: "https://example.com/", priority: "user" });
 * }
 * const names = metrics.snapshot().clients.map((c) => c.client);
 * console.log(names); // ["a", "(other clients)"]
 * console.log(names[1] === OTHER_CLIENTS); // true
 * ```
 */
export const OTHER_CLIENTS = "(other clients)";

/**
 * The resource that counts resources beyond `maxResources`.
 *
 * @example Skipping the overflow
 * ```ts
 * import { createMetrics, OTHER_RESOURCES } from "@sluice/http";
 *
 * const metrics = createMetrics();
 * for (const { resources } of metrics.snapshot().clients) {
 *   const named = resources.filter((r) => r.resource !== OTHER_RESOURCES);
 *   console.log(named.length);
 * }
 * ```
 */
export const OTHER_RESOURCES = "(other resources)";

/**
 * Waits for rate budget, counted per call: the waits of one call
 * (`ratelimit.wait` events with its `requestId`) add up to one wait, counted
 * when the call ends (its `response`, or the error it fails with).
 *
 * @example The mean wait of the calls that waited
 * ```ts
 * import { createMetrics, type WaitMetrics } from "@sluice/http";
 *
 * const meanWait = (w: WaitMetrics): number => w.count === 0 ? 0 : w.totalMs / w.count;
 * for (const { client, window } of createMetrics().snapshot().clients) {
 *   console.log(client, meanWait(window.waits), window.waits.p95Ms);
 * }
 * ```
 */
export interface WaitMetrics {
  /** Calls that waited at least once. */
  count: number;
  /** The time they waited, added up, in ms. */
  totalMs: number;
  /**
   * The 95th percentile of one call's wait, in ms (0 with no waits), within
   * about 9% of the exact value.
   */
  p95Ms: number;
  /** The longest wait of one call, in ms. */
  maxMs: number;
}

/**
 * How long callers waited for their responses (`response.durationMs`).
 * Percentiles come from a log-scale histogram: each is within about 9% of
 * the exact value, and never outside the smallest and largest durations.
 *
 * @example Reporting the tail
 * ```ts
 * import { createMetrics, type LatencyMetrics } from "@sluice/http";
 *
 * const line = (l: LatencyMetrics): string =>
 *   `n=${l.count} p50=${l.p50Ms.toFixed(1)} p99=${l.p99Ms.toFixed(1)} max=${l.maxMs.toFixed(1)} ms`;
 * for (const { client, window } of createMetrics().snapshot().clients) {
 *   console.log(client, line(window.latency));
 * }
 * ```
 */
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

/**
 * What one client's events add up to over a span of time.
 *
 * @example The headline numbers of the last window
 * ```ts
 * import { createMetrics, type MetricsCounts } from "@sluice/http";
 *
 * const headline = (c: MetricsCounts): string =>
 *   `${c.calls} calls, ${c.originCalls} to the origin, ${c.originCallsSaved} saved, ` +
 *   `hit ratio ${(c.hitRatio * 100).toFixed(0)}%`;
 * for (const { client, window } of createMetrics().snapshot().clients) {
 *   console.log(client, headline(window));
 * }
 * ```
 */
export interface MetricsCounts {
  /** Calls that entered the client (`request` events). */
  calls: number;
  /** Responses handed to callers, by where they came from. */
  responses: Record<ResponseSource, number>;
  /**
   * Calls that ended in an error instead of a response (`error` events with
   * `failedOpen: false`, one per call). Aborted calls end with neither.
   */
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
  /**
   * Store failures: `error` events of stage cache, dedupe or ratelimit,
   * except a refusal for want of budget (a `RateLimitError`, counted in
   * `rejections`) and the error a call ends with when it repeats the store
   * failure just reported for the same call.
   */
  storeErrors: number;
  /**
   * Cache lookups answered from the cache, fresh or stale, over all cache
   * lookups (hits, stale entries found, misses); 0 when there were none.
   * That is (`hits` + `staleServed`) over (`hits` + `cache.stale` events of
   * action `revalidate` or `serve-and-revalidate` + `misses`): a stale
   * entry served after the origin failed (`serve-on-error`) answers a lookup
   * already counted.
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

/**
 * What one rate-limit resource's events add up to, since start.
 *
 * @example Resources in a cooldown now
 * ```ts
 * import { createMetrics } from "@sluice/http";
 *
 * const snapshot = createMetrics().snapshot();
 * for (const { client, resources } of snapshot.clients) {
 *   for (const r of resources) {
 *     if (r.cooldownUntil > snapshot.time) console.log(client, r.resource, r.cooldownUntil - snapshot.time);
 *   }
 * }
 * ```
 */
export interface ResourceMetrics {
  /** The resource (store key), as events name it. */
  resource: string;
  /** Requests admitted on it that reached the origin (`origin` events). */
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

/**
 * One client or scope: its counts over the window and since start.
 *
 * @example One line per scope
 * ```ts
 * import { type ClientMetrics, createMetrics } from "@sluice/http";
 *
 * const line = (m: ClientMetrics): string =>
 *   `${m.client}: ${m.window.calls} calls in the window, ${m.total.calls} since start`;
 * console.log(createMetrics().snapshot().clients.map(line).join("\n"));
 * ```
 */
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

/**
 * An error an event reported, without the error object itself: no stack,
 * no cause.
 *
 * @example Printing the latest errors
 * ```ts
 * import { createMetrics } from "@sluice/http";
 *
 * for (const e of createMetrics().snapshot().recentErrors) {
 *   console.log(new Date(e.time).toISOString(), e.stage, e.code ?? e.name, e.message);
 * }
 * ```
 */
export interface RecentError {
  /** When it happened (the event's time). */
  time: number;
  /** The client or scope. */
  client: string;
  /** The call, when the error concerns one. */
  requestId?: string;
  /** The request method, when the error concerns a request. */
  method?: string;
  /**
   * The request URL as the event carried it (redacted by default), cut to
   * 2 048 characters.
   */
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

/**
 * Everything the metrics hold, at one time: plain data, which
 * `JSON.stringify` keeps whole.
 *
 * @example Serving the snapshot as JSON
 * ```ts
 * import { createMetrics, type MetricsSnapshot } from "@sluice/http";
 *
 * const metrics = createMetrics();
 * const handler = (): Response => Response.json(metrics.snapshot());
 * const snapshot: MetricsSnapshot = await handler().json();
 * console.log(snapshot.windowMs); // 60000
 * ```
 */
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

/**
 * Counts a client's events: pass `onEvent` to the client, read `snapshot()`.
 *
 * @example Several clients into one set of metrics
 * ```ts
 * import { createMetrics, HttpClient, type Metrics } from "@sluice/http";
 *
 * const metrics: Metrics = createMetrics();
 * const github = new HttpClient({ name: "github", onEvent: metrics.onEvent });
 * const search = new HttpClient({ name: "search", onEvent: metrics.onEvent });
 * // ... calls ...
 * console.log(metrics.snapshot().clients.map((c) => c.client));
 * metrics.reset();
 * await github.close();
 * await search.close();
 * ```
 */
export interface Metrics {
  /** The listener to pass as the client's `onEvent`. It never throws. */
  readonly onEvent: (event: SluiceEvent) => void;
  /** What the events added up to so far; a copy the caller may keep. */
  snapshot(): MetricsSnapshot;
  /** Forgets every count, as if just created. */
  reset(): void;
}

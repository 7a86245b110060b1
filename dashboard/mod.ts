/**
 * `@sluice/http/dashboard`: a live, read-only page of what sluice clients
 * do, for one look at "how many origin calls did the cache and the flights
 * save, and how close am I to the rate limit". It shows, per client and
 * scope, the hit ratio, origin calls saved, calls, origin calls, latency,
 * waits for rate budget, rejections, retries and store errors; per
 * rate-limit resource, the budget used, when it resets, the adaptive split
 * and its reason, and the server's cooldown; the flights in progress; and
 * the recent errors.
 *
 * {@linkcode createDashboard} returns a web-standard handler
 * (`(request, info?) => Promise<Response>`) for `Deno.serve`, `Bun.serve`
 * or a Worker, and {@linkcode toNodeListener} serves it from `node:http`.
 * The page is one inline document with no external resource; its numbers
 * come from a JSON route that needs a bearer token. It never shows a body,
 * a header value or a credential, and nothing can be deleted or reset
 * through it.
 *
 * @example Serving the dashboard with node:http
 * ```ts
 * import { createServer } from "node:http";
 * import { createMetrics, HttpClient, MemoryCacheStore } from "@sluice/http";
 * import { createDashboard, toNodeListener } from "@sluice/http/dashboard";
 *
 * const metrics = createMetrics();
 * const api = new HttpClient({
 *   name: "api",
 *   cache: { store: new MemoryCacheStore() },
 *   onEvent: metrics.onEvent,
 * });
 * const token = crypto.randomUUID();
 * const dashboard = createDashboard({ clients: [api], metrics, token });
 * const server = createServer(toNodeListener(dashboard));
 * server.listen(8787, "127.0.0.1", () => {
 *   console.log(`http://127.0.0.1:8787/#token=${token}`);
 * });
 * ```
 *
 * @module
 */

export * from "./dashboard.ts";
export type { ClientStatus, ResourceStatus } from "../src/client/status.ts";
export type {
  AdaptiveRateLimitStatus,
  RateLimitConfig,
  RateLimitStatus,
} from "../src/stores/types.ts";
export type {
  ClientMetrics,
  LatencyMetrics,
  MetricsCounts,
  MetricsSnapshot,
  RecentError,
  ResourceMetrics,
  WaitMetrics,
} from "../src/observe/snapshot.ts";
export type {
  AnnouncedLimit,
  ErrorStage,
  ResponseSource,
} from "../src/events.ts";
export * from "./node_listener.ts";

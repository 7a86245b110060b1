/**
 * The RFC 9111 cache policy of sluice: pure, synchronous functions that
 * decide what may be stored, when a stored response may be served, how to
 * validate it and what an unsafe request invalidates. They do no I/O; the
 * client pipeline calls them around its store.
 *
 * @example Storing and serving a response
 * ```ts
 * import { createCachedResponse, evaluate, isStorable, toResponse } from "./mod.ts";
 *
 * const request = new Request("https://api.example.com/users");
 * const response = new Response("[]", { headers: { "cache-control": "max-age=60" } });
 * if (isStorable(request, response, {})) {
 *   const entry = createCachedResponse({
 *     url: request.url, method: request.method, requestHeaders: request.headers,
 *     status: response.status, statusText: response.statusText, headers: response.headers,
 *     body: new Uint8Array(await response.arrayBuffer()), requestTime: 0, responseTime: 0,
 *   }, {});
 *   const decision = evaluate(new Headers(), entry, 5_000);
 *   if (decision.kind === "fresh") console.log(await toResponse(entry, decision).text()); // "[]"
 * }
 * ```
 *
 * @module
 */

export * from "./cache_control.ts";
export * from "./entry.ts";
export * from "./evaluate.ts";
export {
  currentAgeMs,
  freshnessLifetimeMs,
  HEURISTICALLY_CACHEABLE,
  initialAgeMs,
  isHeuristicallyCacheable,
} from "./freshness.ts";
export type { FreshnessInput } from "./freshness.ts";
export * from "./http_date.ts";
export * from "./invalidation.ts";
export * from "./key.ts";
export * from "./options.ts";
export * from "./request.ts";
export * from "./storability.ts";
export * from "./storage_ttl.ts";
export * from "./validation.ts";
export * from "./vary.ts";

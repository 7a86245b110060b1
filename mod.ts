/**
 * sluice puts an RFC 9111 cache, request de-duplication and rate limiting in
 * front of `fetch`, backed by pluggable stores so that many processes share
 * one cache, one set of in-flight requests and one rate budget.
 *
 * This entry point holds {@linkcode HttpClient}, the memory stores, the
 * store decorators (encrypted, compressed, tiered, fallback, retrying,
 * monitored), the store contracts, the events and the metrics built from
 * them, the errors and the clock.
 *
 * @example A cached, de-duplicated, rate-limited client
 * ```ts
 * import {
 *   HttpClient,
 *   MemoryAdaptiveRateLimitStore,
 *   MemoryCacheStore,
 *   MemoryDedupeStore,
 * } from "@sluice/http";
 *
 * const github = new HttpClient({
 *   name: "github",
 *   baseUrl: "https://api.github.com/",
 *   headers: { accept: "application/vnd.github+json" },
 *   cache: { store: new MemoryCacheStore() },
 *   dedupe: { store: new MemoryDedupeStore() },
 *   rateLimit: {
 *     store: new MemoryAdaptiveRateLimitStore({
 *       defaultConfig: { limit: 60, windowMs: 3_600_000 },
 *     }),
 *   },
 *   timeout: { attemptMs: 10_000, totalMs: 30_000 },
 * });
 *
 * // Identical concurrent calls make one request; a fresh answer is cached.
 * const repo = await github.get<{ stargazers_count: number }>(
 *   "repos/denoland/deno",
 *   { priority: "user" },
 * );
 * console.log(repo.stargazers_count);
 *
 * // A drop-in for fetch, for SDKs that take one.
 * const response = await github.fetch("rate_limit");
 * console.log(response.status);
 * await github.close();
 * ```
 *
 * @module
 */

export * from "./src/client/http_client.ts";
export type * from "./src/client/options.ts";
export type * from "./src/client/hooks.ts";
export * from "./src/client/presets.ts";
export type * from "./src/client/status.ts";
export type { CachePolicyOverrides } from "./src/cache/options.ts";
export type * from "./src/events.ts";
export * from "./src/observe/metrics.ts";
export * from "./src/observe/snapshot.ts";
export { REDACTED, redactUrl, type RedactUrls } from "./src/observe/redact.ts";
export * from "./src/errors.ts";
export * from "./src/clock.ts";
export type * from "./src/stores/types.ts";
export type * from "./src/stores/store_events.ts";
export type * from "./src/stores/blob_backend.ts";
export type { Payload, PayloadEncoding } from "./src/stores/_payload.ts";
export * from "./src/stores/blob_cache_store.ts";
export type * from "./src/stores/lease.ts";
export * from "./src/stores/lease_dedupe_store.ts";
export type * from "./src/stores/rate_window.ts";
export * from "./src/stores/window_rate_limit_store.ts";
export * from "./src/stores/window_adaptive_rate_limit_store.ts";
export * from "./src/stores/memory/cache_store.ts";
export * from "./src/stores/memory/dedupe_store.ts";
export * from "./src/stores/memory/rate_limit_store.ts";
export * from "./src/stores/memory/adaptive_rate_limit_store.ts";
export type * from "./src/stores/compose/compression_options.ts";
export type * from "./src/stores/compose/encryption_options.ts";
export * from "./src/stores/compose/encrypted_cache_store.ts";
export * from "./src/stores/compose/encrypted_dedupe_store.ts";
export * from "./src/stores/compose/compressed_cache_store.ts";
export * from "./src/stores/compose/tiered_cache_store.ts";
export * from "./src/stores/compose/fallback_cache_store.ts";
export * from "./src/stores/compose/retrying_cache_store.ts";
export * from "./src/stores/compose/monitored_cache_store.ts";
export {
  type AdaptiveConfig,
  DEFAULT_ADAPTIVE_CONFIG,
} from "./src/rate_limit/adaptive_policy.ts";

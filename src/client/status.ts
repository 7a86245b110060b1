/**
 * What {@linkcode HttpClient.status} tells about a client right now: its
 * flights in progress, and the rate budget and server cooldown of each
 * resource it sent requests on lately.
 *
 * @module
 */

import type { AnnouncedLimit } from "../events.ts";
import type {
  AdaptiveRateLimitStatus,
  RateLimitConfig,
  RateLimitStatus,
} from "../stores/types.ts";

/** The rate budget and cooldown of one resource, as the store reports them. */
export interface ResourceStatus {
  /**
   * The resource's key in the rate-limit store, as
   * {@linkcode HttpClient.rateLimitResource} gives it.
   */
  resource: string;
  /**
   * The store's `getStatus(resource, "user")`: `remaining` is what an
   * interactive request may still take in the window. An adaptive store
   * adds its split between `"user"` and `"background"` traffic and the
   * reason for it. Omitted when the store failed to answer.
   */
  status?: RateLimitStatus | AdaptiveRateLimitStatus;
  /**
   * How long the server's cooldown on the resource still runs, in ms
   * (`getCooldown`; `0` when none runs or the store failed to answer).
   */
  cooldownMs: number;
  /** Why the store's answer is missing, when it failed or timed out. */
  error?: string;
  /**
   * The budget the client is configured with for the resource (the
   * store's `getResourceConfig`).
   */
  configured?: RateLimitConfig;
  /**
   * The limit the server last announced for the resource on a response
   * (`RateLimit`, `RateLimit-Policy`, `X-RateLimit-*`), and when (`at`, ms
   * since the epoch on the client's clock); `resetMs` and `remaining` are
   * as of then.
   */
  server?: AnnouncedLimit & { at: number };
  /**
   * Whether the configured budget asks for more than the server allows:
   * a higher rate (limit per window) when the server names its window, or
   * a limit above the server's quota when it does not (GitHub's
   * `X-RateLimit-Limit` names none). Absent when the server announced no
   * limit, or the store gave no configuration.
   */
  aboveServer?: boolean;
}

/** What {@linkcode HttpClient.status} returns. */
export interface ClientStatus {
  /** The client's name (a scope has its root client's). */
  name: string;
  /** The key prefix of the client or scope ({@linkcode HttpClient.keyPrefix}). */
  keyPrefix: string;
  /** Whether the client or scope was closed. */
  closed: boolean;
  /**
   * GET and HEAD flights of the client or scope, and of its scopes, in
   * progress in this process: one per distinct request on its way to the
   * origin, whatever the number of callers waiting for it, background
   * revalidations included.
   */
  flights: number;
  /**
   * The rate-limit resources the client or scope (and its scopes) asked
   * admission on lately, most recent first. A client remembers the last 64
   * resources of itself and all its scopes together.
   */
  resources: ResourceStatus[];
}

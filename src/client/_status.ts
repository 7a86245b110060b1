// HttpClient.status(): the flights a client or scope has in progress, and
// what the rate-limit store says of the resources it asked admission on
// lately. Every store call is bounded by storeTimeoutMs; a store that fails
// or hangs gives an error for its resource, never a rejection.

import { storeCall } from "../_store_deadline.ts";
import type {
  AdaptiveRateLimitStatus,
  RateLimitConfig,
  RateLimitStatus,
} from "../stores/types.ts";
import type { Engine, Scope } from "./_engine.ts";
import type { ClientStatus, ResourceStatus } from "./status.ts";

/** The longest error message a status carries. */
const MAX_ERROR_LENGTH = 300;

/** The status of the client or scope `scope` of `engine`. */
export async function clientStatus(
  engine: Engine,
  scope: Scope,
): Promise<ClientStatus> {
  const { config } = engine;
  const limiter = config.limiter;
  const resources: Promise<ResourceStatus>[] = [];
  if (limiter !== undefined) {
    const own = `${scope.prefix}:`;
    for (const [resource, cooldownResource] of limiter.recent()) {
      if (!resource.startsWith(own)) continue;
      resources.push(_resource(engine, resource, cooldownResource));
    }
  }
  return {
    name: config.name,
    keyPrefix: scope.prefix,
    closed: engine.isClosed(scope),
    flights: engine.flights(scope.prefix),
    resources: await Promise.all(resources),
  };
}

async function _resource(
  engine: Engine,
  resource: string,
  cooldownResource: string,
): Promise<ResourceStatus> {
  const { limiter, storeTimeoutMs, clock } = engine.config;
  const store = limiter!.store;
  const [status, cooldown] = await Promise.allSettled([
    storeCall(
      "getStatus",
      () => {
        if (typeof store.getStatus !== "function") {
          throw new TypeError("The rate-limit store has no getStatus()");
        }
        return store.getStatus(resource, "user");
      },
      storeTimeoutMs,
      undefined,
      clock,
    ).then(_status),
    storeCall(
      "getCooldown",
      () => store.getCooldown(cooldownResource),
      storeTimeoutMs,
      undefined,
      clock,
    ).then(_cooldown),
  ]);
  const out: ResourceStatus = {
    resource,
    cooldownMs: cooldown.status === "fulfilled" ? cooldown.value : 0,
  };
  if (status.status === "fulfilled") out.status = status.value;
  _compare(engine, resource, out);
  const failed = status.status === "rejected"
    ? status.reason
    : cooldown.status === "rejected"
    ? cooldown.reason
    : undefined;
  if (failed !== undefined) out.error = _message(failed);
  return out;
}

// A copy of the fields a status has, checked: a store's answer may be
// anything, and nothing else it carries is passed on.
function _status(value: unknown): RateLimitStatus | AdaptiveRateLimitStatus {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      "The rate-limit store answered getStatus() with no status",
    );
  }
  const v = value as Record<string, unknown>;
  const remaining = _number(v.remaining, "remaining");
  const limit = _number(v.limit, "limit");
  const reset = v.resetTime instanceof Date
    ? v.resetTime
    : typeof v.resetTime === "number" || typeof v.resetTime === "string"
    ? new Date(v.resetTime)
    : new Date(Number.NaN);
  if (Number.isNaN(reset.getTime())) {
    throw new TypeError(
      "The rate-limit store answered getStatus() with an invalid 'resetTime'",
    );
  }
  const base: RateLimitStatus = { remaining, resetTime: reset, limit };
  if (!("userReserved" in v) && !("backgroundMax" in v)) return base;
  return {
    ...base,
    userReserved: _number(v.userReserved, "userReserved"),
    backgroundMax: _number(v.backgroundMax, "backgroundMax"),
    backgroundPaused: v.backgroundPaused === true,
    recentUserActivity: typeof v.recentUserActivity === "number" &&
        Number.isFinite(v.recentUserActivity)
      ? v.recentUserActivity
      : 0,
    reason: typeof v.reason === "string"
      ? v.reason.slice(0, MAX_ERROR_LENGTH)
      : "",
  };
}

function _number(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(
      `The rate-limit store answered getStatus() with an invalid '${field}'`,
    );
  }
  return value;
}

function _cooldown(value: unknown): number {
  return typeof value === "number" && value > 0 && Number.isFinite(value)
    ? value
    : 0;
}

function _message(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
  } catch {
    text = "The rate-limit store failed";
  }
  return text.length > MAX_ERROR_LENGTH
    ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…`
    : text;
}

// What the client is configured with for `resource`, what its server last
// announced, and whether the first asks for more than the second.
function _compare(engine: Engine, resource: string, out: ResourceStatus): void {
  const server = engine.announced(resource);
  let configured: RateLimitConfig | undefined;
  try {
    const config = engine.config.limiter!.store.getResourceConfig(resource);
    if (
      typeof config?.limit === "number" && typeof config.windowMs === "number"
    ) {
      configured = { limit: config.limit, windowMs: config.windowMs };
    }
  } catch {
    // A store that cannot say leaves the comparison out.
  }
  if (configured !== undefined) out.configured = configured;
  if (server === undefined) return;
  out.server = { ...server };
  if (configured === undefined || server.limit === undefined) return;
  out.aboveServer = server.windowMs === undefined
    ? configured.limit > server.limit
    : configured.limit / configured.windowMs > server.limit / server.windowMs;
}

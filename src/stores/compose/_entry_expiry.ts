// How long a store keeps one of the client's cached responses, at least,
// read from the response itself: the client stores each one for the
// freshness it has left, plus the longest window in which it may be served
// stale, plus more (see ../../cache/storage_ttl.ts). Without knowing the
// client's options, the freshness and those windows are a lower bound of
// when the store drops it.

/**
 * The earliest time, in milliseconds since the epoch on the clock of the
 * client that stored it, at which a store may drop `value` when it is one
 * of the client's cached responses; `undefined` for any other value (a
 * Vary index, a value a user stored), which carries no expiry.
 *
 * @param value A value read from a cache store.
 */
export function keptAtLeastUntil(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { responseTime, initialAgeMs, policy } = value as {
    responseTime?: unknown;
    initialAgeMs?: unknown;
    policy?: unknown;
  };
  if (!_finite(responseTime) || typeof policy !== "object" || policy === null) {
    return undefined;
  }
  const {
    freshnessLifetimeMs,
    noStaleServing,
    staleWhileRevalidateMs,
    staleIfErrorMs,
  } = policy as Record<string, unknown>;
  if (
    !_finite(freshnessLifetimeMs) || !_finite(initialAgeMs) ||
    !_finite(staleWhileRevalidateMs) || !_finite(staleIfErrorMs) ||
    typeof noStaleServing !== "boolean"
  ) {
    return undefined;
  }
  const staleMs = noStaleServing
    ? 0
    : Math.max(staleWhileRevalidateMs, staleIfErrorMs);
  return responseTime + freshnessLifetimeMs - initialAgeMs + staleMs;
}

function _finite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

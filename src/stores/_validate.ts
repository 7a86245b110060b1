import type { Clock } from "../clock.ts";
import { ConfigError } from "../errors.ts";
import type { RateLimitConfig } from "./types.ts";

/**
 * Throws ConfigError unless `clock` has a `now()` method, and a `sleep()`
 * method or none (waits on a clock without one use real timers).
 */
export function validClock(component: string, clock: unknown): Clock {
  if (
    typeof clock !== "object" || clock === null ||
    typeof (clock as Clock).now !== "function"
  ) {
    throw new ConfigError(
      component,
      "clock",
      clock,
      "an object with a now() method",
    );
  }
  const { sleep } = clock as Clock;
  if (sleep !== undefined && typeof sleep !== "function") {
    throw new ConfigError(
      component,
      "clock.sleep",
      sleep,
      "a function (ms, signal) => Promise<void> or absent",
    );
  }
  return clock as Clock;
}

/** Throws ConfigError unless `value` is a positive safe integer. */
export function positiveInteger(
  component: string,
  option: string,
  value: unknown,
): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(component, option, value, "a positive integer");
  }
  return value;
}

/**
 * The longest window, margin and adaptive interval a rate-limit store
 * accepts: 366 days, in milliseconds. Every time a store computes from them
 * (reset times, expiries, cutoffs) stays a valid `Date` and a valid expiry on
 * every backend.
 */
export const MAX_WINDOW_MS: number = 366 * 86_400_000;

const WINDOW_BOUND = `of at most ${MAX_WINDOW_MS} (366 days)`;

/**
 * Throws ConfigError unless `value` is a positive safe integer of at most
 * {@linkcode MAX_WINDOW_MS}.
 */
export function windowLength(
  component: string,
  option: string,
  value: unknown,
): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 ||
    value > MAX_WINDOW_MS
  ) {
    throw new ConfigError(
      component,
      option,
      value,
      `a positive integer ${WINDOW_BOUND}`,
    );
  }
  return value;
}

/**
 * Validates the `marginMs` option that every rate-limit store takes: the
 * milliseconds added to each window. Throws ConfigError naming `marginMs`
 * unless it is a non-negative safe integer of at most
 * {@linkcode MAX_WINDOW_MS}; `undefined` means no margin.
 */
export function rateLimitMargin(component: string, value: unknown): number {
  if (value === undefined) return 0;
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 ||
    value > MAX_WINDOW_MS
  ) {
    throw new ConfigError(
      component,
      "marginMs",
      value,
      `a non-negative integer ${WINDOW_BOUND}`,
    );
  }
  return value;
}

/** Throws ConfigError unless `value` is a non-negative safe integer. */
export function nonNegativeInteger(
  component: string,
  option: string,
  value: unknown,
): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(component, option, value, "a non-negative integer");
  }
  return value;
}

/** Throws ConfigError unless `value` is a non-negative finite number. */
export function nonNegativeNumber(
  component: string,
  option: string,
  value: unknown,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(component, option, value, "a non-negative number");
  }
  return value;
}

/**
 * Validates the `durationMs` that every rate-limit store's `setCooldown`
 * takes, and returns it as the whole milliseconds a backend stores: rounded
 * up, and at most {@linkcode MAX_WINDOW_MS} (a longer cooldown is held that
 * long). Throws a RangeError (a bad argument, not a bad option) unless it is
 * a non-negative finite number.
 */
export function cooldownDuration(
  component: string,
  durationMs: unknown,
): number {
  if (
    typeof durationMs !== "number" || !Number.isFinite(durationMs) ||
    durationMs < 0
  ) {
    throw new RangeError(
      `Cannot set a cooldown on ${component} as 'durationMs' must be a non-negative finite number: received ${
        String(durationMs)
      }`,
    );
  }
  return Math.min(Math.ceil(durationMs), MAX_WINDOW_MS);
}

/**
 * The shortest window a rate budget may have, in milliseconds. Waiting
 * requests wake on timers of millisecond grain, and requests take
 * milliseconds to reach an origin: a shorter window could be neither
 * filled (a 1 ms window used about a third of its budget) nor held at the
 * origin. The same rate fits a longer window: `{ limit: 50, windowMs: 50 }`
 * for one request per millisecond.
 */
export const MIN_WINDOW_MS: number = 50;

/** Throws ConfigError unless `config` is a valid rate budget; returns a copy. */
export function rateLimitConfig(
  component: string,
  option: string,
  config: unknown,
): RateLimitConfig {
  if (typeof config !== "object" || config === null) {
    throw new ConfigError(
      component,
      option,
      config,
      "an object { limit, windowMs }",
    );
  }
  const { limit, windowMs } = config as Record<string, unknown>;
  const valid = {
    limit: positiveInteger(component, `${option}.limit`, limit),
    windowMs: windowLength(component, `${option}.windowMs`, windowMs),
  };
  if (valid.windowMs < MIN_WINDOW_MS) {
    throw new ConfigError(
      component,
      `${option}.windowMs`,
      windowMs,
      `at least ${MIN_WINDOW_MS} ms: waiting requests wake at millisecond grain and take milliseconds to reach the origin, so a shorter window can be neither filled nor held there; give the same rate over a longer window (${
        Math.ceil(valid.limit * MIN_WINDOW_MS / valid.windowMs)
      } per ${MIN_WINDOW_MS} ms)`,
    );
  }
  return valid;
}

/** Validates `resourceConfigs` given as a Map or a plain record; returns a Map. */
export function resourceConfigs(
  component: string,
  value: unknown,
): Map<string, RateLimitConfig> {
  const out = new Map<string, RateLimitConfig>();
  if (value === undefined) return out;
  let entries: Iterable<[unknown, unknown]>;
  if (value instanceof Map) entries = value.entries();
  else if (
    typeof value === "object" && value !== null && !Array.isArray(value)
  ) {
    entries = Object.entries(value);
  } else {
    throw new ConfigError(
      component,
      "resourceConfigs",
      value,
      "a Map or a record of { limit, windowMs }",
    );
  }
  for (const [resource, config] of entries) {
    if (typeof resource !== "string" || resource === "") {
      throw new ConfigError(
        component,
        "resourceConfigs",
        resource,
        "keyed by non-empty strings",
      );
    }
    out.set(
      resource,
      rateLimitConfig(component, `resourceConfigs.${resource}`, config),
    );
  }
  return out;
}

import { ConfigError } from "../errors.ts";
import type { RateLimitConfig } from "./types.ts";

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

/**
 * Validates the `marginMs` option that every rate-limit store takes: the
 * milliseconds added to each window. Throws ConfigError naming `marginMs`
 * unless it is a non-negative safe integer; `undefined` means no margin.
 */
export function rateLimitMargin(component: string, value: unknown): number {
  return value === undefined
    ? 0
    : nonNegativeInteger(component, "marginMs", value);
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
 * takes. Throws a RangeError (a bad argument, not a bad option) unless it is
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
  return durationMs;
}

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
  return {
    limit: positiveInteger(component, `${option}.limit`, limit),
    windowMs: positiveInteger(component, `${option}.windowMs`, windowMs),
  };
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

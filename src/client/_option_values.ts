// Checks of single option values, each throwing a ConfigError that names
// the option.

import { ConfigError } from "../errors.ts";

/** The component named by errors about client options. */
export const COMPONENT = "HttpClient";
/** The longest delay a timer accepts. */
const MAX_TIMER_MS = 2_147_483_647;

export function object(option: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(COMPONENT, option, value, "an object");
  }
}

export function store(
  option: string,
  value: unknown,
  methods: string[],
): object {
  if (typeof value !== "object" || value === null) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a store with methods ${methods.join(", ")}`,
    );
  }
  const missing = methods.filter((m) =>
    typeof (value as Record<string, unknown>)[m] !== "function"
  );
  if (missing.length > 0) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a store with methods ${methods.join(", ")} (missing ${
        missing.join(", ")
      })`,
    );
  }
  return value;
}

export function boolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ConfigError(COMPONENT, option, value, "a boolean");
}

export function ms(
  option: string,
  value: unknown,
  allowZero: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" || !Number.isFinite(value) ||
    value < 0 || (!allowZero && value === 0) || value > MAX_TIMER_MS
  ) {
    throw new ConfigError(
      COMPONENT,
      option,
      value,
      `a ${allowZero ? "non-negative" : "positive"} number of milliseconds`,
    );
  }
  return value;
}

export function positiveMs(
  option: string,
  value: unknown,
  component: string,
): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value <= 0 ||
    value > MAX_TIMER_MS
  ) {
    throw new ConfigError(
      component,
      option,
      value,
      "a positive number of milliseconds",
    );
  }
  return value;
}

import type { Clock } from "../../clock.ts";
import { ConfigError, StoreError } from "../../errors.ts";

/** Throws ConfigError unless `clock` has a `now()` method. */
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
  return clock as Clock;
}

/** The error of an operation on a store that was closed. */
export function closedError(component: string, operation: string): StoreError {
  return new StoreError(
    `Cannot ${operation} on a closed ${component}`,
    "memory",
    operation,
  );
}

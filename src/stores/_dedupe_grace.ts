/**
 * The grace of a dedupe store: how long a completed job still answers late
 * waiters. Every backend that keeps finished jobs bounds it the same way.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { nonNegativeNumber } from "./_validate.ts";

/** The longest grace a completed job may answer late waiters. */
export const MAX_GRACE_MS = 60_000;

/**
 * Validates a dedupe store's `completedGraceMs` option.
 *
 * @param component The store being created, named in errors.
 * @param value The option as given.
 * @returns The grace in milliseconds.
 * @throws {ConfigError} Unless `value` is a non-negative number of at most
 * {@linkcode MAX_GRACE_MS}.
 */
export function validCompletedGraceMs(
  component: string,
  value: unknown,
): number {
  const grace = nonNegativeNumber(component, "completedGraceMs", value);
  if (grace > MAX_GRACE_MS) {
    throw new ConfigError(
      component,
      "completedGraceMs",
      value,
      `a non-negative number of at most ${MAX_GRACE_MS}`,
    );
  }
  return grace;
}

import { StoreError } from "../../errors.ts";

export { validClock } from "../_validate.ts";

/** The error of an operation on a store that was closed. */
export function closedError(component: string, operation: string): StoreError {
  return new StoreError(
    `Cannot ${operation} on a closed ${component}`,
    "memory",
    operation,
  );
}

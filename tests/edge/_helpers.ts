// Waits for the edge suites: on real events (a gate the test opens, a
// condition that becomes true), each bounded so that a hang fails the test
// instead of holding the suite.
export { settles } from "../client/_helpers.ts";

/** A promise the test resolves when it wants. */
export interface Gate {
  readonly promise: Promise<void>;
  resolve(): void;
}

/** A promise the test resolves when it wants. */
export function gate(): Gate {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Waits until `check` answers `true`, asking again a few milliseconds after
 * each answer, for at most `ms`.
 */
export async function eventually(
  check: () => Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`Condition not met within ${ms} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

import { it } from "node:test";
import { type Clock, systemClock } from "../src/clock.ts";
import { ManualClock } from "./manual_clock.ts";

/**
 * How a conformance suite moves time.
 *
 * - `"manual"`: the store receives a {@linkcode ManualClock} and the suite
 *   moves it by hand. Waits and windows are checked to the millisecond.
 * - `"real"`: for backends whose time comes from the server (native TTLs,
 *   server clocks). The store receives `systemClock`, the suite sleeps for
 *   real, and timing checks allow a small tolerance. Durations stay short
 *   (a few hundred milliseconds) so the suite remains fast.
 */
export type SuiteTime = "manual" | "real";

/** Options shared by every conformance suite. */
export interface StoreSuiteOptions {
  /**
   * How the suite moves time.
   *
   * @default {"manual"}
   */
  time?: SuiteTime;
}

/** A value the factory returns: a store, or a promise of one. */
export type Awaitable<T> = T | Promise<T>;

interface _Closable {
  close(): Promise<void>;
}

/** What one test of a suite works with: its clock, its stores, its time. */
export class Harness {
  readonly mode: SuiteTime;
  readonly clock: Clock;
  /** A name unique to this test, for isolating stores on a shared backend. */
  readonly namespace: string;
  readonly #stores: _Closable[] = [];

  constructor(mode: SuiteTime) {
    this.mode = mode;
    this.namespace = `t${uid()}:`;
    this.clock = mode === "manual" ? new ManualClock() : systemClock;
  }

  /** Whether timing can be checked to the millisecond. */
  get exact(): boolean {
    return this.mode === "manual";
  }

  /** Tolerance for timing checks in real mode, in milliseconds. */
  get slack(): number {
    return this.mode === "manual" ? 0 : 80;
  }

  /** Builds a store and remembers it so that the test closes it. */
  async open<S extends _Closable>(make: () => Awaitable<S>): Promise<S> {
    const store = await make();
    this.#stores.push(store);
    return store;
  }

  /** Moves time forward: the manual clock, or a real sleep. */
  async advance(ms: number): Promise<void> {
    if (this.clock instanceof ManualClock) {
      this.clock.advance(ms);
      await tick();
    } else {
      await sleep(ms);
    }
  }

  /** Moves time forward past a real-mode deadline: `ms` plus the slack. */
  advancePast(ms: number): Promise<void> {
    return this.advance(ms + (this.exact ? 0 : this.slack));
  }

  /** Closes every store the test opened; each close is awaited. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const store of this.#stores.splice(0)) {
      try {
        await store.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** Declares one test that gets a fresh harness and closes its stores. */
export function storeTest(
  name: string,
  mode: SuiteTime,
  body: (harness: Harness) => Promise<void>,
): void {
  it(name, async () => {
    const harness = new Harness(mode);
    try {
      await body(harness);
    } finally {
      await harness.closeAll();
    }
  });
}

/** A short unique id, so that tests on a shared backend never collide. */
export function uid(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets pending promise callbacks and timers with no delay run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Settles with `promise`, or rejects with a clear error when it takes longer
 * than `ms` of real time: a hang becomes a failure instead of a stuck run.
 */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Asserts that `fn` throws (or rejects with) a `ConfigError`. */
export async function throwsConfigError(
  fn: () => unknown,
  what: string,
): Promise<void> {
  let thrown: unknown;
  try {
    await fn();
  } catch (error) {
    thrown = error;
  }
  if (
    !(thrown instanceof Error) ||
    (thrown as { code?: unknown }).code !== "ERR_CONFIG"
  ) {
    throw new Error(
      `Expected a ConfigError for ${what}, got ${
        thrown === undefined ? "no error" : String(thrown)
      }`,
    );
  }
}

/** Describes an options object for a test name, keeping NaN and Infinity readable. */
export function describeOptions(value: unknown): string {
  if (typeof value !== "object" || value === null) return String(value);
  const parts = Object.entries(value).map(([key, v]) =>
    `${key}: ${
      typeof v === "object" && v !== null
        ? describeOptions(v)
        : typeof v === "string"
        ? JSON.stringify(v)
        : String(v)
    }`
  );
  return `{ ${parts.join(", ")} }`;
}

/** A small deterministic random generator: `random(n)` gives an integer in [0, n). */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}

// Shared set-up for the client suites: an origin, a client wired to memory
// stores, an event recorder, and a manual clock a test can move from one of
// the client's waits to the next.
import type { SluiceEvent } from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";

/** Records every event a client emits. */
export class EventLog {
  readonly events: SluiceEvent[] = [];
  readonly listener = (event: SluiceEvent): void => {
    this.events.push(event);
  };

  /** The events of one type. */
  of<T extends SluiceEvent["type"]>(
    type: T,
  ): Extract<SluiceEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<
      SluiceEvent,
      { type: T }
    >[];
  }

  /** The types, in order. */
  types(): string[] {
    return this.events.map((e) => e.type);
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** Resolves after `ms` real milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate` holds, polling every 5 ms, for at most `ms`. */
export async function until(
  predicate: () => boolean,
  ms = 2_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) {
      throw new Error(`Condition not met within ${ms} ms`);
    }
    await delay(5);
  }
}

/**
 * `promise`, or a failure once `ms` of real time pass before it settles: a
 * hang fails the test instead of holding it.
 */
export function settles<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The call did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

/**
 * A {@linkcode ManualClock} that knows when its pending waits end, so that
 * a test can move it from one wait to the next while real I/O runs between
 * them.
 */
export class SteppedClock extends ManualClock {
  readonly #ends: number[] = [];

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const waiting = super.sleep(ms, signal);
    if (!(ms > 0) || signal?.aborted) return waiting;
    const at = this.now() + ms;
    this.#ends.push(at);
    const forget = (): void => {
      const index = this.#ends.indexOf(at);
      if (index >= 0) this.#ends.splice(index, 1);
    };
    waiting.then(forget, forget);
    return waiting;
  }

  /** How long until the earliest pending wait ends; `undefined` for none. */
  get nextWakeMs(): number | undefined {
    if (this.#ends.length === 0) return undefined;
    return Math.max(0, Math.min(...this.#ends) - this.now());
  }
}

/**
 * Waits for `promise` to settle while moving `clock`: whenever the code
 * waits on the clock for at most `horizonMs`, the clock moves to the end of
 * that wait; a wait further off (an attempt's deadline, say) is left alone
 * while real I/O runs. Returns what `promise` settled with.
 *
 * @throws When `promise` has not settled after `hangMs` of real time: a
 * hang fails the test instead of holding it.
 */
export async function drive<T>(
  clock: SteppedClock,
  promise: Promise<T>,
  horizonMs = 500,
  hangMs = 10_000,
): Promise<T> {
  let settled = false;
  const mark = (): void => {
    settled = true;
  };
  promise.then(mark, mark);
  const deadline = performance.now() + hangMs;
  for (;;) {
    // Lets the code run up to its next wait (or its I/O) first.
    await delay(0);
    if (settled) return promise;
    if (performance.now() > deadline) {
      throw new Error(`The call did not settle within ${hangMs} ms`);
    }
    const next = clock.nextWakeMs;
    if (next !== undefined && next <= horizonMs) clock.advance(next);
    else await delay(1);
  }
}

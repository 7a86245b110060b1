import type { Clock } from "../src/clock.ts";

/** One wait on a {@linkcode ManualClock}. */
interface _Sleeper {
  /** The clock time at which it ends. */
  readonly at: number;
  /** Ends it: resolves its promise. */
  readonly wake: () => void;
}

/** Lets every pending promise callback run: one task of the event loop. */
function _turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A clock that only moves when told to. Pass it to stores and clients in
 * tests to cross TTLs and windows without sleeping.
 *
 * Its {@linkcode ManualClock.sleep} waits in the clock's own time: a wait
 * ends when {@linkcode ManualClock.advance} or {@linkcode ManualClock.set}
 * reaches its deadline, never by itself. Waits that end in one move end in
 * deadline order (those with the same deadline in the order they began). A
 * waiting function resumes a microtask later, not during the move, so await
 * something after a move before checking what it did. When the code under
 * test waits several times in a row (a retry loop, a poll),
 * {@linkcode ManualClock.advanceAsync} moves from one deadline to the next
 * and lets the code run in between.
 *
 * @example Crossing a TTL
 * ```ts
 * import { ManualClock } from "@sluice/http/testing";
 *
 * const clock = new ManualClock(1_000);
 * clock.advance(500);
 * console.log(clock.now()); // 1500
 * ```
 *
 * @example Ending a wait by moving time
 * ```ts
 * import { ManualClock } from "@sluice/http/testing";
 *
 * const clock = new ManualClock(0);
 * let done = false;
 * const waiting = clock.sleep(1_000).then(() => {
 *   done = true;
 * });
 * clock.advance(999);
 * await Promise.resolve();
 * console.log(done); // false
 * clock.advance(1);
 * await waiting;
 * console.log(done); // true
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  /** Pending waits, by deadline, then by when they began. */
  readonly #sleepers: _Sleeper[] = [];

  /**
   * Creates a clock stopped at `start`.
   *
   * @param start The initial time in milliseconds since the Unix epoch.
   */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  /** Returns the current manual time. */
  now(): number {
    return this.#now;
  }

  /** How many waits of {@linkcode ManualClock.sleep} have not ended yet. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /**
   * Waits until the clock has moved `ms` forward: the promise resolves when
   * {@linkcode ManualClock.advance} or {@linkcode ManualClock.set} reaches
   * `now() + ms`. A wait of 0 (or a negative or `NaN` one) resolves at once.
   *
   * @param ms How long to wait, in the clock's milliseconds.
   * @param signal Stops the wait: the promise rejects with its reason, at
   * once if it is already aborted, and the wait is forgotten.
   * @returns A promise that resolves when the wait is over.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#sleepers.indexOf(sleeper);
        if (at >= 0) this.#sleepers.splice(at, 1);
        reject(signal!.reason);
      };
      const sleeper: _Sleeper = {
        at: this.#now + ms,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      // After every wait with a deadline at or before this one.
      let index = this.#sleepers.length;
      while (index > 0 && this.#sleepers[index - 1]!.at > sleeper.at) index--;
      this.#sleepers.splice(index, 0, sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Moves the clock forward, and ends every wait whose deadline it reaches.
   *
   * @param ms How many milliseconds to move; must not be negative.
   * @throws {RangeError} When `ms` is negative or not a number.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot advance a ManualClock by ${ms} ms`);
    }
    this.#now += ms;
    this.#wakeDue();
  }

  /**
   * Moves the clock forward by `ms` one deadline at a time: it lets pending
   * promise callbacks and timers of 0 ms run, moves to the earliest wait
   * that ends within `ms` and ends it (so the waiting code sees `now()` at
   * its deadline), and repeats until no wait ends within `ms`; then it moves
   * to the end. Waits begun on the way are ended too when their deadline
   * falls within `ms`. It does not wait for I/O.
   *
   * @param ms How many milliseconds to move; must not be negative.
   * @returns A promise that resolves once the clock stands at the end and
   * the code woken on the way has run up to its next wait.
   * @throws {RangeError} When `ms` is negative or not a number.
   *
   * @example Letting a polling loop run
   * ```ts
   * import { ManualClock } from "@sluice/http/testing";
   *
   * const clock = new ManualClock(0);
   * let polls = 0;
   * const polling = (async () => {
   *   while (polls < 3) {
   *     await clock.sleep(100);
   *     polls++;
   *   }
   * })();
   * await clock.advanceAsync(1_000);
   * await polling;
   * console.log(polls, clock.now()); // 3 1000
   * ```
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot advance a ManualClock by ${ms} ms`);
    }
    const end = this.#now + ms;
    for (;;) {
      await _turn();
      const next = this.#sleepers[0];
      if (next === undefined || next.at > end) break;
      this.#now = Math.max(this.#now, next.at);
      this.#wakeDue();
    }
    this.#now = Math.max(this.#now, end);
  }

  /**
   * Sets the clock to an absolute time, and ends every wait whose deadline
   * it reaches. Setting it back makes pending waits last longer: their
   * deadlines are times of the clock.
   *
   * @param ms The new time in milliseconds since the Unix epoch.
   */
  set(ms: number): void {
    this.#now = ms;
    this.#wakeDue();
  }

  // Ends the waits whose deadline has come, earliest first.
  #wakeDue(): void {
    while (this.#sleepers.length > 0 && this.#sleepers[0]!.at <= this.#now) {
      this.#sleepers.shift()!.wake();
    }
  }
}

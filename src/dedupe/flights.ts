/**
 * In-process single-flight: concurrent callers with the same key share one
 * run of an async job.
 *
 * A flight runs with its own {@linkcode AbortSignal}, never a caller's, so
 * that one caller giving up never cancels the work the others wait for.
 * Each caller waits with its own signal. When every waiter has gone before
 * the job settled, the flight's signal aborts, so abandoned work stops.
 * A flight leaves its table as soon as it settles: later callers start a new
 * flight, so a result is shared only with callers that joined while it ran.
 *
 * @example Sharing one job between two callers
 * ```ts
 * import { FlightTable } from "./flights.ts";
 *
 * const flights = new FlightTable();
 * let runs = 0;
 * const job = async () => ++runs;
 * const [a, b] = await Promise.all([
 *   flights.run("k", job).result,
 *   flights.run("k", job).result,
 * ]);
 * console.log(a, b, runs); // 1 1 1
 * ```
 *
 * @module
 */

import { NEVER } from "../_signals.ts";

/** The reason a flight's signal aborts with when every waiter left. */
export class FlightAbandonedError extends Error {
  /**
   * Creates the error.
   *
   * @param key The flight's key.
   */
  constructor(key: string) {
    super(`Every caller waiting for flight '${key}' went away`);
    this.name = "AbortError";
  }
}

/**
 * One shared run of a job.
 *
 * @typeParam T The job's result.
 */
export class Flight<T> {
  /** The flight's key. */
  readonly key: string;
  /** Aborts when every waiter left, or when {@linkcode Flight.abort} is called. */
  readonly signal: AbortSignal;
  /** Settles with the job; never rejects unhandled even when nobody waits. */
  readonly promise: Promise<T>;
  #controller: AbortController | undefined;
  #waiters = 0;
  #settled = false;

  /**
   * Starts a flight.
   *
   * @param key The flight's key.
   * @param job The work, given the flight's own signal.
   * @param onSettled Called once the job settles.
   * @param abortable `false` for a flight nothing can abort: one whose
   * first waiter waits without a signal (so it is never abandoned) and
   * that nobody calls {@linkcode Flight.abort} on. Its signal is
   * {@linkcode NEVER}, which costs nothing to create or follow.
   */
  constructor(
    key: string,
    job: (signal: AbortSignal) => Promise<T>,
    onSettled: () => void,
    abortable = true,
  ) {
    this.key = key;
    if (abortable) {
      this.#controller = new AbortController();
      this.signal = this.#controller.signal;
    } else this.signal = NEVER;
    this.promise = Promise.resolve().then(() => job(this.signal));
    this.promise.then(
      () => this.#settle(onSettled),
      () => this.#settle(onSettled),
    );
  }

  /** Whether the job has settled. */
  get settled(): boolean {
    return this.#settled;
  }

  /** How many callers wait for this flight right now. */
  get waiters(): number {
    return this.#waiters;
  }

  /**
   * Waits for the flight's result.
   *
   * @param signal The caller's signal: aborting it stops this caller's wait
   * (rejecting with the signal's reason) without cancelling the flight,
   * unless this was the last waiter.
   * @returns The job's result, or its failure.
   */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal === undefined) {
      this.#waiters++;
      return this.promise.finally(() => this.#waiters--);
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    this.#waiters++;
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const onAbort = (): void => {
        left = true;
        this.#leave();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.promise.then(
        (value) => {
          if (left) return;
          signal.removeEventListener("abort", onAbort);
          this.#waiters--;
          resolve(value);
        },
        (error) => {
          if (left) return;
          signal.removeEventListener("abort", onAbort);
          this.#waiters--;
          reject(error);
        },
      );
    });
  }

  /**
   * Aborts the flight's signal, whoever waits. A flight started as not
   * abortable is not aborted.
   *
   * @param reason The abort reason.
   */
  abort(reason?: unknown): void {
    if (!this.#settled) this.#controller?.abort(reason);
  }

  #leave(): void {
    this.#waiters--;
    if (this.#waiters === 0 && !this.#settled) {
      this.#controller?.abort(new FlightAbandonedError(this.key));
    }
  }

  #settle(onSettled: () => void): void {
    this.#settled = true;
    onSettled();
  }
}

/** What {@linkcode FlightTable.run} returns. */
export interface FlightRun<T> {
  /** The flight, new or joined. */
  flight: Flight<T>;
  /** `true` when this call started the flight. */
  owner: boolean;
  /** The result, awaited with the caller's signal. */
  result: Promise<T>;
}

/** A table of flights in progress, keyed by string. */
export class FlightTable {
  #flights = new Map<string, Flight<unknown>>();

  /** How many flights are in progress. */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * Returns the flight in progress for `key`, if any. A flight whose signal
   * aborted is dropped and never returned.
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   */
  get<T>(key: string): Flight<T> | undefined {
    const flight = this.#flights.get(key) as Flight<T> | undefined;
    if (flight !== undefined && flight.signal.aborted) {
      // An abandoned or aborted flight only has a failure left to give.
      this.#flights.delete(key);
      return undefined;
    }
    return flight;
  }

  /**
   * Joins the flight in progress for `key`, or starts one running `job`.
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   * @param job The work to run when no flight is in progress.
   * @param signal The caller's signal, applied to its wait only.
   * @returns The flight, whether this call started it, and the result.
   */
  run<T>(
    key: string,
    job: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): FlightRun<T> {
    const existing = this.get<T>(key);
    if (existing !== undefined) {
      return { flight: existing, owner: false, result: existing.wait(signal) };
    }
    const flight = this.start(key, job);
    return { flight, owner: true, result: flight.wait(signal) };
  }

  /**
   * Starts a flight for `key`, replacing none: call only when
   * {@linkcode FlightTable.get} found nothing.
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   * @param job The work.
   * @param abortable Whether anything can abort it (see
   * {@linkcode Flight}'s constructor).
   * @returns The new flight.
   */
  start<T>(
    key: string,
    job: (signal: AbortSignal) => Promise<T>,
    abortable = true,
  ): Flight<T> {
    const flight: Flight<T> = new Flight(key, job, () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    }, abortable);
    this.#flights.set(key, flight as Flight<unknown>);
    return flight;
  }

  /**
   * Aborts every flight in progress.
   *
   * @param reason The abort reason.
   */
  abortAll(reason?: unknown): void {
    for (const flight of this.#flights.values()) flight.abort(reason);
  }
}

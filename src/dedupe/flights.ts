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
 * Where I/O belongs to the request that started it (Cloudflare Workers: a
 * request can neither read nor abort another's signal, and a timer or a
 * stream is its own), a flight's job runs in its owner's request, and the
 * other waiters touch nothing of it but its promise: leaving changes a
 * count, and the signal of an abandoned flight is aborted by a reaction
 * that runs in the owner's request. Such a platform also cuts off a
 * request's unfinished work once its handler has returned, unless the work
 * was handed to its `waitUntil`. So a flight is joined only while something
 * keeps it running to its end ({@linkcode Flight.joinable}): the waiter it
 * runs for, or the platform ({@linkcode Flight.keep}).
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

/** A caller waiting for a flight with a signal of its own. */
interface _Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** How a flight may end and what keeps it running. */
export interface FlightOptions {
  /**
   * `false` for a flight nothing can abort: one whose first waiter waits
   * without a signal (so it is never abandoned) and that nobody calls
   * {@linkcode Flight.abort} on. Its job then runs without a signal.
   *
   * @default {true}
   */
  abortable?: boolean;
  /**
   * Whether a waiter keeps it running from the start: its owner, who waits
   * with `holds` set (see {@linkcode Flight.wait}). `false` for work nobody
   * waits for, such as a background revalidation, which only
   * {@linkcode Flight.keep} lets others join.
   *
   * @default {true}
   */
  held?: boolean;
}

/**
 * One shared run of a job.
 *
 * @typeParam T The job's result.
 */
export class Flight<T> {
  /** The flight's key. */
  readonly key: string;
  /**
   * The job's signal: it aborts when every waiter left, or when
   * {@linkcode Flight.abort} is called. `undefined` for a flight that is
   * not abortable. Only the request that started the flight may read it.
   */
  readonly signal: AbortSignal | undefined;
  /** Settles with the job; never rejects unhandled even when nobody waits. */
  readonly promise: Promise<T>;
  /** Aborts the job's signal from the request that started the flight. */
  #stop: ((reason: unknown) => void) | undefined;
  /** The callers waiting with a signal, until they leave or it settles. */
  #waiting = new Set<_Waiter<T>>();
  #waiters = 0;
  #settled = false;
  #aborted = false;
  #held: boolean;
  #kept = false;

  /**
   * Starts a flight.
   *
   * @param key The flight's key.
   * @param job The work, given the flight's own signal (none when not
   * abortable).
   * @param onSettled Called once the job settles.
   * @param options Whether it can be aborted, and whether its owner holds it.
   */
  constructor(
    key: string,
    job: (signal: AbortSignal | undefined) => Promise<T>,
    onSettled: () => void,
    options: FlightOptions = {},
  ) {
    const { abortable = true, held = true } = options;
    this.key = key;
    this.#held = held;
    if (abortable) {
      const controller = new AbortController();
      this.signal = controller.signal;
      // Made here, in the request the job runs in: whichever request stops
      // the flight, the reaction aborts the signal in this one.
      new Promise<unknown>((resolve) => {
        this.#stop = resolve;
      }).then((reason) => controller.abort(reason));
    } else this.signal = undefined;
    this.promise = Promise.resolve().then(() => job(this.signal));
    this.promise.then(
      (value) => this.#settle(onSettled, (waiter) => waiter.resolve(value)),
      (error: unknown) =>
        this.#settle(onSettled, (waiter) => waiter.reject(error)),
    );
  }

  /** Whether the job has settled. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Whether the flight was aborted or abandoned before it settled. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * Whether a new caller may join: the job runs, has not been aborted, and
   * something keeps it running to its end (its owner still waits, or the
   * platform was handed it with {@linkcode Flight.keep}).
   */
  get joinable(): boolean {
    return !this.#settled && !this.#aborted && (this.#held || this.#kept);
  }

  /** How many callers wait for this flight right now. */
  get waiters(): number {
    return this.#waiters;
  }

  /**
   * Records that the platform keeps the job running until it settles,
   * whoever waits (its promise was handed to a `waitUntil`).
   */
  keep(): void {
    this.#kept = true;
  }

  /**
   * Waits for the flight's result.
   *
   * @param signal The caller's signal: aborting it stops this caller's wait
   * (rejecting with the signal's reason) without cancelling the flight,
   * unless this was the last waiter.
   * @param holds Whether this caller is the one the job runs for: once it
   * leaves, no new caller joins the flight unless it is kept.
   * @returns The job's result, or its failure.
   */
  wait(signal?: AbortSignal, holds = false): Promise<T> {
    if (signal === undefined || this.#settled) {
      this.#waiters++;
      return this.promise.finally(() => this.#waiters--);
    }
    if (signal.aborted) {
      if (holds) this.#held = false;
      return Promise.reject(signal.reason);
    }
    this.#waiters++;
    let waiter!: _Waiter<T>;
    const onAbort = (): void => {
      if (!this.#waiting.delete(waiter)) return;
      if (holds) this.#held = false;
      this.#leave();
      waiter.reject(signal.reason);
    };
    // The flight settles this promise only while its caller waits: one
    // that left is not answered from another request (where I/O belongs
    // to one request, its own may be over by then).
    return new Promise<T>((resolve, reject) => {
      waiter = { resolve, reject };
      this.#waiting.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    }).finally(() => signal.removeEventListener("abort", onAbort));
  }

  /**
   * Aborts the flight's signal, whoever waits. A flight started as not
   * abortable is not aborted.
   *
   * @param reason The abort reason.
   */
  abort(reason?: unknown): void {
    if (this.#settled || this.#stop === undefined || this.#aborted) return;
    this.#aborted = true;
    this.#stop(reason);
  }

  #leave(): void {
    this.#waiters--;
    if (this.#waiters === 0) this.abort(new FlightAbandonedError(this.key));
  }

  #settle(
    onSettled: () => void,
    answer: (waiter: _Waiter<T>) => void,
  ): void {
    this.#settled = true;
    for (const waiter of this.#waiting) {
      this.#waiters--;
      answer(waiter);
    }
    this.#waiting.clear();
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
   * How many flights whose key starts with `prefix` are in progress: those
   * in the table whose job has not settled, aborted or not.
   *
   * @param prefix The start of the keys to count.
   * @returns The count.
   */
  count(prefix: string): number {
    let n = 0;
    for (const [key, flight] of this.#flights) {
      if (!flight.settled && key.startsWith(prefix)) n++;
    }
    return n;
  }

  /**
   * Returns the flight in progress for `key`, if any, joinable or not. A
   * flight that was aborted is dropped and never returned.
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   */
  get<T>(key: string): Flight<T> | undefined {
    const flight = this.#flights.get(key) as Flight<T> | undefined;
    if (flight !== undefined && flight.aborted) {
      // An abandoned or aborted flight only has a failure left to give.
      this.#flights.delete(key);
      return undefined;
    }
    return flight;
  }

  /**
   * Joins the flight in progress for `key` when it is joinable, or starts
   * one running `job`, which the caller holds (see {@linkcode Flight.wait}).
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   * @param job The work to run when no flight can be joined.
   * @param signal The caller's signal, applied to its wait only.
   * @returns The flight, whether this call started it, and the result.
   */
  run<T>(
    key: string,
    job: (signal: AbortSignal | undefined) => Promise<T>,
    signal?: AbortSignal,
  ): FlightRun<T> {
    const existing = this.get<T>(key);
    if (existing?.joinable) {
      return { flight: existing, owner: false, result: existing.wait(signal) };
    }
    const flight = this.start(key, job);
    return { flight, owner: true, result: flight.wait(signal, true) };
  }

  /**
   * Starts a flight for `key`. It replaces a flight in progress that is not
   * joinable, which still settles for its own waiters.
   *
   * @typeParam T The job's result.
   * @param key The flight's key.
   * @param job The work.
   * @param options Whether anything can abort it, and whether its owner
   * holds it (see {@linkcode FlightOptions}).
   * @returns The new flight.
   */
  start<T>(
    key: string,
    job: (signal: AbortSignal | undefined) => Promise<T>,
    options?: FlightOptions,
  ): Flight<T> {
    const flight: Flight<T> = new Flight(key, job, () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    }, options);
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

/**
 * Admission of one request attempt against a {@linkcode RateLimitStore}:
 * waits out a server cooldown, then takes one unit of budget atomically,
 * sleeping while the budget is spent, or refuses with
 * {@linkcode RateLimitError}. A store with `admit` does all three in one
 * call per try; others are asked `getCooldown`, `acquire` and
 * `getWaitTime`.
 *
 * Requests that must wait for the same resource and priority wait in line:
 * the first sleeps the exact wait the store tells and asks again, the
 * others wait for their turn without asking, and each admission hands the
 * turn to the next at once. A spent budget then costs one store call per
 * admission, however many requests wait, and short windows are used to the
 * full instead of being polled by every waiter at every wake-up.
 *
 * Every wait and every reading of time goes through the limiter's
 * {@linkcode Clock}: with a clock that has `sleep()`, a test moves time to
 * let a waiting request through.
 *
 * @module
 */

import { sleepOn } from "../_clock_sleep.ts";
import { DEFAULT_STORE_TIMEOUT_MS, storeCall } from "../_store_deadline.ts";
import { type Clock, systemClock } from "../clock.ts";
import { RateLimitError, StoreError } from "../errors.ts";
import { syncAdmit } from "../stores/_sync_admit.ts";
import { isPromiseLike, type Maybe } from "../stores/_window_values.ts";
import type {
  AdaptiveRateLimitStore,
  Admission,
  Priority,
  RateLimitStore,
} from "../stores/types.ts";

/** The first pause between polls of a store that cannot tell a wait, in ms. */
const MIN_POLL_MS = 5;
/** The longest pause between polls of a store that cannot tell a wait. */
const MAX_POLL_MS = 1_000;
/** What a failed store call returns when the limiter fails open. */
const FAILED: unique symbol = Symbol("failed");
/** How many resources a limiter remembers admissions on (see `recent`). */
export const RECENT_RESOURCES = 64;

/** How a {@linkcode RateLimiter} waits, refuses and fails. */
export interface RateLimiterOptions {
  /** The store that counts admissions and holds cooldowns. */
  store: RateLimitStore | AdaptiveRateLimitStore;
  /**
   * The longest time one admission may wait (cooldown and budget), in ms.
   * A wait known to be longer is refused at once.
   *
   * @default {60_000}
   */
  maxWaitMs?: number;
  /**
   * Refuse at once instead of waiting.
   *
   * @default {false}
   */
  throwOnLimit?: boolean;
  /**
   * When the store fails, admit the request (`true`) or throw
   * {@linkcode StoreError} (`false`).
   *
   * @default {true}
   */
  failOpen?: boolean;
  /**
   * The longest one store call may take, in ms. A store slower than this
   * counts as failed (see `failOpen`).
   *
   * @default {5_000}
   */
  storeTimeoutMs?: number;
  /**
   * The clock that times waits: the budget and cooldown sleeps, `maxWaitMs`
   * and the wait of a request queued behind others. A clock without
   * `sleep()` is read for the time, and waits are made on real timers.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** Callbacks a {@linkcode RateLimiter} reports through. */
export interface AdmitHooks {
  /** The request sleeps `waitMs` for budget. */
  onWait?: (waitMs: number) => void;
  /** The request sleeps `cooldownMs` through a server cooldown. */
  onCooldown?: (cooldownMs: number) => void;
  /** The request is refused. */
  onRejected?: (retryAfterMs: number, reason: "limit" | "cooldown") => void;
  /** The store failed; `failedOpen` tells whether the request carries on. */
  onStoreError?: (error: unknown, failedOpen: boolean) => void;
}

/** One request waiting for its turn in a {@linkcode _Line}. */
interface _Waiter {
  /** Gives it the turn (`false`), or sends it to ask again (`true`). */
  wake(moved: boolean): void;
  /** Its priority now. */
  level: () => Priority;
}

/**
 * The requests waiting for the same resource at the same priority. One of
 * them, the head, asks the store; the others queue.
 */
interface _Line {
  /** The resource they wait for. */
  readonly resource: string;
  /** The queued requests, first come first served. */
  readonly queue: _Waiter[];
  /** The wait the store told the head last, in ms. */
  waitMs: number;
}

/** Admits request attempts against a rate-limit store. */
export class RateLimiter {
  // A plain RateLimitStore ignores the priority argument.
  readonly #store: AdaptiveRateLimitStore;
  readonly #maxWaitMs: number;
  readonly #throwOnLimit: boolean;
  readonly #failOpen: boolean;
  readonly #storeTimeoutMs: number;
  readonly #clock: Clock;
  /** Lines of waiting requests, by priority and resource. */
  readonly #lines = new Map<string, _Line>();
  /**
   * The resources admissions were asked on lately, least recent first,
   * each with where its cooldowns are kept.
   */
  readonly #recent = new Map<string, string>();
  /** The last key of `#recent`. */
  #latest: string | undefined;

  /**
   * Creates a limiter. Options are expected to be validated by the caller.
   *
   * @param options The store and the waiting rules.
   */
  constructor(options: RateLimiterOptions) {
    const {
      store,
      maxWaitMs = 60_000,
      throwOnLimit = false,
      failOpen = true,
      storeTimeoutMs = DEFAULT_STORE_TIMEOUT_MS,
      clock = systemClock,
    } = options;
    this.#store = store as AdaptiveRateLimitStore;
    this.#maxWaitMs = maxWaitMs;
    this.#throwOnLimit = throwOnLimit;
    this.#failOpen = failOpen;
    this.#storeTimeoutMs = storeTimeoutMs;
    this.#clock = clock;
  }

  /**
   * Admits one attempt on `resource`.
   *
   * @param resource The store resource key.
   * @param priority The traffic class, or a function read before each
   * acquisition (a waiting request may be raised to `"user"`).
   * @param signal Aborts waiting; the promise rejects with its reason.
   * @param hooks Event callbacks.
   * @param cooldownResource Where server cooldowns of `resource` are kept,
   * when they are shared more widely than its budget.
   * @returns When the store tracks the admission, the function to call
   * once the request is answered or has failed (see `Admission.done`).
   * @throws {RateLimitError} When waiting is not allowed or would take too long.
   * @throws {StoreError} When the store fails and `failOpen` is off.
   */
  admit(
    resource: string,
    priority: Priority | (() => Priority),
    signal?: AbortSignal,
    hooks: AdmitHooks = {},
    cooldownResource: string = resource,
  ): Promise<(() => void) | undefined> {
    const started = this.#clock.now();
    this.#remember(resource, cooldownResource);
    const now = syncAdmit(this.#store);
    if (now === undefined || signal?.aborted) {
      return this.#admit(resource, priority, signal, hooks, cooldownResource, {
        started,
        first: undefined,
      });
    }
    // A store in process memory answers at once: an admission needs no
    // wait, and anything else takes the way of every answer.
    let first: Maybe<Admission>;
    try {
      first = now(resource, {
        priority: typeof priority === "function" ? priority() : priority,
        cooldownResource,
        track: true,
      });
    } catch (error) {
      return this.#failed("admit", error, hooks, signal).then(() => undefined);
    }
    if (!isPromiseLike(first) && first.admitted === true) {
      return Promise.resolve(
        typeof first.done === "function" ? first.done : undefined,
      );
    }
    return this.#admit(resource, priority, signal, hooks, cooldownResource, {
      started,
      first: isPromiseLike(first) ? Promise.resolve(first) : first,
    });
  }

  /** The store admissions are counted in. */
  get store(): RateLimitStore | AdaptiveRateLimitStore {
    return this.#store;
  }

  /**
   * The resources admissions were asked on lately (at most
   * {@linkcode RECENT_RESOURCES}), most recent first, each with where its
   * cooldowns are kept.
   *
   * @returns `[resource, cooldownResource]` pairs.
   */
  recent(): [string, string][] {
    return [...this.#recent].reverse();
  }

  // Moves `resource` to the most recent end of `#recent`. A client mostly
  // admits on the resource it admitted on last: that costs a comparison.
  #remember(resource: string, cooldownResource: string): void {
    if (resource === this.#latest) return;
    this.#latest = resource;
    const recent = this.#recent;
    if (!recent.delete(resource) && recent.size >= RECENT_RESOURCES) {
      recent.delete(recent.keys().next().value!);
    }
    recent.set(resource, cooldownResource);
  }

  async #admit(
    resource: string,
    priority: Priority | (() => Priority),
    signal: AbortSignal | undefined,
    hooks: AdmitHooks,
    cooldownResource: string,
    begun: {
      started: number;
      first: Admission | Promise<Admission> | undefined;
    },
  ): Promise<(() => void) | undefined> {
    const clock = this.#clock;
    const { started } = begun;
    let first = begun.first;
    const left = (): number => this.#maxWaitMs - (clock.now() - started);
    // Refusals in a row that the store could not put a wait on.
    let blind = 0;
    const store = this.#store;
    const admit = store.admit;
    const level = (): Priority =>
      typeof priority === "function" ? priority() : priority;
    // The line this request heads, once it had to wait.
    let line: string | undefined;
    try {
      for (;;) {
        signal?.throwIfAborted();
        if (line !== undefined && !line.startsWith(`${level()}\n`)) {
          // Raised to another priority: it waits in that one's line.
          this.#handOver(line);
          line = undefined;
        }
        let cooldown: unknown;
        let waitTime: unknown;
        if (admit !== undefined) {
          // One call checks the cooldown, admits, and tells the wait.
          const given = first;
          first = undefined;
          const answer = await this.#call(
            "admit",
            () =>
              given ?? admit.call(store, resource, {
                priority: level(),
                cooldownResource,
                track: true,
              }),
            hooks,
            signal,
          );
          if (answer === FAILED) return undefined;
          if (answer?.admitted === true) {
            return typeof answer.done === "function" ? answer.done : undefined;
          }
          cooldown = answer?.cooldownMs;
          waitTime = answer?.waitMs;
        } else {
          cooldown = await this.#call(
            "getCooldown",
            () => store.getCooldown(cooldownResource),
            hooks,
            signal,
          );
        }
        let wait: number;
        let told: number | undefined;
        if (typeof cooldown === "number" && cooldown > 0) {
          if (this.#throwOnLimit || cooldown > left()) {
            hooks.onRejected?.(cooldown, "cooldown");
            throw new RateLimitError(
              `Cannot send a request to '${cooldownResource}': the server asked to hold back for ${
                Math.ceil(cooldown)
              } ms`,
              cooldownResource,
              cooldown,
            );
          }
          hooks.onCooldown?.(cooldown);
          wait = cooldown;
        } else {
          if (admit === undefined) {
            const admitted = await this.#call(
              "acquire",
              () => store.acquire(resource, level()),
              hooks,
              signal,
            );
            if (admitted === FAILED || admitted) return undefined;
            waitTime = await this.#call(
              "getWaitTime",
              () => store.getWaitTime(resource, level()),
              hooks,
              signal,
            );
            if (waitTime === FAILED) return undefined;
          }
          // The exact wait when the store tells one. A store may refuse
          // without knowing for how long (0, or garbage): poll it with a
          // growing pause rather than spin on it.
          told = typeof waitTime === "number" && waitTime > 0 &&
              Number.isFinite(waitTime)
            ? waitTime
            : undefined;
          blind = told === undefined ? blind + 1 : 0;
          wait = told === undefined
            ? Math.min(MIN_POLL_MS * 2 ** (blind - 1), MAX_POLL_MS)
            : Math.max(1, Math.ceil(told));
          const remaining = left();
          if (
            this.#throwOnLimit || remaining <= 0 ||
            (told !== undefined && told > remaining)
          ) {
            hooks.onRejected?.(wait, "limit");
            throw this.#spent(resource, wait);
          }
          // Never sleep past maxWaitMs: one last try at the end of it.
          wait = Math.min(wait, Math.ceil(remaining));
          hooks.onWait?.(wait);
        }
        if (line === undefined) {
          const key = `${level()}\n${resource}`;
          const ahead = this.#lines.get(key);
          if (ahead !== undefined) {
            // Others wait already: take a place behind them, and ask again
            // when it is this request's turn (or its priority changed).
            const moved = await this.#queue(ahead, level, left, signal, hooks);
            if (!moved) line = key;
            blind = 0;
            continue;
          }
          line = key;
          this.#lines.set(key, { resource, queue: [], waitMs: wait });
        }
        const head = this.#lines.get(line)!;
        head.waitMs = wait;
        this.#moveRaised(line, head);
        await sleepOn(clock, wait, signal);
      }
    } finally {
      if (line !== undefined) this.#handOver(line);
    }
  }

  // Queues behind the head of `line` until it is this request's turn
  // (resolves `false`) or its priority changes (`true`); rejects on abort or
  // when maxWaitMs runs out first.
  //
  // The turn is given by another request. Where I/O belongs to the request
  // that made it (Cloudflare Workers), that one may not stop this one's
  // timer or abort its controller: a wake only resolves a promise made
  // here, and the clean-up runs in the reaction, in this request.
  #queue(
    line: _Line,
    level: () => Priority,
    left: () => number,
    signal: AbortSignal | undefined,
    hooks: AdmitHooks,
  ): Promise<boolean> {
    let turn!: (moved: boolean) => void;
    const woken = new Promise<boolean>((resolve) => {
      turn = resolve;
    });
    return new Promise((resolve, reject) => {
      // Stops the maxWaitMs timeout once the request leaves the queue.
      const timeout = new AbortController();
      let settled = false;
      // Takes the request out of the queue; false when it was out already.
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        const at = line.queue.indexOf(waiter);
        if (at >= 0) line.queue.splice(at, 1);
        return true;
      };
      const cleanUp = (): void => {
        timeout.abort();
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: _Waiter = {
        wake: (moved) => {
          if (settle()) turn(moved);
        },
        level,
      };
      woken.then((moved) => {
        cleanUp();
        resolve(moved);
      });
      const onAbort = (): void => {
        if (!settle()) return;
        cleanUp();
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      line.queue.push(waiter);
      sleepOn(this.#clock, Math.ceil(left()), timeout.signal).then(() => {
        if (!settle()) return;
        cleanUp();
        hooks.onRejected?.(line.waitMs, "limit");
        reject(this.#spent(line.resource, line.waitMs));
      }, (error: unknown) => {
        // Stopped by the clean-up when the request left the queue another
        // way; otherwise the clock failed to wait.
        if (!settle()) return;
        cleanUp();
        reject(error);
      });
    });
  }

  // Gives the turn in `line` to the next request, or closes the line.
  #handOver(key: string): void {
    const line = this.#lines.get(key);
    if (line === undefined) return;
    const next = line.queue.shift();
    if (next === undefined) this.#lines.delete(key);
    else next.wake(false);
  }

  // Sends the queued requests whose priority changed to ask again, each
  // under its new priority.
  #moveRaised(key: string, line: _Line): void {
    if (line.queue.length === 0) return;
    const own = key.slice(0, key.indexOf("\n"));
    for (const waiter of [...line.queue]) {
      if (waiter.level() !== own) waiter.wake(true);
    }
  }

  #spent(resource: string, waitMs: number): RateLimitError {
    return new RateLimitError(
      `Cannot send a request to '${resource}': its rate limit is spent for the next ${waitMs} ms`,
      resource,
      waitMs,
    );
  }

  /**
   * Records a server cooldown. Store failures are reported, never thrown.
   *
   * @param resource The store resource key.
   * @param durationMs How long to hold back.
   * @param hooks Event callbacks.
   */
  async cooldown(
    resource: string,
    durationMs: number,
    hooks: AdmitHooks = {},
  ): Promise<void> {
    try {
      await storeCall(
        "setCooldown",
        () => this.#store.setCooldown(resource, durationMs),
        this.#storeTimeoutMs,
        undefined,
        this.#clock,
      );
    } catch (error) {
      hooks.onStoreError?.(error, true);
    }
  }

  // Runs one store call within the store deadline. On failure: reports it
  // and returns FAILED when failing open (the caller then admits), or
  // throws StoreError. An abort of the caller's signal is not a failure.
  async #call<T>(
    operation: string,
    fn: () => T | Promise<T>,
    hooks: AdmitHooks,
    signal: AbortSignal | undefined,
  ): Promise<T | typeof FAILED> {
    try {
      return await storeCall(
        operation,
        fn,
        this.#storeTimeoutMs,
        signal,
        this.#clock,
      );
    } catch (error) {
      return await this.#failed(operation, error, hooks, signal);
    }
  }

  // What a failed store call leaves: FAILED when the limiter fails open;
  // otherwise it rejects with the signal's reason or a StoreError.
  #failed(
    operation: string,
    error: unknown,
    hooks: AdmitHooks,
    signal: AbortSignal | undefined,
  ): Promise<typeof FAILED> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#failOpen) {
      hooks.onStoreError?.(error, true);
      return Promise.resolve(FAILED);
    }
    // Failing closed, the call ends with the StoreError, and its own error
    // event reports it: one failure, one event.
    if (error instanceof StoreError) return Promise.reject(error);
    return Promise.reject(
      new StoreError(
        `Cannot admit a request: the rate-limit store failed in '${operation}'`,
        "unknown",
        operation,
        { cause: error },
      ),
    );
  }
}

/**
 * Sleeps `ms` on real timers ({@linkcode systemClock}), or rejects with the
 * signal's reason as soon as it aborts.
 *
 * @param ms How long to sleep.
 * @param signal Stops the sleep.
 * @returns A promise that resolves when the sleep is over.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}

/**
 * Admission of one request attempt against a {@linkcode RateLimitStore}:
 * waits out a server cooldown, then takes one unit of budget atomically,
 * sleeping while the budget is spent, or refuses with
 * {@linkcode RateLimitError}. A store with `admit` does all three in one
 * call per try; others are asked `getCooldown`, `acquire` and
 * `getWaitTime`.
 *
 * @module
 */

import { DEFAULT_STORE_TIMEOUT_MS, storeCall } from "../_store_deadline.ts";
import { RateLimitError, StoreError } from "../errors.ts";
import type {
  AdaptiveRateLimitStore,
  Priority,
  RateLimitStore,
} from "../stores/types.ts";

/** The shortest sleep between two refused acquisitions, in ms. */
const MIN_POLL_MS = 5;
/** The longest pause between polls of a store that cannot tell a wait. */
const MAX_POLL_MS = 1_000;
/** What a failed store call returns when the limiter fails open. */
const FAILED: unique symbol = Symbol("failed");

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

/** Admits request attempts against a rate-limit store. */
export class RateLimiter {
  // A plain RateLimitStore ignores the priority argument.
  readonly #store: AdaptiveRateLimitStore;
  readonly #maxWaitMs: number;
  readonly #throwOnLimit: boolean;
  readonly #failOpen: boolean;
  readonly #storeTimeoutMs: number;

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
    } = options;
    this.#store = store as AdaptiveRateLimitStore;
    this.#maxWaitMs = maxWaitMs;
    this.#throwOnLimit = throwOnLimit;
    this.#failOpen = failOpen;
    this.#storeTimeoutMs = storeTimeoutMs;
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
   * @throws {RateLimitError} When waiting is not allowed or would take too long.
   * @throws {StoreError} When the store fails and `failOpen` is off.
   */
  async admit(
    resource: string,
    priority: Priority | (() => Priority),
    signal?: AbortSignal,
    hooks: AdmitHooks = {},
    cooldownResource: string = resource,
  ): Promise<void> {
    const started = performance.now();
    const left = (): number => this.#maxWaitMs - (performance.now() - started);
    // Refusals in a row that the store could not put a wait on.
    let blind = 0;
    const store = this.#store;
    const admit = store.admit;
    const level = (): Priority =>
      typeof priority === "function" ? priority() : priority;
    for (;;) {
      signal?.throwIfAborted();
      let cooldown: unknown;
      let waitTime: unknown;
      if (admit !== undefined) {
        // One call checks the cooldown, admits, and tells the wait.
        const answer = await this.#call(
          "admit",
          () =>
            admit.call(store, resource, {
              priority: level(),
              cooldownResource,
            }),
          hooks,
          signal,
        );
        if (answer === FAILED || answer?.admitted === true) return;
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
        await sleep(cooldown, signal);
        continue;
      }

      if (admit === undefined) {
        const admitted = await this.#call(
          "acquire",
          () => store.acquire(resource, level()),
          hooks,
          signal,
        );
        if (admitted === FAILED || admitted) return;
        waitTime = await this.#call(
          "getWaitTime",
          () => store.getWaitTime(resource, level()),
          hooks,
          signal,
        );
        if (waitTime === FAILED) return;
      }
      // A store may refuse without knowing for how long (0, or garbage):
      // poll it with a growing pause rather than spin on it.
      const told = typeof waitTime === "number" && waitTime > 0 &&
          Number.isFinite(waitTime)
        ? waitTime
        : undefined;
      const floor = Math.min(MIN_POLL_MS * 2 ** blind, MAX_POLL_MS);
      blind = told !== undefined && told >= floor ? 0 : blind + 1;
      const wait = Math.max(floor, told === undefined ? 0 : Math.ceil(told));
      const remaining = left();
      if (
        this.#throwOnLimit || remaining <= 0 ||
        (told !== undefined && told > remaining)
      ) {
        hooks.onRejected?.(wait, "limit");
        throw new RateLimitError(
          `Cannot send a request to '${resource}': its rate limit is spent for the next ${wait} ms`,
          resource,
          wait,
        );
      }
      // Never sleep past maxWaitMs: one last try at the end of it.
      const nap = Math.min(wait, Math.ceil(remaining));
      hooks.onWait?.(nap);
      await sleep(nap, signal);
    }
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
    fn: () => Promise<T>,
    hooks: AdmitHooks,
    signal: AbortSignal | undefined,
  ): Promise<T | typeof FAILED> {
    try {
      return await storeCall(operation, fn, this.#storeTimeoutMs, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      hooks.onStoreError?.(error, this.#failOpen);
      if (this.#failOpen) return FAILED;
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `Cannot admit a request: the rate-limit store failed in '${operation}'`,
        "unknown",
        operation,
        { cause: error },
      );
    }
  }
}

/**
 * Sleeps `ms`, or rejects with the signal's reason as soon as it aborts.
 *
 * @param ms How long to sleep.
 * @param signal Stops the sleep.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

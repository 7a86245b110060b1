/**
 * Admission of one request attempt against a {@linkcode RateLimitStore}:
 * waits out a server cooldown, then takes one unit of budget with the
 * store's atomic `acquire`, sleeping while the budget is spent, or refuses
 * with {@linkcode RateLimitError}.
 *
 * @module
 */

import { RateLimitError, StoreError } from "../errors.ts";
import type {
  AdaptiveRateLimitStore,
  Priority,
  RateLimitStore,
} from "../stores/types.ts";

/** The shortest sleep between two refused acquisitions, in ms. */
const MIN_POLL_MS = 5;

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
    } = options;
    this.#store = store as AdaptiveRateLimitStore;
    this.#maxWaitMs = maxWaitMs;
    this.#throwOnLimit = throwOnLimit;
    this.#failOpen = failOpen;
  }

  /**
   * Admits one attempt on `resource`.
   *
   * @param resource The store resource key.
   * @param priority The traffic class.
   * @param signal Aborts waiting; the promise rejects with its reason.
   * @param hooks Event callbacks.
   * @throws {RateLimitError} When waiting is not allowed or would take too long.
   * @throws {StoreError} When the store fails and `failOpen` is off.
   */
  async admit(
    resource: string,
    priority: Priority,
    signal?: AbortSignal,
    hooks: AdmitHooks = {},
  ): Promise<void> {
    const started = performance.now();
    for (;;) {
      signal?.throwIfAborted();
      const left = this.#maxWaitMs - (performance.now() - started);

      const cooldown = await this.#call(
        "getCooldown",
        () => this.#store.getCooldown(resource),
        hooks,
      );
      if (cooldown !== undefined && cooldown > 0) {
        if (this.#throwOnLimit || cooldown > left) {
          hooks.onRejected?.(cooldown, "cooldown");
          throw new RateLimitError(
            `Cannot send a request to '${resource}': the server asked to hold back for ${
              Math.ceil(cooldown)
            } ms`,
            resource,
            cooldown,
          );
        }
        hooks.onCooldown?.(cooldown);
        await sleep(cooldown, signal);
        continue;
      }

      const admitted = await this.#call(
        "acquire",
        () => this.#store.acquire(resource, priority),
        hooks,
      );
      if (admitted === undefined || admitted) return;

      const waitTime = await this.#call(
        "getWaitTime",
        () => this.#store.getWaitTime(resource, priority),
        hooks,
      );
      if (waitTime === undefined) return;
      const wait = Math.max(MIN_POLL_MS, Math.ceil(waitTime));
      if (this.#throwOnLimit || wait > left) {
        hooks.onRejected?.(wait, "limit");
        throw new RateLimitError(
          `Cannot send a request to '${resource}': its rate limit is spent for the next ${wait} ms`,
          resource,
          wait,
        );
      }
      hooks.onWait?.(wait);
      await sleep(wait, signal);
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
      await this.#store.setCooldown(resource, durationMs);
    } catch (error) {
      hooks.onStoreError?.(error, true);
    }
  }

  // Runs one store call. On failure: reports it and returns undefined when
  // failing open (the caller then admits), or throws StoreError.
  async #call<T>(
    operation: string,
    fn: () => Promise<T>,
    hooks: AdmitHooks,
  ): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      hooks.onStoreError?.(error, this.#failOpen);
      if (this.#failOpen) return undefined;
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

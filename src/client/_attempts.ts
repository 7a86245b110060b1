// The attempts of one request: each is admitted by the rate limiter, sent
// with its own deadline, learnt from (server cooldowns) and retried on
// network errors and retryable statuses, until one is final.

import { deadline } from "../_clock_deadline.ts";
import { sleepOn } from "../_clock_sleep.ts";
import { type Clock, systemClock } from "../clock.ts";
import { TimeoutError } from "../errors.ts";
import { follow } from "../_signals.ts";
import {
  mayAnnounceLimit,
  mayCarryCooldown,
  parseRetryAfter,
  readRateLimitSignals,
} from "../rate_limit/server_signals.ts";
import { backoffDelayMs, shouldRetry } from "../retry/retry_policy.ts";
import { escapeKeyPart } from "../stores/keys.ts";
import { discard } from "./_body.ts";
import { wrapBody } from "./_response.ts";
import type { Call } from "./_call.ts";
import type { HttpClientHooks } from "./hooks.ts";
import { ANNOUNCED_LIMIT, type Pipeline } from "./_pipeline.ts";
import type { AnnouncedLimit } from "../events.ts";

/** The final attempt of a request, its body still unread. */
export interface Exchange {
  response: Response;
  /** The clock's time when the attempt was sent. */
  requestTime: number;
  /** The clock's time when its response headers came. */
  responseTime: number;
  /** How many attempts were sent. */
  attempts: number;
  /** Clears the attempt's deadline. */
  done: () => void;
  /** Maps an error raised while reading the body to the deadline's or the signal's. */
  mapError: (error: unknown) => unknown;
  /** Aborts with the attempt's deadline or the flight's signal. */
  signal: AbortSignal;
}

/** Sends a request's attempts. */
export class Attempts {
  readonly #pipeline: Pipeline;
  readonly #rootPrefix: string;
  /** The clock deadlines and backoffs are measured on. */
  readonly #timing: Clock;

  constructor(pipeline: Pipeline, rootPrefix: string) {
    this.#pipeline = pipeline;
    this.#rootPrefix = rootPrefix;
    const { clock } = pipeline.config;
    // A clock with now() alone has its waits made on real timers: measure
    // what is left of a deadline on the same time.
    this.#timing = typeof clock.sleep === "function" ? clock : systemClock;
  }

  /**
   * Starts the call's total deadline, when it has one: `state.totalSignal`
   * aborts with a {@linkcode TimeoutError} once it passes, or with the
   * reason of the caller's signal when that aborts first, so that it alone
   * bounds the caller's waits; `state.release` clears both.
   */
  startTotal(call: Call): void {
    if (call.totalMs === undefined) return;
    const controller = new AbortController();
    const totalMs = call.totalMs;
    const timing = this.#timing;
    const unfollow = call.signal === undefined
      ? _nothing
      : follow(call.signal, controller);
    call.state.totalEndsAt = timing.now() + totalMs;
    call.state.totalSignal = controller.signal;
    const cancel = deadline(timing, totalMs, (failure) => {
      unfollow();
      controller.abort(
        failure ??
          new TimeoutError(
            `${call.method} ${call.shownUrl} timed out after ${totalMs} ms in total`,
            totalMs,
            "total",
          ),
      );
    });
    call.state.release = unfollow === _nothing ? cancel : () => {
      cancel();
      unfollow();
    };
  }

  /**
   * Sends attempts until one is final, with `conditional` headers added
   * (a revalidation's validators).
   *
   * @throws What the last attempt failed with, a {@linkcode RateLimitError}
   * or the signal's reason.
   */
  async exchange(
    call: Call,
    signal: AbortSignal | undefined,
    conditional: readonly [string, string][],
  ): Promise<Exchange> {
    const { config, events } = this.#pipeline;
    const { state } = call;
    const retry = call.retry;
    const hooks = config.hooks;
    for (let retries = 0;; retries++) {
      if (call.background && this.#pipeline.isClosed(call.scope)) {
        throw this.#pipeline.closedError(call.scope);
      }
      // Waiting for budget, a cooldown or a backoff: close() may cut it short.
      state.sending = false;
      // Tells the store when the admitted request was answered: until a
      // window after that, it may still share a window at the origin.
      const answered = await this.#admit(call, signal);
      state.sending = true;
      const attempt = new AbortController();
      const cancel = deadline(this.#timing, call.attemptMs, (failure) => {
        attempt.abort(failure ?? attemptTimeout(call));
      });
      const unfollow = follow(signal, attempt);
      const done = (): void => {
        cancel();
        unfollow();
      };
      const attemptSignal = attempt.signal;
      const mapError = (error: unknown): unknown => {
        if (signal?.aborted) return signal.reason;
        if (attempt.signal.aborted) return attempt.signal.reason;
        return error;
      };
      const init = this.#init(call, conditional, attemptSignal);
      if (hooks?.beforeAttempt !== undefined) {
        const headers = new Headers(init.headers);
        init.headers = headers;
        try {
          await _hook(hooks.beforeAttempt, {
            method: call.method,
            url: call.url,
            attempt: retries + 1,
            headers,
            background: call.background,
            requestId: call.requestId,
          }, attemptSignal);
        } catch (error) {
          answered?.();
          done();
          const mapped = mapError(error);
          if (await this.#backOff(call, retries, mapped, signal)) continue;
          throw mapped;
        }
      }
      const requestTime = config.clock.now();
      const sentAt = events.listening ? performance.now() : 0;
      let response: Response;
      try {
        response = await config.fetch(call.url, init);
      } catch (error) {
        answered?.();
        done();
        const mapped = mapError(error);
        events.origin(call, retries + 1, sentAt, conditional, mapped);
        if (await this.#backOff(call, retries, mapped, signal)) continue;
        throw mapped;
      }
      answered?.();
      const responseTime = config.clock.now();
      events.origin(
        call,
        retries + 1,
        sentAt,
        conditional,
        response.status,
        this.#announced(call, response.headers, responseTime),
      );
      await this.#learn(call, response, responseTime);
      if (hooks?.afterResponse !== undefined) {
        const refused = await this.#afterResponse(
          call,
          hooks.afterResponse,
          response,
          retries + 1,
          attemptSignal,
        );
        if (refused !== undefined) {
          done();
          await discard(response.body);
          const mapped = mapError(refused.error);
          if (await this.#backOff(call, retries, mapped, signal, true)) {
            continue;
          }
          throw mapped;
        }
      }
      let again: boolean;
      try {
        const decided = this.#retries(
          call,
          retries,
          { status: response.status },
          signal,
        );
        again = typeof decided === "boolean" ? decided : await decided;
      } catch (error) {
        // A `shouldRetry` that throws fails the call with what it threw.
        done();
        await discard(response.body);
        throw error;
      }
      if (again) {
        const retryAfter = parseRetryAfter(
          response.headers.get("retry-after"),
          responseTime,
        );
        if (retryAfter === undefined || retryAfter <= retry.maxDelayMs) {
          const delay = backoffDelayMs(
            retries,
            retry,
            Math.random,
            retryAfter,
          );
          if (this.#fits(call, delay)) {
            done();
            await discard(response.body);
            events.retry(call, retries + 1, delay, response.status);
            state.sending = false;
            await sleepOn(this.#timing, delay, signal);
            continue;
          }
        }
      }
      return {
        response,
        requestTime,
        responseTime,
        attempts: retries + 1,
        done,
        mapError,
        signal: attemptSignal,
      };
    }
  }

  // After an attempt failed with `error` (no response to discard): whether
  // it is retried, and if so, reports the retry and sleeps its backoff.
  async #backOff(
    call: Call,
    retries: number,
    error: unknown,
    signal: AbortSignal | undefined,
    hookError = false,
  ): Promise<boolean> {
    if (!(await this.#retries(call, retries, { error }, signal, hookError))) {
      return false;
    }
    const delay = backoffDelayMs(retries, call.retry);
    if (!this.#fits(call, delay)) return false;
    this.#pipeline.events.retry(call, retries + 1, delay, undefined, error);
    call.state.sending = false;
    await sleepOn(this.#timing, delay, signal);
    return true;
  }

  // Runs `afterResponse` on a copy of `response`: what it threw or returned
  // as an error, or `undefined` when it let the response through.
  async #afterResponse(
    call: Call,
    hook: NonNullable<HttpClientHooks["afterResponse"]>,
    response: Response,
    attempt: number,
    signal: AbortSignal,
  ): Promise<{ error: unknown } | undefined> {
    let copy: Response;
    try {
      copy = response.clone();
    } catch (error) {
      return { error };
    }
    try {
      const result = await _hook(hook, {
        method: call.method,
        url: call.url,
        attempt,
        response: copy,
        background: call.background,
        requestId: call.requestId,
      }, signal);
      if (result instanceof Error) return { error: result };
      return undefined;
    } catch (error) {
      return { error };
    } finally {
      // What the hook did not read is not kept.
      if (!copy.bodyUsed) void discard(copy.body);
    }
  }

  // Whether a failed attempt is retried: the `retry` options decide, unless
  // a `shouldRetry` hook allows or vetoes it. A hook's own error is not
  // retried unless `shouldRetry` asks for it. Throws what the hook threw.
  #retries(
    call: Call,
    retries: number,
    outcome: { status: number } | { error: unknown },
    signal: AbortSignal | undefined,
    hookError = false,
  ): boolean | Promise<boolean> {
    const able = call.retryableBody && signal?.aborted !== true &&
      !this.#pipeline.isClosed(call.scope);
    const byOptions = able && !hookError &&
      shouldRetry(call.method, retries, outcome, call.retry);
    const ask = this.#pipeline.config.hooks?.shouldRetry;
    if (
      ask === undefined || !able || !(retries < call.retry.attempts) ||
      ("status" in outcome && outcome.status < 400)
    ) {
      return byOptions;
    }
    return _hook(ask, {
      method: call.method,
      url: call.url,
      attempt: retries + 1,
      ...("status" in outcome
        ? { status: outcome.status }
        : { error: outcome.error }),
      retry: byOptions,
    }, signal).then((decision) =>
      typeof decision === "boolean" ? decision : byOptions
    );
  }

  /**
   * The body of a final attempt as its caller receives it:
   * - when the client reads it in full for the caller (`call.buffered`),
   *   the attempt's deadline runs until the body ends;
   * - otherwise the deadline ends with the headers, and each read of the
   *   body then waits `attemptMs` at most for the origin, unless
   *   `unbounded` (an event stream may be silent for as long as it likes);
   * - the call's total deadline runs until the body ends, fails or is
   *   cancelled;
   * - the body fails with `signal`'s reason when it aborts.
   *
   * @param stream The body: the response's own, or what is left of it.
   * @param signal A signal the exchange was sent on (so that the attempt's
   * signal aborts with it too), or none.
   */
  handOver(
    call: Call,
    exchange: Exchange,
    stream: ReadableStream<Uint8Array> | null,
    signal: AbortSignal | undefined,
    unbounded = false,
  ): ReadableStream<Uint8Array> | null {
    const { state } = call;
    const release = state.totalSignal === undefined
      ? undefined
      : () => state.release?.();
    if (stream === null) {
      exchange.done();
      release?.();
      return null;
    }
    if (call.buffered) {
      const { done } = exchange;
      return wrapBody(
        stream,
        release === undefined ? done : () => {
          done();
          release();
        },
        exchange.signal,
      );
    }
    exchange.done();
    if (unbounded) {
      if (release === undefined && signal === undefined) return stream;
      return wrapBody(stream, release ?? _nothing, signal);
    }
    return wrapBody(stream, release ?? _nothing, signal, {
      clock: this.#timing,
      ms: call.attemptMs,
      error: () => attemptTimeout(call),
    });
  }

  // Whether a backoff leaves time before the total deadline.
  #fits(call: Call, delayMs: number): boolean {
    const endsAt = call.state.totalEndsAt;
    return endsAt === undefined || this.#timing.now() + delayMs < endsAt;
  }

  #init(
    call: Call,
    conditional: readonly [string, string][],
    signal: AbortSignal,
  ): RequestInit {
    let headers = call.sentHeaders;
    if (conditional.length > 0) {
      headers = new Headers(headers);
      for (const [name, value] of conditional) headers.set(name, value);
    }
    const init: RequestInit = {
      ...call.init,
      method: call.method,
      headers,
      signal,
    };
    if (call.body !== null) init.body = call.body;
    return init;
  }

  // The rate-limit resource of the call's client or scope, and where the
  // cooldowns of it are kept.
  #resource(call: Call): string {
    const { state } = call;
    if (state.resource === undefined) {
      const resource = escapeKeyPart(
        this.#pipeline.config.resource(new URL(call.url)),
      );
      state.resource = `${call.scope.prefix}:ratelimit:${resource}`;
      // The server's cooldown is about the resource, whoever asked: it
      // holds back the client and every scope alike.
      state.cooldownResource = `${this.#rootPrefix}:ratelimit:${resource}`;
    }
    return state.resource;
  }

  async #admit(
    call: Call,
    signal: AbortSignal | undefined,
  ): Promise<(() => void) | undefined> {
    const limiter = this.#pipeline.config.limiter;
    if (limiter === undefined) return undefined;
    const resource = this.#resource(call);
    return await limiter.admit(
      resource,
      () => call.state.priority,
      signal,
      this.#pipeline.events.admitHooks(call, resource),
      call.state.cooldownResource,
    );
  }

  // The limit the server announced on a response, remembered for the
  // call's resource (when rate limited) and handed to the origin event.
  #announced(
    call: Call,
    headers: Headers,
    now: number,
  ): AnnouncedLimit | undefined {
    const { config, events, announced } = this.#pipeline;
    if (
      (config.limiter === undefined && !events.listening) ||
      !mayAnnounceLimit(headers)
    ) {
      return undefined;
    }
    const { limit, remaining, resetMs, windowMs } = readRateLimitSignals(
      headers,
      now,
    );
    if (limit === undefined && remaining === undefined) return undefined;
    const found: AnnouncedLimit = {
      ...(limit === undefined ? {} : { limit }),
      ...(remaining === undefined ? {} : { remaining }),
      ...(resetMs === undefined ? {} : { resetMs }),
      ...(windowMs === undefined ? {} : { windowMs }),
    };
    const resource = call.state.resource;
    if (resource !== undefined) {
      announced.delete(resource);
      if (announced.size >= ANNOUNCED_LIMIT) {
        announced.delete(announced.keys().next().value!);
      }
      announced.set(resource, { ...found, at: now });
    }
    return found;
  }

  // Records what the server said about its rate limit.
  async #learn(call: Call, response: Response, now: number): Promise<void> {
    const limiter = this.#pipeline.config.limiter;
    if (
      limiter === undefined ||
      !mayCarryCooldown(response.headers, response.status)
    ) {
      return;
    }
    const { cooldownMs } = readRateLimitSignals(
      response.headers,
      now,
      response.status,
    );
    if (cooldownMs === undefined || !(cooldownMs > 0)) return;
    this.#resource(call);
    const resource = call.state.cooldownResource!;
    const { events } = this.#pipeline;
    if (events.listening) {
      events.emit({
        type: "cooldown",
        ...events.fields(call, now),
        resource,
        cooldownMs,
        action: "set",
      });
    }
    await limiter.cooldown(
      resource,
      cooldownMs,
      events.admitHooks(call, resource),
    );
  }
}

/** The error of an attempt that ran past `attemptMs`. */
export function attemptTimeout(call: Call): TimeoutError {
  return new TimeoutError(
    `${call.method} ${call.shownUrl} timed out after ${call.attemptMs} ms (one attempt)`,
    call.attemptMs,
    "attempt",
  );
}

function _nothing(): void {}

/**
 * Runs a hook: what it returns, or a rejection with what it threw, or with
 * `signal`'s reason once it aborts (the attempt's deadline, the caller's
 * abort). A hook that settles later is ignored, never left unhandled.
 */
function _hook<C, R>(
  hook: (context: C) => R | Promise<R>,
  context: C,
  signal: AbortSignal | undefined,
): Promise<R> {
  const running = new Promise<R>((resolve) => resolve(hook(context)));
  if (signal === undefined) return running;
  if (signal.aborted) {
    running.then(undefined, _nothing);
    return Promise.reject(signal.reason);
  }
  return new Promise<R>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    running.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

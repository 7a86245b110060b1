// The events of the pipeline: one place that knows each event's shape, so
// that a stage reports what happened in one line, and pays nothing when no
// listener is set.

import type { CachedResponse } from "../cache/entry.ts";
import type { Clock } from "../clock.ts";
import type {
  AnnouncedLimit,
  CacheMissReason,
  CacheSkipReason,
  EventListener,
  SluiceEvent,
} from "../events.ts";
import { RateLimitError, StoreError } from "../errors.ts";
import type { AdmitHooks } from "../rate_limit/limiter.ts";
import { ageMs, type CallSpec, type CallState } from "./_call.ts";

/** What an event needs of a call. */
type Subject = Pick<
  CallSpec,
  "scope" | "requestId" | "method" | "shownUrl"
>;

/** Reports the pipeline's events to a listener, if there is one. */
export class Events {
  /** Whether events are wanted; callers skip building them otherwise. */
  readonly listening: boolean;
  readonly #listener: EventListener | undefined;
  readonly #clock: Clock;
  readonly #client: string;
  #idPrefix: string | undefined;
  #idCount = 0;

  /**
   * @param listener The client's `onEvent`.
   * @param clock The time events carry.
   * @param client The client's name, for events about no request.
   */
  constructor(
    listener: EventListener | undefined,
    clock: Clock,
    client: string,
  ) {
    this.#listener = listener;
    this.listening = listener !== undefined;
    this.#clock = clock;
    this.#client = client;
  }

  /**
   * A new call id: a random prefix drawn at the first call, so that ids of
   * different clients and processes differ, then a counter.
   */
  nextRequestId(): string {
    this.#idPrefix ??= _randomHex(6);
    this.#idCount++;
    return `${this.#idPrefix}-${this.#idCount.toString(36)}`;
  }

  /** Hands an event to the listener; a throw or a rejection is swallowed. */
  emit(event: SluiceEvent): void {
    if (this.#listener === undefined) return;
    try {
      const result = this.#listener(event) as unknown;
      if (
        typeof result === "object" && result !== null &&
        typeof (result as Promise<void>).then === "function"
      ) {
        (result as Promise<void>).then(undefined, () => {});
      }
    } catch {
      // A listener must never break a request.
    }
  }

  /** The fields every event about a request carries. */
  fields(
    call: Subject,
    time: number = this.#clock.now(),
  ): {
    client: string;
    time: number;
    requestId: string;
    method: string;
    url: string;
  } {
    return {
      client: call.scope.prefix,
      time,
      requestId: call.requestId,
      method: call.method,
      url: call.shownUrl,
    };
  }

  /** A cache store failed; the request carries on without it. */
  cacheError(call: Subject | undefined, error: unknown): void {
    if (!this.listening) return;
    this.emit({
      type: "error",
      client: call?.scope.prefix ?? this.#client,
      time: this.#clock.now(),
      ...(call === undefined ? {} : {
        requestId: call.requestId,
        method: call.method,
        url: call.shownUrl,
      }),
      stage: "cache",
      failedOpen: true,
      error,
    });
  }

  /** A store or the origin failed in `stage`, and the request carried on. */
  failedOpen(
    call: Subject,
    stage: "fetch" | "dedupe" | "ratelimit",
    error: unknown,
  ): void {
    if (!this.listening) return;
    this.emit({
      type: "error",
      ...this.fields(call),
      stage,
      failedOpen: true,
      error,
    });
  }

  /** The cache had nothing to serve. */
  miss(call: Subject, key: string, reason: CacheMissReason): void {
    if (!this.listening) return;
    this.emit({ type: "cache.miss", ...this.fields(call), key, reason });
  }

  /** A fresh entry was served. */
  hit(call: Subject, key: string, now: number, entry: CachedResponse): void {
    if (!this.listening) return;
    this.emit({
      type: "cache.hit",
      ...this.fields(call, now),
      key,
      ageMs: ageMs(entry, now),
    });
  }

  /** A stale entry was found, and what is done with it. */
  stale(
    call: Subject,
    key: string,
    now: number,
    entry: CachedResponse,
    action: "serve-and-revalidate" | "revalidate" | "serve-on-error",
  ): void {
    if (!this.listening) return;
    this.emit({
      type: "cache.stale",
      ...this.fields(call, now),
      key,
      ageMs: ageMs(entry, now),
      action,
    });
  }

  /** A response was not stored. */
  skipped(call: Subject, key: string, reason: CacheSkipReason): void {
    if (!this.listening) return;
    this.emit({ type: "cache.skipped", ...this.fields(call), key, reason });
  }

  /** An attempt is retried after `delayMs`. */
  retry(
    call: Subject,
    attempt: number,
    delayMs: number,
    status: number | undefined,
    error?: unknown,
  ): void {
    if (!this.listening) return;
    this.emit({
      type: "retry",
      ...this.fields(call),
      attempt,
      delayMs,
      ...(status === undefined ? {} : { status }),
      ...(error === undefined ? {} : { errorName: _errorName(error) }),
    });
  }

  /**
   * An attempt sent at `sentAt` (`performance.now()`) ended with a status or
   * an error.
   */
  origin(
    call: Subject & {
      background: boolean;
      state: Pick<CallState, "resource">;
    },
    attempt: number,
    sentAt: number,
    conditional: readonly unknown[],
    ended: number | unknown,
    announced?: AnnouncedLimit,
  ): void {
    if (!this.listening) return;
    const resource = call.state.resource;
    this.emit({
      type: "origin",
      ...this.fields(call),
      attempt,
      ...(typeof ended === "number"
        ? { status: ended }
        : { errorName: _errorName(ended) }),
      durationMs: performance.now() - sentAt,
      conditional: conditional.length > 0,
      background: call.background,
      ...(resource === undefined ? {} : { resource }),
      ...(announced === undefined ? {} : { announced }),
    });
  }

  /**
   * The callbacks through which the rate limiter reports a call's waits,
   * cooldowns, refusals and store failures; `undefined` without a listener.
   */
  admitHooks(
    call: Subject & { state: CallState },
    resource: string,
  ): AdmitHooks | undefined {
    if (!this.listening) return undefined;
    const { state } = call;
    return {
      onWait: (waitMs) =>
        this.emit({
          type: "ratelimit.wait",
          ...this.fields(call),
          resource,
          priority: state.priority,
          waitMs,
        }),
      onCooldown: (cooldownMs) =>
        this.emit({
          type: "cooldown",
          ...this.fields(call),
          resource: state.cooldownResource ?? resource,
          cooldownMs,
          action: "wait",
        }),
      onRejected: (retryAfterMs, reason) =>
        this.emit({
          type: "ratelimit.rejected",
          ...this.fields(call),
          resource: reason === "cooldown"
            ? state.cooldownResource ?? resource
            : resource,
          priority: state.priority,
          retryAfterMs,
          reason,
        }),
      onStoreError: (error, failedOpen) =>
        this.emit({
          type: "error",
          ...this.fields(call),
          stage: "ratelimit",
          failedOpen,
          error,
        }),
    };
  }
}

/**
 * The stage an error that reached the caller failed in. Only the rate
 * limiter lets a failure through: cache and dedupe stores fail open.
 */
export function errorStage(error: unknown): "ratelimit" | "fetch" {
  return error instanceof RateLimitError || error instanceof StoreError
    ? "ratelimit"
    : "fetch";
}

/** `bytes` random bytes as lower-case hex. */
function _randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  let text = "";
  for (const value of values) text += value.toString(16).padStart(2, "0");
  return text;
}

/** The `name` of a thrown value, `"Error"` when it has none. */
function _errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === "string" ? name : "Error";
}

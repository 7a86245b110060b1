// Responses as the caller receives them: built from a shared buffered
// response, or re-streamed so that the body ends the call's deadlines, fails
// with a signal the transport may not heed, and bounds each read. Also what of a response
// may be stored or shared: never a cookie the origin set for one caller.

import { deadline } from "../_clock_deadline.ts";
import type { Clock } from "../clock.ts";
import { headersOf } from "../cache/entry.ts";
import { discard } from "./_body.ts";
import type { Raw } from "./_call.ts";
import { statusResponse } from "./_status_response.ts";

const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);

/** Builds a `Response` from a shared buffered response. */
export function rawToResponse(raw: Raw, method: string): Response {
  const noBody = method === "HEAD" || NULL_BODY_STATUSES.has(raw.status);
  const response = statusResponse(noBody ? null : raw.body as BodyInit, {
    status: raw.status,
    statusText: raw.statusText,
    headers: headersOf(raw.headers),
  });
  Object.defineProperty(response, "url", { value: raw.url, enumerable: true });
  return response;
}

/**
 * A response whose body is `body` in place of its own; `response` itself
 * when `body` is its own.
 *
 * @param url The URL the response answers when it has none of its own.
 */
export function streamedResponse(
  response: Response,
  body: ReadableStream<Uint8Array> | null,
  url: string,
): Response {
  return body === response.body ? response : _withBody(response, body, url);
}

/**
 * Ties a streamed body to a caller's signal, as `fetch` would: the body
 * fails with its reason when it aborts.
 *
 * @throws The signal's reason when it has already aborted.
 */
export function linkSignal(
  response: Response,
  signal: AbortSignal,
  url: string,
): Response {
  if (response.body === null) return response;
  if (signal.aborted) {
    void discard(response.body);
    throw signal.reason;
  }
  return _withBody(response, wrapBody(response.body, _nothing, signal), url);
}

/** A bound on each read of a streamed body. */
export interface ReadBound {
  /** The clock the bound is measured on. */
  clock: Clock;
  /** How long one read may wait for the source. */
  ms: number;
  /** The error the body fails with when a read waits longer. */
  error: () => unknown;
}

/**
 * Re-streams a body, calling `onEnd` once when it ends, fails or is
 * cancelled, and failing it with the signal's reason when `signal` aborts
 * (at once when it has already aborted). With `bound`, a read that waits
 * longer than `bound.ms` for the source fails the body with
 * `bound.error()`; the time between the reader's reads does not count.
 */
export function wrapBody(
  stream: ReadableStream<Uint8Array>,
  onEnd: () => void,
  signal?: AbortSignal,
  bound?: ReadBound,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let ended = false;
  let onAbort: (() => void) | undefined;
  const end = (): void => {
    if (!ended) {
      ended = true;
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      onEnd();
    }
  };
  let fail: ((reason: unknown) => void) | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      fail = (reason) => {
        if (ended) return;
        end();
        controller.error(reason);
        reader.cancel(reason).catch(() => {});
      };
      if (signal === undefined) return;
      if (signal.aborted) return fail(signal.reason);
      onAbort = () => fail!(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      const cancelBound = bound === undefined
        ? undefined
        : deadline(bound.clock, bound.ms, (failure) => {
          fail!(failure ?? bound.error());
        });
      try {
        const { done, value } = await reader.read();
        if (ended) return;
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        if (ended) return;
        end();
        controller.error(error);
      } finally {
        cancelBound?.();
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * The headers of a response that may be stored: a cookie the origin set is
 * for the caller whose request it answered, never stored.
 */
export function storableHeaders(headers: Headers): Headers {
  if (!headers.has("set-cookie")) return headers;
  const out = new Headers(headers);
  out.delete("set-cookie");
  return out;
}

/** A buffered response without the cookies the origin set: one to share. */
export function withoutCookies(raw: Raw): Raw {
  if (!raw.headers.some(([name]) => name === "set-cookie")) return raw;
  return {
    ...raw,
    headers: raw.headers.filter(([name]) => name !== "set-cookie"),
  };
}

function _withBody(
  response: Response,
  body: ReadableStream<Uint8Array> | null,
  url: string,
): Response {
  const out = statusResponse(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(out, "url", {
    value: response.url === "" ? url : response.url,
    enumerable: true,
  });
  return out;
}

function _nothing(): void {}

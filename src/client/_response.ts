// Responses as the caller receives them: built from a shared buffered
// response, or re-streamed so that the body ends the call's deadline and
// fails with a signal the transport may not heed. Also what of a response
// may be stored or shared: never a cookie the origin set for one caller.

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
    headers: raw.headers,
  });
  Object.defineProperty(response, "url", { value: raw.url, enumerable: true });
  return response;
}

/**
 * A response whose body goes to the caller as `stream`: it calls `onEnd`
 * once when the body ends, fails or is cancelled, and fails with the
 * signal's reason when `signal` aborts, whether or not the transport heeds
 * it. Returns `response` itself when there is nothing to add.
 *
 * @param url The URL the response answers when it has none of its own.
 */
export function streamedResponse(
  response: Response,
  stream: ReadableStream<Uint8Array> | null,
  url: string,
  onEnd: (() => void) | undefined,
  signal?: AbortSignal,
): Response {
  if (stream === response.body && onEnd === undefined && signal === undefined) {
    return response;
  }
  const body = stream === response.body && stream !== null
    ? wrapBody(stream, onEnd ?? _nothing, signal)
    : stream;
  return _withBody(response, body, url);
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

/**
 * Re-streams a body, calling `onEnd` once when it ends, fails or is
 * cancelled, and failing it with the signal's reason when `signal` aborts.
 */
export function wrapBody(
  stream: ReadableStream<Uint8Array>,
  onEnd: () => void,
  signal?: AbortSignal,
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
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (signal === undefined) return;
      onAbort = () => {
        end();
        controller.error(signal.reason);
        reader.cancel(signal.reason).catch(() => {});
      };
      signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
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

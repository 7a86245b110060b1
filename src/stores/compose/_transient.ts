// Which store failures are worth another try: those of the network or of a
// service that is busy or briefly away, as opposed to a bad option, a closed
// store, a value that cannot be encoded, or a command the backend refuses.

import { isSluiceError } from "../../errors.ts";

/** Error codes of connections that failed, dropped or timed out. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENETRESET",
  "ENOTCONN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ConnectionRefused",
  "ConnectionClosed",
  "ConnectionReset",
  "FailedToOpenSocket",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
]);

/** How `fetch` describes a failed request, on each runtime. */
const NETWORK_MESSAGE =
  /fetch failed|failed to fetch|error sending request|network|connection|connect|socket|timed? ?out/i;
/** A deadline a store gave up at: `did not answer within 5000 ms`. */
const DEADLINE_MESSAGE = /did not answer|timed? ?out|timeout/i;
/** Redis replies that say: try again shortly. */
const BUSY_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN)\b/;
/** An HTTP service (Upstash) answering that it is overloaded or failing. */
const SERVICE_STATUS = /\banswered (429|5\d\d)\b/;

/** How deep the chain of causes is searched. */
const MAX_DEPTH = 6;

/**
 * Whether `error` is a {@linkcode StoreError} that another try may not
 * meet: its cause (or a cause of its cause) is a network failure (a
 * `TypeError` from `fetch`, a connection error code), a timeout, a busy
 * database or Redis (`SQLITE_BUSY`, `LOADING`, `BUSY`, `TRYAGAIN`), or an
 * HTTP 429 or 5xx; or it has no cause and is a store's own deadline.
 * Anything else, a `ConfigError` above all, is not.
 */
export function isTransientStoreError(error: unknown): boolean {
  if (!isSluiceError(error) || error.code !== "ERR_STORE") return false;
  if (error.cause === undefined) return DEADLINE_MESSAGE.test(error.message);
  return _transientCause(error.cause, 0);
}

function _transientCause(cause: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof cause !== "object" || cause === null) {
    return false;
  }
  if (isSluiceError(cause)) {
    if (cause.code === "ERR_CONFIG") return false;
    if (cause.code === "ERR_TIMEOUT") return true;
    if (cause.code === "ERR_STORE" && cause.cause === undefined) {
      return DEADLINE_MESSAGE.test(cause.message);
    }
  }
  const { code, status, name, message, errors } = cause as {
    code?: unknown;
    status?: unknown;
    name?: unknown;
    message?: unknown;
    errors?: unknown;
  };
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  if (typeof status === "number" && (status === 429 || status >= 500)) {
    return true;
  }
  if (name === "TimeoutError") return true;
  if (typeof message === "string") {
    if (name === "TypeError" && NETWORK_MESSAGE.test(message)) return true;
    if (BUSY_REPLY.test(message) || SERVICE_STATUS.test(message)) return true;
  }
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      if (_transientCause(inner, depth + 1)) return true;
    }
  }
  return _transientCause((cause as { cause?: unknown }).cause, depth + 1);
}

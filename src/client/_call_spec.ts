// The call the pipeline runs for one request: the request's parts
// normalised (method, URL, headers and credentials, cache mode and
// directives, deadlines) over the client's options.

import type { Call, Scope, Validate } from "./_call.ts";
import type { Engine } from "./_engine.ts";
import {
  type Parts,
  priorityOf,
  sentHeaders,
  type UserInfoUrl,
  withoutUserInfo,
} from "./_request.ts";
import {
  resolveRequestCache,
  resolveRequestRetry,
  resolveTimeouts,
  resolveWaitUntil,
} from "./_request_options.ts";
import { requestTags } from "./_tags.ts";
import type { ResolvedOptions } from "./_validate_options.ts";

const URL_MEMO_LIMIT = 1_024;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What a client shares with its scopes. */
export interface Shared {
  engine: Engine;
  options: ResolvedOptions;
  defaultCredentials: string;
  urls: Map<string, string>;
}

/**
 * The call of a request of `scope`. `check` builds the validation of its
 * body for its URL; `buffered` says the caller takes the body as data.
 */
export function buildCall(
  shared: Shared,
  scope: Scope,
  parts: Parts,
  check?: (url: string) => Validate,
  buffered = false,
): Call {
  const { options, engine } = shared;
  const method = parts.method.toUpperCase();
  if (!METHOD.test(method)) {
    throw new TypeError(`Cannot send a request with method '${method}'`);
  }
  let url = resolveUrl(shared, parts.url);
  let headers = options.headers;
  let credentials = shared.defaultCredentials;
  if (parts.headers !== undefined) {
    headers = new Headers(options.headers);
    for (const [name, value] of new Headers(parts.headers)) {
      headers.set(name, value);
    }
    credentials = engine.credentials(headers);
  }
  if (typeof url !== "string") {
    if (!headers.has("authorization")) {
      if (headers === options.headers) headers = new Headers(headers);
      headers.set("authorization", url.authorization);
      credentials = engine.credentials(headers);
    }
    url = url.url;
  }
  const { mode, directives, ttlMs } = resolveRequestCache(parts.cache);
  let evalHeaders = headers;
  if (directives !== "") {
    evalHeaders = new Headers(headers);
    const existing = evalHeaders.get("cache-control");
    evalHeaders.set(
      "cache-control",
      existing === null ? directives : `${existing}, ${directives}`,
    );
  }
  const timeouts = parts.timeout === undefined
    ? options.timeouts
    : resolveTimeouts(parts.timeout, options.timeouts, "timeout", "request");
  return {
    scope: scope,
    requestId: engine.listening ? engine.nextRequestId() : "",
    method,
    url,
    shownUrl: options.showUrl(url),
    headers,
    evalHeaders,
    sentHeaders: sentHeaders(mode, headers),
    credentials,
    body: method === "GET" || method === "HEAD" ? null : parts.body,
    retryableBody: !(parts.body instanceof ReadableStream),
    init: parts.init,
    signal: parts.signal,
    mode,
    attemptMs: timeouts.attemptMs,
    totalMs: timeouts.totalMs,
    // Only events need the start time.
    started: engine.listening ? performance.now() : 0,
    retry: parts.retry === undefined
      ? options.retry
      : resolveRequestRetry(parts.retry, options.retry),
    cachePolicy: ttlMs === undefined || options.cache === undefined
      ? options.cache?.policy
      : { ...options.cache.policy, defaultTtlMs: ttlMs },
    validate: check?.(options.showUrl(url)),
    buffered,
    background: false,
    waitUntil: parts.waitUntil === undefined
      ? options.waitUntil
      : resolveWaitUntil(parts.waitUntil),
    tags: requestTags(shared, scope, parts.tags),
    state: { priority: priorityOf(parts.priority), sending: false },
  };
}

/**
 * The normalised URL, or, when it carries user info, the URL without it and
 * the Basic credentials it stood for.
 */
export function resolveUrl(
  shared: Shared,
  input: string | URL,
): string | UserInfoUrl {
  if (typeof input !== "string") {
    if (input instanceof URL) return withoutUserInfo(new URL(input));
    throw new TypeError(
      `Cannot send a request as the URL must be a string, a URL or a Request: received ${typeof input}`,
    );
  }
  const urls = shared.urls;
  const known = urls.get(input);
  if (known !== undefined) return known;
  const resolved = withoutUserInfo(
    new URL(input, shared.options.baseUrl),
  );
  // A URL with a password in it is not kept.
  if (typeof resolved !== "string") return resolved;
  if (urls.size >= URL_MEMO_LIMIT) urls.clear();
  urls.set(input, resolved);
  return resolved;
}

// Requests as callers give them (a URL and a `RequestInit`, a `Request`,
// or a helper's URL, data and options), taken apart into the same parts,
// before the client normalises them into a call.

import { normaliseUrl } from "../cache/key.ts";
import type { Priority } from "../stores/types.ts";
import { checkHelperOptions } from "./_request_options.ts";
import type {
  CacheMode,
  HttpRequestInit,
  RequestOptions,
  TimeoutOptions,
} from "./options.ts";

/** A request as the caller gave it, before the client normalises it. */
export interface Parts {
  method: string;
  url: string | URL;
  headers: HeadersInit | undefined;
  body: BodyInit | null;
  signal: AbortSignal | undefined;
  priority: unknown;
  cache: unknown;
  timeout: number | TimeoutOptions | undefined;
  waitUntil: unknown;
  retry: unknown;
  tags: unknown;
  init: RequestInit | undefined;
}

/**
 * The parts of a request made by a helper (`get`, `post`, ...): a body that
 * is not a `BodyInit` is sent as JSON.
 */
export function helperParts(
  method: string,
  url: string | URL,
  body: unknown,
  options: RequestOptions<unknown> | undefined,
): Parts {
  checkHelperOptions(options);
  let headers: HeadersInit | undefined = options?.headers;
  let bodyInit: BodyInit | null = null;
  if (body !== undefined && body !== null) {
    if (_isBodyInit(body)) bodyInit = body;
    else {
      bodyInit = JSON.stringify(body);
      const withType = new Headers(headers);
      if (!withType.has("content-type")) {
        withType.set("content-type", "application/json");
      }
      headers = withType;
    }
  }
  return {
    method,
    url,
    headers,
    body: bodyInit,
    signal: options?.signal,
    priority: options?.priority,
    cache: options?.cache,
    timeout: options?.timeout,
    waitUntil: options?.waitUntil,
    retry: options?.retry,
    tags: options?.tags,
    init: bodyInit instanceof ReadableStream
      ? { duplex: "half" } as RequestInit
      : undefined,
  };
}

/** A URL whose user info was taken out, and the credentials it gave. */
export interface UserInfoUrl {
  url: string;
  authorization: string;
}

// Deno and Bun send a URL's user info as Basic credentials (Node's fetch
// refuses it). Do so on every runtime, and take it out of the URL, so that
// it is a credential like any other: hashed into keys, never written in an
// entry, an event or an error.
export function withoutUserInfo(url: URL): string | UserInfoUrl {
  if (url.username === "" && url.password === "") return normaliseUrl(url);
  const text = `${_decode(url.username)}:${_decode(url.password)}`;
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  url.username = "";
  url.password = "";
  return { url: normaliseUrl(url), authorization: `Basic ${btoa(binary)}` };
}

function _decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The parts of `client.fetch(input, init)` with a URL. */
export function fromInit(
  input: string | URL,
  init: HttpRequestInit | undefined,
): Parts {
  if (init === undefined) {
    return {
      method: "GET",
      url: input,
      headers: undefined,
      body: null,
      signal: undefined,
      priority: undefined,
      cache: undefined,
      timeout: undefined,
      waitUntil: undefined,
      retry: undefined,
      tags: undefined,
      init: undefined,
    };
  }
  const {
    method = "GET",
    headers,
    body,
    signal,
    priority,
    cache,
    timeout,
    waitUntil,
    retry,
    tags,
    ...rest
  } = init;
  return {
    method,
    url: input,
    headers,
    body: body ?? null,
    signal: signal ?? undefined,
    priority,
    cache,
    timeout,
    waitUntil,
    retry,
    tags,
    init: Object.keys(rest).length === 0 ? undefined : rest,
  };
}

/** The parts of `client.fetch(request, init)`, as `fetch` takes them. */
export async function fromRequest(
  request: Request,
  init: HttpRequestInit | undefined,
): Promise<Parts> {
  const parts = fromInit(request.url, init);
  const method = init?.method ?? request.method;
  let body = parts.body;
  if (init?.body === undefined && request.body !== null) {
    body = new Uint8Array(await request.arrayBuffer());
  }
  // As `fetch(request, init)`: a field of `init` replaces the request's,
  // headers included (they are not merged), and `signal: null` drops it.
  const headers = init?.headers === undefined
    ? request.headers
    : new Headers(init.headers);
  const requestCache = (request as { cache?: unknown }).cache;
  return {
    ...parts,
    method,
    headers,
    body,
    signal: init?.signal === undefined ? request.signal : parts.signal,
    cache: parts.cache ??
      (typeof requestCache === "string" && requestCache !== "default"
        ? requestCache
        : undefined),
    init: {
      redirect: request.redirect,
      ...(request.keepalive ? { keepalive: true } : {}),
      ...(request.integrity === "" ? {} : { integrity: request.integrity }),
      ...parts.init,
    },
  };
}

/**
 * The headers a request in cache mode `mode` is sent with, as the Fetch
 * standard sends them: `"no-cache"` adds `Cache-Control: max-age=0` (caches
 * on the way validate what they hold), `"reload"` and `"no-store"` add
 * `Cache-Control: no-cache` and `Pragma: no-cache` (they answer anew). A
 * field the caller set is left as it is. Only the wire sees them: keys,
 * Vary and the cache's decisions read the caller's own headers, and the
 * mode already means what they ask of sluice's cache.
 *
 * @returns `headers` itself when the mode adds nothing.
 */
export function sentHeaders(mode: CacheMode, headers: Headers): Headers {
  switch (mode) {
    case "no-cache": {
      if (headers.has("cache-control")) return headers;
      const sent = new Headers(headers);
      sent.set("cache-control", "max-age=0");
      return sent;
    }
    case "reload":
    case "no-store": {
      const cacheControl = headers.has("cache-control");
      const pragma = headers.has("pragma");
      if (cacheControl && pragma) return headers;
      const sent = new Headers(headers);
      if (!cacheControl) sent.set("cache-control", "no-cache");
      if (!pragma) sent.set("pragma", "no-cache");
      return sent;
    }
    default:
      return headers;
  }
}

/** The priority a request asked for, in sluice's two classes. */
export function priorityOf(value: unknown): Priority {
  switch (value) {
    case undefined:
    case "background":
    case "low":
    case "auto":
      return "background";
    case "user":
    case "high":
      return "user";
    default:
      throw new TypeError(
        `Cannot send a request as 'priority' must be "user" or "background": received ${
          JSON.stringify(value)
        }`,
      );
  }
}

function _isBodyInit(value: unknown): value is BodyInit {
  return typeof value === "string" || value instanceof Blob ||
    value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    value instanceof FormData || value instanceof URLSearchParams ||
    value instanceof ReadableStream;
}

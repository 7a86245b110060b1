// Values as the client stores them: cached responses built by the client's
// own code, with a JSON body or a binary one.
import {
  type CachedResponse,
  createCachedResponse,
} from "../../../src/cache/entry.ts";

const encoder = new TextEncoder();

/** A JSON body of `records` rows: about 75 bytes per row. */
export function jsonBody(records: number, marker = ""): Uint8Array {
  const rows = Array.from({ length: records }, (_, id) => ({
    id,
    login: `user-${id}`,
    site_admin: false,
    type: "User",
    note: marker,
  }));
  return encoder.encode(JSON.stringify(rows));
}

/** Bytes that do not compress. */
export function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A cached response as the client builds it. */
export function entry(
  options: {
    body?: Uint8Array;
    headers?: Record<string, string>;
    url?: string;
    maxAge?: number;
    at?: number;
  } = {},
): CachedResponse {
  const at = options.at ?? Date.UTC(2026, 0, 1);
  return createCachedResponse({
    url: options.url ?? "https://api.example/users",
    method: "GET",
    requestHeaders: new Headers(),
    status: 200,
    statusText: "OK",
    headers: new Headers({
      "content-type": "application/json",
      "cache-control": `max-age=${options.maxAge ?? 60}`,
      ...options.headers,
    }),
    body: options.body ?? jsonBody(10),
    requestTime: at,
    responseTime: at,
  }, {});
}

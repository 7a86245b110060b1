// Builds cache entries for the policy tests.
import {
  type CachedResponse,
  createCachedResponse,
} from "../../src/cache/entry.ts";
import type { CachePolicyOptions } from "../../src/cache/options.ts";

export const T0: number = Date.UTC(2026, 0, 1);

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

export interface EntryInit {
  headers?: Record<string, string> | [string, string][];
  status?: number;
  method?: string;
  requestHeaders?: Record<string, string>;
  requestTime?: number;
  responseTime?: number;
  body?: string;
  options?: CachePolicyOptions;
}

/** An entry received at `responseTime` (default T0), with `Date` set to it unless given. */
export function entry(init: EntryInit = {}): CachedResponse {
  const responseTime = init.responseTime ?? T0;
  const headers = new Headers(init.headers ?? {});
  if (!headers.has("date")) headers.set("date", httpDate(responseTime));
  return createCachedResponse({
    url: "https://api.example.com/items",
    method: init.method ?? "GET",
    requestHeaders: new Headers(init.requestHeaders ?? {}),
    status: init.status ?? 200,
    statusText: "OK",
    headers,
    body: new TextEncoder().encode(init.body ?? "payload"),
    requestTime: init.requestTime ?? responseTime,
    responseTime,
  }, init.options ?? {});
}

// A pipeline for testing one stage alone: memory stores, a manual clock, a
// recorded event log, and a transport the test answers itself.
import { createCachedResponse } from "../../../src/cache/entry.ts";
import type { CachedResponse } from "../../../src/cache/entry.ts";
import {
  DEFAULT_RETRY_METHODS,
  DEFAULT_RETRY_STATUSES,
  type ResolvedRetryOptions,
} from "../../../src/retry/retry_policy.ts";
import type { Call } from "../../../src/client/_call.ts";
import { type EngineConfig, Pipeline } from "../../../src/client/_pipeline.ts";
import type { SluiceEvent } from "../../../src/events.ts";
import { MemoryCacheStore } from "../../../src/stores/memory/cache_store.ts";
import { SteppedClock } from "../_helpers.ts";

export const URL_A = "https://api.example/items";

/** The retries of a test call: two, with backoffs of a few ms. */
export const TEST_RETRY: ResolvedRetryOptions = {
  attempts: 2,
  baseDelayMs: 1,
  maxDelayMs: 5,
  methods: new Set(DEFAULT_RETRY_METHODS),
  statuses: new Set(DEFAULT_RETRY_STATUSES),
};

/** A pipeline over a memory cache, with its events recorded. */
export function testPipeline(overrides: Partial<EngineConfig> = {}): {
  pipeline: Pipeline;
  events: SluiceEvent[];
  clock: SteppedClock;
  store: MemoryCacheStore;
} {
  const events: SluiceEvent[] = [];
  const clock = new SteppedClock(Date.UTC(2026, 0, 1));
  const store = new MemoryCacheStore({ clock });
  const config: EngineConfig = {
    name: "test",
    fetch: () => Promise.reject(new Error("no transport")),
    cache: { store, policy: {} },
    dedupeStore: undefined,
    limiter: undefined,
    admissionWaitMs: 0,
    resource: (url) => url.host,
    retry: TEST_RETRY,
    maxBodyBytes: 1_024,
    storeTimeoutMs: 1_000,
    credentialHeaders: [],
    onEvent: (event) => void events.push(event),
    clock,
    ...overrides,
  };
  return { pipeline: new Pipeline(config), events, clock, store };
}

/** A GET of `url` as the client would hand it to the pipeline. */
export function testCall(
  overrides: Partial<Omit<Call, "state">> = {},
  headers: HeadersInit = {},
): Call {
  const h = new Headers(headers);
  return {
    scope: { prefix: "test", closed: false },
    requestId: "test-1",
    method: "GET",
    url: URL_A,
    shownUrl: URL_A,
    headers: h,
    evalHeaders: h,
    sentHeaders: h,
    credentials: "",
    body: null,
    retryableBody: true,
    retry: TEST_RETRY,
    cachePolicy: {},
    init: undefined,
    signal: undefined,
    mode: "default",
    attemptMs: 1_000,
    totalMs: undefined,
    started: 0,
    validate: undefined,
    buffered: false,
    background: false,
    waitUntil: undefined,
    tags: undefined,
    ...overrides,
    state: { priority: "user", sending: false },
  };
}

/** An entry for `URL_A` answered at `time` with these response headers. */
export function testEntry(
  time: number,
  headers: HeadersInit,
  body = "hello",
): CachedResponse {
  return createCachedResponse({
    url: URL_A,
    method: "GET",
    requestHeaders: new Headers(),
    status: 200,
    statusText: "OK",
    headers: new Headers(headers),
    body: new TextEncoder().encode(body),
    requestTime: time,
    responseTime: time,
  }, {});
}

/** The types of the recorded events, in order. */
export function types(events: SluiceEvent[]): string[] {
  return events.map((event) => event.type);
}

// The request pipeline of HttpClient (DESIGN §4): key, cache, single-flight,
// cooldown, rate limit, fetch, retry, learn, complete. One Engine is shared
// by a client and all its scopes; a Scope carries the key prefix.

import {
  type CachedResponse,
  createCachedResponse,
  isCachedResponse,
  toResponse,
} from "../cache/entry.ts";
import {
  type CacheEvaluation,
  evaluate,
  staleIfErrorApplies,
} from "../cache/evaluate.ts";
import {
  isFieldName,
  isHeaderList,
  isReasonPhrase,
  isVarySelection,
} from "../cache/_fields.ts";
import { invalidationTargets } from "../cache/invalidation.ts";
import type { CachePolicyOptions } from "../cache/options.ts";
import {
  onlyIfCached,
  onlyIfCachedMiss,
  requestCacheControl,
} from "../cache/request.ts";
import { storeCall } from "../_store_deadline.ts";
import { notStorableReason } from "../cache/storability.ts";
import { storageTtlSeconds } from "../cache/storage_ttl.ts";
import {
  conditionalHeaders,
  mergeNotModified,
  notModifiedMatches,
} from "../cache/validation.ts";
import { variantKey, varyMatches, varySelection } from "../cache/vary.ts";
import type { Clock } from "../clock.ts";
import { EndedJobs, runDistributedFlight } from "../dedupe/distributed.ts";
import { FlightTable } from "../dedupe/flights.ts";
import type { Flight } from "../dedupe/flights.ts";
import {
  RateLimitError,
  SluiceError,
  StoreError,
  TimeoutError,
} from "../errors.ts";
import type {
  CacheMissReason,
  CacheSkipReason,
  EventListener,
  ResponseSource,
  SluiceEvent,
} from "../events.ts";
import type { AdmitHooks, RateLimiter } from "../rate_limit/limiter.ts";
import { sleep } from "../rate_limit/limiter.ts";
import {
  parseRetryAfter,
  readRateLimitSignals,
} from "../rate_limit/server_signals.ts";
import {
  backoffDelayMs,
  type ResolvedRetryOptions,
  shouldRetry,
} from "../retry/retry_policy.ts";
import { escapeKeyPart, joinKey } from "../stores/keys.ts";
import type { CacheStore, DedupeStore, Priority } from "../stores/types.ts";
import { discard, readBounded } from "./_body.ts";
import { headerOf } from "./_data.ts";
import { KeyHasher } from "./_key.ts";
import { statusResponse } from "./_status_response.ts";
import type { CacheMode, FetchLike } from "./options.ts";

/** How long a Vary index outlives the variant that wrote it, at least. */
const VARY_INDEX_MIN_TTL_SECONDS = 86_400;
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);
const NEVER: AbortSignal = new AbortController().signal;
/** What Vary compares in place of a credential header's value. */
const CREDENTIAL_PLACEHOLDER = "credential";
/** What a cache read answers in place of a value when the store failed. */
const STORE_FAILED: unique symbol = Symbol("sluice.storeFailed");

/** Everything the engine needs, validated. */
export interface EngineConfig {
  name: string;
  fetch: FetchLike;
  cache: { store: CacheStore<unknown>; policy: CachePolicyOptions } | undefined;
  dedupeStore: DedupeStore<unknown> | undefined;
  limiter: RateLimiter | undefined;
  /** The longest one admission may wait (0 without a limiter, or with throwOnLimit). */
  admissionWaitMs: number;
  resource: (url: URL) => string;
  retry: ResolvedRetryOptions;
  maxBodyBytes: number;
  storeTimeoutMs: number;
  credentialHeaders: readonly string[];
  onEvent: EventListener | undefined;
  clock: Clock;
}

/** A client or scope: its key prefix and its closed state. */
export interface Scope {
  /** The name, then one `scopeKeyPart(key, id)` per scope, joined by `:`. */
  prefix: string;
  closed: boolean;
}

/** The result of a validation hook. */
export type Validated =
  | { ok: true; value: unknown }
  | { ok: false; error: unknown };

/** A buffered response that may be shared: plain data plus the body. */
export interface Raw {
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** What a request produced. */
export type Outcome =
  | {
    kind: "entry";
    entry: CachedResponse;
    ageSeconds: number;
    source: ResponseSource;
    attempts: number;
    validated?: Validated | undefined;
  }
  | {
    kind: "raw";
    raw: Raw;
    source: ResponseSource;
    attempts: number;
    validated?: Validated | undefined;
  }
  | {
    kind: "response";
    response: Response;
    source: ResponseSource;
    attempts: number;
    // Whether the response's body stream clears the call's total timer.
    ownsTimer: boolean;
  };

/** One request as the engine sees it. */
export interface Call {
  scope: Scope;
  method: string;
  /** The normalised URL: the key and what is sent. */
  url: string;
  headers: Headers;
  /** Headers for cache decisions (with per-request directives added). */
  evalHeaders: Headers;
  credentials: string;
  body: BodyInit | null;
  retryableBody: boolean;
  init: RequestInit | undefined;
  signal: AbortSignal | undefined;
  priority: Priority;
  mode: CacheMode;
  attemptMs: number;
  totalMs: number | undefined;
  /** `performance.now()` at entry. */
  started: number;
  /** Validates the data of a 2xx response before it is stored. */
  validate:
    | ((body: Uint8Array, contentType: string | null) => Promise<unknown>)
    | undefined;
  background: boolean;
  /** Whether an attempt is on the wire (not waiting for budget or a backoff). */
  sending: boolean;
  // Set by the engine.
  totalSignal?: AbortSignal | undefined;
  release?: (() => void) | undefined;
  /** The rate-limit resource of this client or scope. */
  resource?: string | undefined;
  /** Where cooldowns of the resource are kept: shared by every scope. */
  cooldownResource?: string | undefined;
  /** `headers` as Vary sees them (credentials replaced). */
  varyHeaders?: Headers | undefined;
  /** Whether the cache store failed this call's read: it is not read again. */
  cacheFailed?: boolean | undefined;
}

interface Found {
  entry: CachedResponse;
  storeKey: string;
}

interface Stale extends Found {
  staleIfError: boolean;
}

interface FlightResult {
  outcome: Outcome;
  /** The varied request fields of the request that made the flight. */
  vary: Record<string, string | null>;
}

/** What a flight shares through a dedupe store. */
interface Shared {
  sluice: 1;
  raw: Raw | null;
  vary: Record<string, string | null>;
}

interface VaryIndex {
  sluiceVary: 1;
  names: string[];
}

interface EntryMemo {
  parsed?: { json: boolean; value: unknown };
}

interface Background {
  scope: Scope;
  call: Call;
  flight: Flight<FlightResult>;
  task: Promise<void>;
}

interface Exchange {
  response: Response;
  requestTime: number;
  responseTime: number;
  attempts: number;
  /** Clears the attempt timer. */
  done: () => void;
  /** Maps an error raised while reading the body. */
  mapError: (error: unknown) => unknown;
  /** Aborts with the attempt's deadline or the flight's signal. */
  signal: AbortSignal;
}

/** The pipeline, shared by a client and its scopes. */
export class Engine {
  readonly config: EngineConfig;
  readonly flights: FlightTable = new FlightTable();
  readonly hasher: KeyHasher;
  readonly memo: WeakMap<object, EntryMemo> = new WeakMap();
  readonly #background = new Set<Background>();
  /** The call each flight runs, so that a joiner can raise its priority. */
  readonly #owners = new WeakMap<Flight<FlightResult>, Call>();
  /** Distributed jobs this client ended whose end the store may not know. */
  readonly #endedJobs = new EndedJobs();
  readonly #emitFn: EventListener | undefined;
  readonly #rootPrefix: string;
  #closed = false;

  constructor(config: EngineConfig) {
    this.config = config;
    this.#rootPrefix = joinKey(config.name);
    this.hasher = new KeyHasher(config.credentialHeaders);
    this.#emitFn = config.onEvent;
  }

  /** Whether events are wanted (so callers skip building them). */
  get listening(): boolean {
    return this.#emitFn !== undefined;
  }

  /** Hands an event to the listener; a throw or rejection is swallowed. */
  /** The fields every event about a request carries. */
  #requestFields(
    call: Call,
    time: number = this.config.clock.now(),
  ): { client: string; time: number; method: string; url: string } {
    return {
      client: call.scope.prefix,
      time,
      method: call.method,
      url: call.url,
    };
  }

  emit(event: SluiceEvent): void {
    try {
      const result = this.#emitFn!(event) as unknown;
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

  /** The error of a call on a closed client. */
  closedError(scope: Scope): SluiceError {
    return new SluiceError(
      `Cannot send a request: HttpClient '${scope.prefix}' is closed`,
    );
  }

  /** Whether a scope, or the root client it belongs to, was closed. */
  isClosed(scope: Scope): boolean {
    return this.#closed || scope.closed;
  }

  /** Runs a request through the pipeline. */
  send(call: Call): Promise<Outcome> {
    if (this.isClosed(call.scope)) {
      return Promise.reject(this.closedError(call.scope));
    }
    if (call.signal?.aborted) return Promise.reject(call.signal.reason);
    if (!this.#emitFn && call.totalMs === undefined) {
      // Nothing to report and no timer to clear: skip a layer of awaiting.
      return call.method === "GET" || call.method === "HEAD"
        ? this.#sendSafe(call)
        : this.#sendUnsafe(call);
    }
    return this.#sendObserved(call);
  }

  async #sendObserved(call: Call): Promise<Outcome> {
    if (this.#emitFn) {
      this.emit({
        type: "request",
        ...this.#requestFields(call),
        priority: call.priority,
      });
    }
    this.#startTotal(call);
    let outcome: Outcome | undefined;
    try {
      outcome = call.method === "GET" || call.method === "HEAD"
        ? await this.#sendSafe(call)
        : await this.#sendUnsafe(call);
    } catch (error) {
      if (this.#emitFn && error !== call.signal?.reason) {
        this.emit({
          type: "error",
          ...this.#requestFields(call),
          stage: _stage(error),
          failedOpen: false,
          error,
        });
      }
      throw error;
    } finally {
      if (outcome?.kind !== "response" || !outcome.ownsTimer) {
        call.release?.();
      }
    }
    if (this.#emitFn) {
      this.emit({
        type: "response",
        ...this.#requestFields(call),
        status: _status(outcome),
        source: outcome.source,
        durationMs: performance.now() - call.started,
        attempts: outcome.attempts,
      });
    }
    return outcome;
  }

  /** Builds the `Response` of an outcome for `client.fetch`. */
  toResponse(outcome: Outcome, call: Call): Response {
    switch (outcome.kind) {
      case "entry":
        return toResponse(outcome.entry, {
          ageSeconds: outcome.ageSeconds,
          headOnly: call.method === "HEAD",
        });
      case "raw":
        return rawToResponse(outcome.raw, call.method);
      case "response":
        return outcome.response;
    }
  }

  /** Closes a scope (or, for the root, every scope) and ends background work. */
  async close(scope: Scope, root: boolean): Promise<void> {
    scope.closed = true;
    if (root) this.#closed = true;
    const tasks: Promise<void>[] = [];
    for (const bg of this.#background) {
      if (!root && bg.scope !== scope) continue;
      // Work still waiting for budget or a cooldown cannot finish soon.
      if (!bg.call.sending) bg.flight.abort(this.closedError(scope));
      tasks.push(bg.task);
    }
    await Promise.allSettled(tasks);
  }

  // ---------------------------------------------------------------- safe

  async #sendSafe(call: Call): Promise<Outcome> {
    let hash = this.hasher.hash(call.method, call.url, call.credentials);
    if (typeof hash !== "string") hash = await hash;
    const cache = this.config.cache;
    // Bounds the caller's own waits: store reads here, the flight later.
    const waitSignal = _any(call.signal, call.totalSignal);
    let stale: Stale | undefined;
    if (cache !== undefined && call.mode !== "no-store") {
      let found: Found | undefined;
      let reason: CacheMissReason = "absent";
      if (call.mode === "reload") reason = "bypass";
      else {
        // The read is inlined, not #lookup's: a hit pays no extra await.
        const storeKey = `${call.scope.prefix}:cache:${hash}`;
        let lookup: Found | CacheMissReason | Promise<Found | CacheMissReason>;
        try {
          const value = await storeCall(
            "get",
            () => cache.store.get(storeKey),
            this.config.storeTimeoutMs,
            waitSignal,
          );
          lookup = this.#entryOf(call, storeKey, value, waitSignal);
        } catch (error) {
          if (waitSignal?.aborted) throw waitSignal.reason;
          this.#cacheError(call, error);
          lookup = "store-error";
        }
        if (lookup instanceof Promise) lookup = await lookup;
        if (typeof lookup === "string") {
          reason = lookup;
          if (lookup === "store-error") call.cacheFailed = true;
        } else found = lookup;
      }
      if (found !== undefined) {
        const { entry } = found;
        const now = this.config.clock.now();
        const decision = this.#decide(call, entry, now);
        switch (decision.kind) {
          case "fresh":
            return this.#hit(call, found, now, decision.servedStale);
          case "stale-while-revalidate":
            this.#staleEvent(call, found, now, "serve-and-revalidate");
            this.#revalidateInBackground(call, hash, found);
            return {
              kind: "entry",
              entry,
              ageSeconds: decision.ageSeconds,
              source: "stale",
              attempts: 0,
            };
          case "stale":
            this.#staleEvent(call, found, now, "revalidate");
            stale = { ...found, staleIfError: decision.staleIfError };
            break;
          case "unusable":
            reason = "vary";
            break;
        }
      }
      if (stale === undefined && this.#emitFn) {
        this.emit({
          type: "cache.miss",
          ...this.#requestFields(call),
          key: `${call.scope.prefix}:cache:${hash}`,
          reason,
        });
      }
    }
    // Nothing servable without the origin (fresh hits returned above).
    if (
      call.mode === "only-if-cached" ||
      (call.evalHeaders.has("cache-control") && onlyIfCached(call.evalHeaders))
    ) {
      return {
        kind: "response",
        response: onlyIfCachedMiss(),
        source: "cache",
        attempts: 0,
        ownsTimer: false,
      };
    }
    return this.#network(call, hash, stale, waitSignal);
  }

  // Reads the entry of a request's key from the cache. A store failure or a
  // corrupt entry is a miss; the caller's signal stops the read.
  async #lookup(
    call: Call,
    hash: string,
    signal: AbortSignal | undefined,
  ): Promise<Found | CacheMissReason> {
    const storeKey = `${call.scope.prefix}:cache:${hash}`;
    const store = this.config.cache!.store;
    const value = await this.#cacheGet(call, store, storeKey, signal);
    if (value === STORE_FAILED) return "store-error";
    return await this.#entryOf(call, storeKey, value, signal);
  }

  // Turns what a read of a request's key answered into an entry, or why
  // there is none. Synchronous for an entry this client already checked:
  // the hot path.
  #entryOf(
    call: Call,
    storeKey: string,
    value: unknown,
    signal: AbortSignal | undefined,
  ): Found | CacheMissReason | Promise<Found | CacheMissReason> {
    if (value === undefined) return "absent";
    if (this.memo.has(value as object)) {
      return { entry: value as CachedResponse, storeKey };
    }
    return this.#resolve(call, storeKey, value, signal);
  }

  // How a stored entry answers a request: as the request's cache mode says,
  // otherwise by freshness, Vary and the request's own directives.
  #decide(call: Call, entry: CachedResponse, now: number): CacheEvaluation {
    switch (call.mode) {
      case "force-cache":
      case "only-if-cached":
        return { kind: "fresh", ageSeconds: 0, servedStale: false };
      case "no-cache":
        return { kind: "stale", staleIfError: false, ageSeconds: 0 };
      default:
        return evaluate(
          this.#varied(call, call.evalHeaders, entry),
          entry,
          now,
        );
    }
  }

  #hit(call: Call, found: Found, now: number, servedStale: boolean): Outcome {
    const { entry } = found;
    const ageMs = entry.policy.initialAgeMs +
      Math.max(0, now - entry.responseTime);
    if (this.#emitFn) {
      this.emit({
        type: "cache.hit",
        ...this.#requestFields(call, now),
        key: found.storeKey,
        ageMs,
      });
    }
    return {
      kind: "entry",
      entry,
      ageSeconds: Math.floor(ageMs / 1000),
      source: servedStale ? "stale" : "cache",
      attempts: 0,
    };
  }

  #staleEvent(
    call: Call,
    found: Found,
    now: number,
    action: "serve-and-revalidate" | "revalidate" | "serve-on-error",
  ): void {
    if (!this.#emitFn) return;
    this.emit({
      type: "cache.stale",
      ...this.#requestFields(call, now),
      key: found.storeKey,
      ageMs: found.entry.policy.initialAgeMs +
        Math.max(0, now - found.entry.responseTime),
      action,
    });
  }

  // Turns what the store held under a request's key into an entry: follows
  // a Vary index to the variant, and checks the entry's shape once, so that
  // nothing it holds can make evaluating or serving it throw. A store
  // failure or a corrupt value is a miss; a corrupt value is deleted.
  async #resolve(
    call: Call,
    mainKey: string,
    found: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Found | CacheMissReason> {
    const store = this.config.cache!.store;
    let storeKey = mainKey;
    let value = found;
    if (_isVaryIndex(value)) {
      const selection = varySelection(value.names, this.#varyView(call));
      storeKey = await this.#variantStoreKey(call, variantKey(selection));
      value = await this.#cacheGet(call, store, storeKey, signal);
      if (value === STORE_FAILED) return "store-error";
      if (value === undefined) return "vary";
      if (this.memo.has(value as object)) {
        return { entry: value as CachedResponse, storeKey };
      }
    }
    if (
      !isCachedResponse(value) || value.url !== call.url ||
      value.method !== call.method
    ) {
      this.#cacheError(
        call,
        new SluiceError(`The cache entry '${storeKey}' is corrupt`),
      );
      await this.#cacheDelete(call, storeKey);
      return "corrupt";
    }
    this.memo.set(value, {});
    return { entry: value, storeKey };
  }

  async #cacheGet(
    call: Call,
    store: CacheStore<unknown>,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    try {
      return await storeCall(
        "get",
        () => store.get(key),
        this.config.storeTimeoutMs,
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      this.#cacheError(call, error);
      return STORE_FAILED;
    }
  }

  async #variantStoreKey(call: Call, variant: string): Promise<string> {
    const hash = await this.hasher.hash(
      call.method,
      call.url,
      `${call.credentials}\u0001vary\u0001${variant}`,
    );
    return `${call.scope.prefix}:cache:${hash}`;
  }

  // The request headers that Vary compares. Every request under one key
  // carries the same credentials (they are hashed into it), so a Vary on a
  // credential header always matches: a placeholder stands in for the value,
  // and no credential, nor anything derived from it, is stored or shared.
  #varyView(call: Call, headers: Headers = call.headers): Headers {
    if (call.credentials === "") return headers;
    if (headers === call.headers && call.varyHeaders !== undefined) {
      return call.varyHeaders;
    }
    const view = new Headers(headers);
    for (const name of this.hasher.names) {
      if (view.has(name)) view.set(name, CREDENTIAL_PLACEHOLDER);
    }
    if (headers === call.headers) call.varyHeaders = view;
    return view;
  }

  // The headers to evaluate an entry with: the request's own unless the
  // entry varies on something (the hot path never copies).
  #varied(call: Call, headers: Headers, entry: CachedResponse): Headers {
    for (const _ in entry.varyHeaders) return this.#varyView(call, headers);
    return headers;
  }

  #cacheError(call: Call | undefined, error: unknown): void {
    if (!this.#emitFn) return;
    this.emit({
      type: "error",
      client: call?.scope.prefix ?? this.config.name,
      time: this.config.clock.now(),
      ...(call === undefined ? {} : { method: call.method, url: call.url }),
      stage: "cache",
      failedOpen: true,
      error,
    });
  }

  // ------------------------------------------------------------- flights

  async #network(
    call: Call,
    hash: string,
    stale: Stale | undefined,
    waitSignal: AbortSignal | undefined,
  ): Promise<Outcome> {
    const key = `${call.scope.prefix}:dedupe:${hash}`;
    const existing = this.flights.get<FlightResult>(key);
    if (existing !== undefined) {
      if (call.priority === "user") {
        // The flight now serves interactive traffic: let it wait as such.
        const owner = this.#owners.get(existing);
        if (owner !== undefined) owner.priority = "user";
      }
      const started = performance.now();
      const result = await existing.wait(waitSignal);
      if (
        result.outcome.kind !== "response" &&
        varyMatches({ varyHeaders: result.vary }, this.#varyView(call))
      ) {
        if (this.#emitFn) {
          this.emit({
            type: "dedupe.joined",
            ...this.#requestFields(call),
            key,
            scope: "process",
            waitedMs: performance.now() - started,
          });
        }
        // The owner's validated data is its own; a joiner parses its copy.
        const { outcome } = result;
        return outcome.kind === "raw"
          ? {
            ...outcome,
            raw: _withoutCookies(outcome.raw),
            source: "dedupe",
            attempts: 0,
            validated: undefined,
          }
          : { ...outcome, source: "dedupe", attempts: 0, validated: undefined };
      }
      // The flight's response cannot answer this request: its body was
      // streamed to its owner, or it varies on fields this request differs in.
      const own = await this.#origin(call, hash, stale, waitSignal ?? NEVER);
      return own.outcome;
    }
    const flight = this.flights.start<FlightResult>(
      key,
      (signal) => this.#own(call, hash, stale, key, signal),
    );
    this.#owners.set(flight, call);
    if (this.#emitFn) {
      this.emit({
        type: "dedupe.owner",
        ...this.#requestFields(call),
        key,
        scope: "process",
      });
    }
    try {
      const { outcome } = await flight.wait(waitSignal);
      if (outcome.kind === "response" && waitSignal !== undefined) {
        // The flight's fetch does not see the caller's signal or deadline;
        // tie the streamed body to them, as fetch would.
        return {
          ...outcome,
          response: _linkSignal(outcome.response, waitSignal, call.url),
        };
      }
      return outcome;
    } catch (error) {
      // The caller left; nobody else can take a streamed body.
      flight.promise.then((result) => {
        if (result.outcome.kind === "response") {
          void discard(result.outcome.response.body);
        }
      }, () => {});
      throw error;
    }
  }

  async #own(
    call: Call,
    hash: string,
    stale: Stale | undefined,
    key: string,
    flightSignal: AbortSignal,
  ): Promise<FlightResult> {
    // The flight runs on its own signal: the deadline and signal of the
    // request that started it bound only that request's wait.
    const signal = flightSignal;
    const store = this.config.dedupeStore;
    if (store === undefined) return this.#origin(call, hash, stale, signal);
    const started = performance.now();
    const outcome = await runDistributedFlight(
      store,
      key,
      async (elected, previous) => {
        let current = stale;
        // After "none" the store knows of no job for the key within its
        // retention (a second at least), so none stored a response since
        // this request read the cache a moment ago.
        if (elected && previous !== "none") {
          const recheck = await this.#recheck(call, hash, signal);
          if (recheck !== undefined && "outcome" in recheck) {
            return { result: recheck, share: _share(recheck) as unknown };
          }
          current = recheck ?? stale;
        }
        const result = await this.#origin(call, hash, current, signal);
        return { result, share: _share(result) as unknown };
      },
      {
        signal,
        storeTimeoutMs: this.config.storeTimeoutMs,
        // As long as the owner's job may take by this request's deadlines:
        // one admission and one attempt, then its result's way through the
        // store. An owner slower than that (retrying, say) counts as stalled.
        waitTimeoutMs: this.config.admissionWaitMs + call.attemptMs +
          this.config.storeTimeoutMs,
        endedJobs: this.#endedJobs,
        onOwner: () => {
          if (!this.#emitFn) return;
          this.emit({
            type: "dedupe.owner",
            ...this.#requestFields(call),
            key,
            scope: "distributed",
          });
        },
        onStoreError: (error) => {
          if (!this.#emitFn) return;
          this.emit({
            type: "error",
            ...this.#requestFields(call),
            stage: "dedupe",
            failedOpen: true,
            error,
          });
        },
      },
    );
    if (outcome.kind === "owned") return outcome.result;
    const shared = outcome.value;
    if (
      !_isShared(shared) || shared.raw === null ||
      !varyMatches({ varyHeaders: shared.vary }, this.#varyView(call))
    ) {
      return this.#origin(call, hash, stale, signal);
    }
    if (this.#emitFn) {
      this.emit({
        type: "dedupe.joined",
        ...this.#requestFields(call),
        key,
        scope: "distributed",
        waitedMs: performance.now() - started,
      });
    }
    return {
      outcome: { kind: "raw", raw: shared.raw, source: "dedupe", attempts: 0 },
      vary: shared.vary,
    };
  }

  // Reads the cache once more when the dedupe store elects this request
  // owner, before it calls the origin. Its first read may predate a response
  // that another process stored and whose job completed just before this
  // request registered (the store then starts a new job), or that an owner
  // stored before it failed to complete. Returns a hit to serve, a stale
  // entry to revalidate, or nothing. A cache store that already failed this
  // request is not asked again: a hung one would double its delay.
  async #recheck(
    call: Call,
    hash: string,
    signal: AbortSignal,
  ): Promise<FlightResult | Stale | undefined> {
    if (
      this.config.cache === undefined || call.mode === "no-store" ||
      call.mode === "reload" || call.cacheFailed === true
    ) {
      return undefined;
    }
    const found = await this.#lookup(call, hash, signal);
    if (typeof found === "string") return undefined;
    const now = this.config.clock.now();
    const decision = this.#decide(call, found.entry, now);
    switch (decision.kind) {
      case "fresh":
        return {
          outcome: this.#hit(call, found, now, decision.servedStale),
          vary: found.entry.varyHeaders,
        };
      case "stale-while-revalidate":
        // This request is already on its way to the origin: revalidate now.
        return { ...found, staleIfError: false };
      case "stale":
        return { ...found, staleIfError: decision.staleIfError };
      case "unusable":
        return undefined;
    }
  }

  #revalidateInBackground(call: Call, hash: string, found: Found): void {
    const key = `${call.scope.prefix}:dedupe:${hash}`;
    if (this.flights.get(key) !== undefined) return;
    const bgCall: Call = {
      ...call,
      signal: undefined,
      priority: "background",
      validate: undefined,
      background: true,
      sending: false,
      totalSignal: undefined,
      release: undefined,
      started: performance.now(),
    };
    const stale: Stale = { ...found, staleIfError: false };
    const flight = this.flights.start<FlightResult>(
      key,
      (signal) => this.#own(bgCall, hash, stale, key, signal),
    );
    this.#owners.set(flight, bgCall);
    const bg: Background = {
      scope: call.scope,
      call: bgCall,
      flight,
      task: Promise.resolve(),
    };
    bg.task = flight.wait().then((result) => {
      if (result.outcome.kind === "response") {
        void discard(result.outcome.response.body);
      }
    }, (error) => {
      if (!this.#emitFn || this.isClosed(call.scope)) return;
      this.emit({
        type: "error",
        ...this.#requestFields(call),
        stage: _stage(error),
        failedOpen: true,
        error,
      });
    }).finally(() => {
      this.#background.delete(bg);
    });
    this.#background.add(bg);
  }

  // -------------------------------------------------------------- origin

  // Calls the origin for a GET or HEAD (conditionally when a stale entry
  // has validators), learns from the answer and stores it.
  async #origin(
    call: Call,
    hash: string,
    stale: Stale | undefined,
    signal: AbortSignal,
  ): Promise<FlightResult> {
    const revalidationStarted = performance.now();
    let conditional = stale === undefined
      ? []
      : conditionalHeaders(stale.entry);
    for (let round = 0;; round++) {
      let exchange: Exchange;
      try {
        exchange = await this.#exchange(call, signal, conditional);
      } catch (error) {
        const served = this.#staleOnError(call, stale, signal);
        if (served === undefined) throw error;
        this.#fetchFailedOpen(call, error);
        return served;
      }
      const { response } = exchange;
      if (stale !== undefined && response.status >= 500) {
        const served = this.#staleOnError(call, stale, signal);
        if (served !== undefined) {
          this.#fetchFailedOpen(
            call,
            new SluiceError(
              `${call.method} ${call.url} answered ${response.status}`,
            ),
          );
          exchange.done();
          await discard(response.body);
          return served;
        }
      }
      if (
        stale !== undefined && response.status === 304 &&
        conditional.length > 0
      ) {
        exchange.done();
        await discard(response.body);
        if (
          (response.redirected ||
            !notModifiedMatches(stale.entry, response.headers)) && round === 0
        ) {
          // The 304 is about another representation (or, redirected,
          // another resource): fetch it in full.
          conditional = [];
          continue;
        }
        return await this.#refreshed(
          call,
          hash,
          stale,
          exchange,
          revalidationStarted,
        );
      }
      return await this.#full(
        call,
        hash,
        stale,
        exchange,
        revalidationStarted,
      );
    }
  }

  #fetchFailedOpen(call: Call, error: unknown): void {
    if (!this.#emitFn) return;
    this.emit({
      type: "error",
      ...this.#requestFields(call),
      stage: "fetch",
      failedOpen: true,
      error,
    });
  }

  #staleOnError(
    call: Call,
    stale: Stale | undefined,
    signal: AbortSignal,
  ): FlightResult | undefined {
    if (stale === undefined || signal.aborted) return undefined;
    const now = this.config.clock.now();
    const rc = call.evalHeaders.has("cache-control")
      ? requestCacheControl(call.evalHeaders)
      : undefined;
    if (!staleIfErrorApplies(stale.entry, now, rc?.staleIfError)) {
      return undefined;
    }
    this.#staleEvent(call, stale, now, "serve-on-error");
    const ageMs = stale.entry.policy.initialAgeMs +
      Math.max(0, now - stale.entry.responseTime);
    return {
      outcome: {
        kind: "entry",
        entry: stale.entry,
        ageSeconds: Math.floor(ageMs / 1000),
        source: "stale",
        attempts: 0,
      },
      vary: stale.entry.varyHeaders,
    };
  }

  async #refreshed(
    call: Call,
    hash: string,
    stale: Stale,
    exchange: Exchange,
    started: number,
  ): Promise<FlightResult> {
    const policy = this.config.cache!.policy;
    const merged = mergeNotModified(
      stale.entry,
      _storableHeaders(exchange.response.headers),
      exchange.requestTime,
      exchange.responseTime,
      policy,
    );
    let validated: Validated | undefined;
    if (call.validate !== undefined && merged.status < 300) {
      validated = await _runValidate(
        call.validate,
        merged.body,
        headerOf(merged.headers, "content-type"),
      );
    }
    if (validated === undefined || validated.ok) {
      await this.#write(call, hash, merged);
    } else {
      this.#skipped(call, hash, "validation-failed");
      await this.#cacheDelete(call, stale.storeKey);
    }
    if (this.#emitFn) {
      this.emit({
        type: "cache.revalidated",
        ...this.#requestFields(call),
        key: stale.storeKey,
        status: 304,
        background: call.background,
        durationMs: performance.now() - started,
      });
    }
    const now = this.config.clock.now();
    const ageMs = merged.policy.initialAgeMs +
      Math.max(0, now - merged.responseTime);
    return {
      outcome: {
        kind: "entry",
        entry: merged,
        ageSeconds: Math.floor(ageMs / 1000),
        source: "revalidated",
        attempts: exchange.attempts,
        validated,
      },
      vary: merged.varyHeaders,
    };
  }

  async #full(
    call: Call,
    hash: string,
    stale: Stale | undefined,
    exchange: Exchange,
    started: number,
  ): Promise<FlightResult> {
    const { response } = exchange;
    const cache = this.config.cache;
    // A followed redirect's target is not the resource the key names: its
    // freshness says nothing of the redirect, which may change any time.
    const notStorable = cache === undefined || call.mode === "no-store"
      ? "off"
      : response.redirected
      ? "redirected"
      : notStorableReason(
        { method: call.method, headers: call.headers },
        response,
        cache.policy,
      );
    const vary = varySelection(
      response.headers.get("vary"),
      this.#varyView(call),
    );
    const contentType = response.headers.get("content-type");
    if (contentType !== null && /^\s*text\/event-stream/i.test(contentType)) {
      // An event stream never ends: hand it over as it comes.
      exchange.done();
      return {
        outcome: {
          kind: "response",
          response: this.#streamed(call, response, response.body),
          source: "network",
          attempts: exchange.attempts,
          ownsTimer: true,
        },
        vary,
      };
    }
    const lengthField = response.headers.get("content-length");
    const declared = lengthField === null ? undefined : Number(lengthField);
    let body;
    try {
      body = await readBounded(
        response.body,
        this.config.maxBodyBytes,
        Number.isFinite(declared) ? declared : undefined,
        () => call.release?.(),
        exchange.signal,
      );
    } catch (error) {
      exchange.done();
      throw exchange.mapError(error);
    }
    exchange.done();
    if (!body.complete) {
      if (notStorable === undefined) this.#skipped(call, hash, "too-large");
      if (stale !== undefined) await this.#cacheDelete(call, stale.storeKey);
      return {
        outcome: {
          kind: "response",
          response: this.#streamed(call, response, body.stream),
          source: "network",
          attempts: exchange.attempts,
          ownsTimer: true,
        },
        vary,
      };
    }
    const raw: Raw = {
      url: response.url === "" ? call.url : response.url,
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      body: body.bytes,
    };
    let validated: Validated | undefined;
    if (
      call.validate !== undefined && response.status >= 200 &&
      response.status < 300
    ) {
      validated = await _runValidate(call.validate, body.bytes, contentType);
    }
    if (notStorable === undefined) {
      if (validated !== undefined && !validated.ok) {
        this.#skipped(call, hash, "validation-failed");
        if (stale !== undefined) await this.#cacheDelete(call, stale.storeKey);
      } else {
        const entry = createCachedResponse({
          url: call.url,
          method: call.method,
          requestHeaders: this.#varyView(call),
          status: response.status,
          statusText: response.statusText,
          headers: _storableHeaders(response.headers),
          body: body.bytes,
          requestTime: exchange.requestTime,
          responseTime: exchange.responseTime,
        }, cache!.policy);
        await this.#write(call, hash, entry);
      }
    } else if (notStorable !== "off") {
      if (notStorable !== "method" && notStorable !== "status") {
        this.#skipped(call, hash, "not-storable");
      }
      if (stale !== undefined) await this.#cacheDelete(call, stale.storeKey);
    }
    if (stale !== undefined && this.#emitFn) {
      this.emit({
        type: "cache.revalidated",
        ...this.#requestFields(call),
        key: stale.storeKey,
        status: response.status,
        background: call.background,
        durationMs: performance.now() - started,
      });
    }
    return {
      outcome: {
        kind: "raw",
        raw,
        source: "network",
        attempts: exchange.attempts,
        validated,
      },
      vary,
    };
  }

  // A response whose body goes to the caller as a stream; the call's total
  // timer runs until the stream ends. When `signal` aborts, the body fails
  // with its reason, whether or not the transport heeds the signal.
  #streamed(
    call: Call,
    response: Response,
    stream: ReadableStream<Uint8Array> | null,
    signal?: AbortSignal,
  ): Response {
    if (
      stream === response.body && call.totalSignal === undefined &&
      signal === undefined
    ) {
      return response;
    }
    const body = stream === response.body && stream !== null
      ? _wrapBody(stream, () => call.release?.(), signal)
      : stream;
    const out = statusResponse(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    Object.defineProperty(out, "url", {
      value: response.url === "" ? call.url : response.url,
      enumerable: true,
    });
    return out;
  }

  #skipped(call: Call, hash: string, reason: CacheSkipReason): void {
    if (!this.#emitFn) return;
    this.emit({
      type: "cache.skipped",
      ...this.#requestFields(call),
      key: `${call.scope.prefix}:cache:${hash}`,
      reason,
    });
  }

  // Stores an entry, with a Vary index when it varies, and says what the
  // store kept. A refused variant gets no index. Fails open.
  async #write(
    call: Call,
    hash: string,
    entry: CachedResponse,
  ): Promise<void> {
    const cache = this.config.cache!;
    const ttl = storageTtlSeconds(entry, cache.policy, this.config.clock.now());
    if (!(ttl > 0)) return;
    const mainKey = `${call.scope.prefix}:cache:${hash}`;
    const names = Object.keys(entry.varyHeaders);
    let storeKey = mainKey;
    const timeoutMs = this.config.storeTimeoutMs;
    let kept: void | boolean;
    try {
      if (names.length === 0) {
        kept = await storeCall(
          "set",
          () => cache.store.set(mainKey, entry, ttl),
          timeoutMs,
        );
      } else {
        storeKey = await this.#variantStoreKey(
          call,
          variantKey(entry.varyHeaders),
        );
        kept = await storeCall(
          "set",
          () => cache.store.set(storeKey, entry, ttl),
          timeoutMs,
        );
        if (kept !== false) {
          const index: VaryIndex = { sluiceVary: 1, names };
          kept = await storeCall(
            "set",
            () =>
              cache.store.set(
                mainKey,
                index,
                Math.max(ttl, VARY_INDEX_MIN_TTL_SECONDS),
              ),
            timeoutMs,
          );
        }
      }
    } catch (error) {
      this.#cacheError(call, error);
      return;
    }
    if (kept === false) {
      this.#skipped(call, hash, "store-refused");
      return;
    }
    this.memo.set(entry, {});
    if (this.#emitFn) {
      this.emit({
        type: "cache.stored",
        ...this.#requestFields(call),
        key: storeKey,
        ttlSeconds: ttl,
        bytes: entry.body.byteLength,
      });
    }
  }

  async #cacheDelete(call: Call, key: string): Promise<void> {
    const store = this.config.cache?.store;
    if (store === undefined) return;
    try {
      await storeCall(
        "delete",
        () => store.delete(key),
        this.config.storeTimeoutMs,
      );
    } catch (error) {
      this.#cacheError(call, error);
    }
  }

  // -------------------------------------------------------------- unsafe

  async #sendUnsafe(call: Call): Promise<Outcome> {
    const callerSignal = _any(call.signal, call.totalSignal);
    const signal = callerSignal ?? NEVER;
    const exchange = await this.#exchange(call, signal, []);
    exchange.done();
    const { response } = exchange;
    if (this.config.cache !== undefined) {
      const targets = invalidationTargets(
        call.method,
        call.url,
        response.status,
        response.headers,
      );
      for (const url of targets) await this.#invalidate(call, url);
    }
    return {
      kind: "response",
      response: this.#streamed(call, response, response.body, callerSignal),
      source: "network",
      attempts: exchange.attempts,
      ownsTimer: true,
    };
  }

  // Deletes the GET and HEAD entries of `url`, for this request's
  // credentials and for none.
  async #invalidate(call: Call, url: string): Promise<void> {
    const credentialSets = call.credentials === ""
      ? [""]
      : [call.credentials, ""];
    for (const method of ["GET", "HEAD"]) {
      for (const credentials of credentialSets) {
        const hash = await this.hasher.hash(method, url, credentials);
        await this.#cacheDelete(call, `${call.scope.prefix}:cache:${hash}`);
      }
    }
  }

  // ------------------------------------------------------------ attempts

  #startTotal(call: Call): void {
    if (call.totalMs === undefined) return;
    const controller = new AbortController();
    const totalMs = call.totalMs;
    const timer = setTimeout(() => {
      controller.abort(
        new TimeoutError(
          `${call.method} ${call.url} timed out after ${totalMs} ms in total`,
          totalMs,
          "total",
        ),
      );
    }, totalMs);
    call.totalSignal = controller.signal;
    call.release = () => clearTimeout(timer);
  }

  // Sends attempts until one is final: admitted by the rate limiter,
  // retried on network errors and retryable statuses.
  async #exchange(
    call: Call,
    signal: AbortSignal,
    conditional: readonly [string, string][],
  ): Promise<Exchange> {
    const retry = this.config.retry;
    for (let retries = 0;; retries++) {
      if (call.background && this.isClosed(call.scope)) {
        throw this.closedError(call.scope);
      }
      // Waiting for budget, a cooldown or a backoff: close() may cut it short.
      call.sending = false;
      // Tells the store when the admitted request was answered: until a
      // window after that, it may still share a window at the origin.
      const answered = await this.#admit(call, signal);
      call.sending = true;
      const attempt = new AbortController();
      const attemptMs = call.attemptMs;
      const timer = setTimeout(() => {
        attempt.abort(
          new TimeoutError(
            `${call.method} ${call.url} timed out after ${attemptMs} ms (one attempt)`,
            attemptMs,
            "attempt",
          ),
        );
      }, attemptMs);
      const done = (): void => clearTimeout(timer);
      const attemptSignal = AbortSignal.any([signal, attempt.signal]);
      const mapError = (error: unknown): unknown => {
        if (signal.aborted) return signal.reason;
        if (attempt.signal.aborted) return attempt.signal.reason;
        return error;
      };
      const requestTime = this.config.clock.now();
      let response: Response;
      try {
        response = await this.config.fetch(
          call.url,
          this.#init(call, conditional, attemptSignal),
        );
      } catch (error) {
        answered?.();
        done();
        const mapped = mapError(error);
        if (this.#canRetry(call, retries, { error: mapped }, signal)) {
          const delay = backoffDelayMs(retries, retry);
          if (this.#fits(call, delay)) {
            this.#retryEvent(call, retries + 1, delay, undefined, mapped);
            call.sending = false;
            await sleep(delay, signal);
            continue;
          }
        }
        throw mapped;
      }
      answered?.();
      const responseTime = this.config.clock.now();
      await this.#learn(call, response, responseTime);
      if (this.#canRetry(call, retries, { status: response.status }, signal)) {
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
            this.#retryEvent(call, retries + 1, delay, response.status);
            call.sending = false;
            await sleep(delay, signal);
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

  #canRetry(
    call: Call,
    retries: number,
    outcome: { status: number } | { error: unknown },
    signal: AbortSignal,
  ): boolean {
    return call.retryableBody && !signal.aborted &&
      !this.isClosed(call.scope) &&
      shouldRetry(call.method, retries, outcome, this.config.retry);
  }

  // Whether a backoff leaves time before the total deadline.
  #fits(call: Call, delayMs: number): boolean {
    return call.totalMs === undefined ||
      performance.now() + delayMs < call.started + call.totalMs;
  }

  #retryEvent(
    call: Call,
    attempt: number,
    delayMs: number,
    status: number | undefined,
    error?: unknown,
  ): void {
    if (!this.#emitFn) return;
    this.emit({
      type: "retry",
      ...this.#requestFields(call),
      attempt,
      delayMs,
      ...(status === undefined ? {} : { status }),
      ...(error === undefined
        ? {}
        : { errorName: (error as { name?: string })?.name ?? "Error" }),
    });
  }

  #init(
    call: Call,
    conditional: readonly [string, string][],
    signal: AbortSignal,
  ): RequestInit {
    let headers = call.headers;
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

  #resource(call: Call): string {
    if (call.resource === undefined) {
      const resource = escapeKeyPart(this.config.resource(new URL(call.url)));
      call.resource = `${call.scope.prefix}:ratelimit:${resource}`;
      // The server's cooldown is about the resource, whoever asked: it
      // holds back the client and every scope alike.
      call.cooldownResource = `${this.#rootPrefix}:ratelimit:${resource}`;
    }
    return call.resource;
  }

  async #admit(
    call: Call,
    signal: AbortSignal,
  ): Promise<(() => void) | undefined> {
    const limiter = this.config.limiter;
    if (limiter === undefined) return undefined;
    const resource = this.#resource(call);
    return await limiter.admit(
      resource,
      () => call.priority,
      signal,
      this.#emitFn ? this.#admitHooks(call, resource) : undefined,
      call.cooldownResource,
    );
  }

  #admitHooks(call: Call, resource: string): AdmitHooks {
    const base = () => ({
      ...this.#requestFields(call),
    });
    return {
      onWait: (waitMs) =>
        this.emit({
          type: "ratelimit.wait",
          ...base(),
          resource,
          priority: call.priority,
          waitMs,
        }),
      onCooldown: (cooldownMs) =>
        this.emit({
          type: "cooldown",
          ...base(),
          resource: call.cooldownResource ?? resource,
          cooldownMs,
          action: "wait",
        }),
      onRejected: (retryAfterMs, reason) =>
        this.emit({
          type: "ratelimit.rejected",
          ...base(),
          resource: reason === "cooldown"
            ? call.cooldownResource ?? resource
            : resource,
          priority: call.priority,
          retryAfterMs,
          reason,
        }),
      onStoreError: (error, failedOpen) =>
        this.emit({
          type: "error",
          ...base(),
          stage: "ratelimit",
          failedOpen,
          error,
        }),
    };
  }

  // Records what the server said about its rate limit.
  async #learn(call: Call, response: Response, now: number): Promise<void> {
    const limiter = this.config.limiter;
    if (limiter === undefined) return;
    const { cooldownMs } = readRateLimitSignals(
      response.headers,
      now,
      response.status,
    );
    if (cooldownMs === undefined || !(cooldownMs > 0)) return;
    this.#resource(call);
    const resource = call.cooldownResource!;
    if (this.#emitFn) {
      this.emit({
        type: "cooldown",
        ...this.#requestFields(call, now),
        resource,
        cooldownMs,
        action: "set",
      });
    }
    await limiter.cooldown(
      resource,
      cooldownMs,
      this.#emitFn ? this.#admitHooks(call, resource) : undefined,
    );
  }
}

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

// Only the rate limiter lets a failure through to the caller: cache and
// dedupe stores fail open.
function _stage(error: unknown): "ratelimit" | "fetch" {
  return error instanceof RateLimitError || error instanceof StoreError
    ? "ratelimit"
    : "fetch";
}

function _status(outcome: Outcome): number {
  switch (outcome.kind) {
    case "entry":
      return outcome.entry.status;
    case "raw":
      return outcome.raw.status;
    case "response":
      return outcome.response.status;
  }
}

async function _runValidate(
  validate: (body: Uint8Array, contentType: string | null) => Promise<unknown>,
  body: Uint8Array,
  contentType: string | null,
): Promise<Validated> {
  try {
    return { ok: true, value: await validate(body, contentType) };
  } catch (error) {
    return { ok: false, error };
  }
}

function _share(result: FlightResult): Shared {
  const { outcome } = result;
  let raw: Raw | null = null;
  if (outcome.kind === "raw") raw = _withoutCookies(outcome.raw);
  else if (outcome.kind === "entry") {
    raw = {
      url: outcome.entry.url,
      status: outcome.entry.status,
      statusText: outcome.entry.statusText,
      headers: outcome.entry.headers,
      body: outcome.entry.body,
    };
  }
  return { sluice: 1, raw, vary: result.vary };
}

// A cookie the origin set is for the caller whose request it answered:
// never stored, and never handed to a caller that joined its flight.
function _storableHeaders(headers: Headers): Headers {
  if (!headers.has("set-cookie")) return headers;
  const out = new Headers(headers);
  out.delete("set-cookie");
  return out;
}

function _withoutCookies(raw: Raw): Raw {
  if (!raw.headers.some(([name]) => name === "set-cookie")) return raw;
  return {
    ...raw,
    headers: raw.headers.filter(([name]) => name !== "set-cookie"),
  };
}

// Whether a dedupe store's value is one a flight shared, down to what
// building its `Response` and matching its Vary need.
function _isShared(value: unknown): value is Shared {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.sluice !== 1 || !isVarySelection(v.vary)) return false;
  if (v.raw === null) return true;
  const raw = v.raw as Record<string, unknown> | undefined;
  return typeof raw === "object" && raw !== null &&
    typeof raw.url === "string" && Number.isInteger(raw.status) &&
    (raw.status as number) >= 200 && (raw.status as number) <= 599 &&
    isReasonPhrase(raw.statusText) && isHeaderList(raw.headers) &&
    raw.body instanceof Uint8Array;
}

// A Vary index whose names `Headers.get` takes; anything else under a
// request's key must be an entry, or it is corrupt.
function _isVaryIndex(value: unknown): value is VaryIndex {
  if (
    typeof value !== "object" || value === null ||
    (value as VaryIndex).sluiceVary !== 1
  ) {
    return false;
  }
  const { names } = value as VaryIndex;
  return Array.isArray(names) && names.length > 0 &&
    names.every((name) => name === "*" || isFieldName(name));
}

function _any(
  a: AbortSignal | undefined,
  b: AbortSignal | undefined,
): AbortSignal | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}

// Re-streams a body, calling `onEnd` once when it ends, fails or is
// cancelled, and failing it with the signal's reason when `signal` aborts.
function _wrapBody(
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

function _linkSignal(
  response: Response,
  signal: AbortSignal,
  url: string,
): Response {
  if (response.body === null) return response;
  if (signal.aborted) {
    void discard(response.body);
    throw signal.reason;
  }
  const out = statusResponse(_wrapBody(response.body, () => {}, signal), {
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

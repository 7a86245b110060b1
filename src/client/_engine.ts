// The request pipeline of HttpClient (DESIGN §4), as one short orchestrator
// over its stages: keys, cache reader, flights, origin exchange (attempts
// within it), cache writer, events. One Engine is shared by a client and all
// its scopes; a Scope carries the key prefix.
//
//   GET/HEAD: key -> cache read -> fresh: serve
//                              -> stale-while-revalidate: serve, revalidate
//                              -> stale or miss: flight -> origin -> store
//   others:   attempts -> invalidate what the answer changed -> stream back
//
// A GET or HEAD with Range or preconditions of the caller's own has flights
// of its own (see `_selecting`), and a single byte range is cut from a
// stored response (`_ranged`).

import type { AnnouncedLimit } from "../events.ts";
import { toResponse } from "../cache/entry.ts";
import { onlyIfCached, onlyIfCachedMiss } from "../cache/request.ts";
import type { SluiceError } from "../errors.ts";
import { joinKey } from "../stores/keys.ts";
import { Attempts } from "./_attempts.ts";
import { errorStage } from "./_events.ts";
import type { Call, Outcome, Scope, Stale } from "./_call.ts";
import { type CacheAnswer, CacheReader } from "./_cache_reader.ts";
import { CacheWriter } from "./_cache_writer.ts";
import {
  type CacheConditions,
  cacheConditions,
  conditionalOutcome,
} from "./_conditional.ts";
import { Flights } from "./_flights.ts";
import {
  type CallKeys,
  selectingFields,
  selectingKeys,
  taggedKeys,
} from "./_key.ts";
import { Origin } from "./_origin.ts";
import { parseRange, rangedOutcome } from "./_range.ts";
import {
  CHECKED,
  type Checked,
  type EngineConfig,
  Pipeline,
} from "./_pipeline.ts";
import { rawToResponse } from "./_response.ts";

export type { EngineConfig } from "./_pipeline.ts";
export type {
  Call,
  CallSpec,
  Outcome,
  Raw,
  Scope,
  Validated,
} from "./_call.ts";

/** The pipeline, shared by a client and its scopes. */
export class Engine {
  readonly #pipeline: Pipeline;
  readonly #reader: CacheReader | undefined;
  readonly #writer: CacheWriter | undefined;
  readonly #attempts: Attempts;
  readonly #origin: Origin;
  readonly #flights: Flights;
  /**
   * The request headers last looked at and their selecting fields: most
   * requests carry the client's own headers, which never change.
   */
  #headers: Headers | undefined;
  #selectingFields = "";

  constructor(config: EngineConfig) {
    const pipeline = new Pipeline(config);
    const store = config.cache?.store;
    this.#pipeline = pipeline;
    this.#reader = store && new CacheReader(pipeline, store);
    this.#writer = store && new CacheWriter(pipeline, store);
    this.#attempts = new Attempts(pipeline, joinKey(config.name));
    this.#origin = new Origin(pipeline, this.#attempts, this.#writer);
    this.#flights = new Flights(pipeline, this.#origin, this.#reader);
  }

  /** Whether events are wanted (so callers skip building them). */
  get listening(): boolean {
    return this.#pipeline.events.listening;
  }

  /** A new call id for events. */
  nextRequestId(): string {
    return this.#pipeline.events.nextRequestId();
  }

  /** The limit each resource's server last announced (see `Pipeline.announced`). */
  announced(resource: string): (AnnouncedLimit & { at: number }) | undefined {
    return this.#pipeline.announced.get(resource);
  }

  /** The validated configuration. */
  get config(): EngineConfig {
    return this.#pipeline.config;
  }

  /**
   * How many flights of the client or scope with key prefix `prefix`, and
   * of its scopes, are in progress (background revalidations included).
   */
  flights(prefix: string): number {
    return this.#flights.table.count(`${prefix}:`);
  }

  /** The largest body the client buffers, in bytes. */
  get maxBodyBytes(): number {
    return this.#pipeline.config.maxBodyBytes;
  }

  /** The credential part of the key of a request with these headers. */
  credentials(headers: Headers): string {
    return this.#pipeline.hasher.credentials(headers);
  }

  /**
   * The parsed body of an entry, parsed once per entry and remembered with
   * it (`parse` runs on the first call).
   */
  parsed(
    entry: object,
    parse: () => NonNullable<Checked["parsed"]>,
  ): NonNullable<Checked["parsed"]> {
    const { checked } = this.#pipeline;
    const known = checked.get(entry);
    if (known?.parsed !== undefined) return known.parsed;
    const parsed = parse();
    if (known !== undefined && known !== CHECKED) known.parsed = parsed;
    else checked.set(entry, { parsed });
    return parsed;
  }

  /** The error of a call on a closed client. */
  closedError(scope: Scope): SluiceError {
    return this.#pipeline.closedError(scope);
  }

  /** Whether a scope, or the root client it belongs to, was closed. */
  isClosed(scope: Scope): boolean {
    return this.#pipeline.isClosed(scope);
  }

  /** Runs a request through the pipeline. */
  send(call: Call): Promise<Outcome> {
    if (this.isClosed(call.scope)) {
      return Promise.reject(this.closedError(call.scope));
    }
    if (call.signal?.aborted) return Promise.reject(call.signal.reason);
    if (!this.listening && call.totalMs === undefined) {
      // Nothing to report and no timer to clear: skip a layer of awaiting.
      return this.#route(call);
    }
    return this.#observed(call);
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
    if (root) this.#pipeline.closeAll();
    await this.#flights.close(scope, root);
  }

  #route(call: Call): Promise<Outcome> {
    return call.method === "GET" || call.method === "HEAD"
      ? this.#safe(call)
      : this.#unsafe(call);
  }

  // With the total deadline and the request's events around it.
  async #observed(call: Call): Promise<Outcome> {
    const { events } = this.#pipeline;
    if (events.listening) {
      events.emit({
        type: "request",
        ...events.fields(call),
        priority: call.state.priority,
      });
    }
    this.#attempts.startTotal(call);
    let outcome: Outcome | undefined;
    try {
      outcome = await this.#route(call);
    } catch (error) {
      if (events.listening && error !== call.signal?.reason) {
        events.emit({
          type: "error",
          ...events.fields(call),
          stage: errorStage(error),
          failedOpen: false,
          error,
        });
      }
      throw error;
    } finally {
      if (outcome?.kind !== "response" || !outcome.ownsTimer) {
        call.state.release?.();
      }
    }
    if (events.listening) {
      events.emit({
        type: "response",
        ...events.fields(call),
        status: _status(outcome),
        source: outcome.source,
        durationMs: performance.now() - call.started,
        attempts: outcome.attempts,
        ...(outcome.source === "dedupe" &&
            call.state.ownerRequestId !== undefined
          ? { ownerRequestId: call.state.ownerRequestId }
          : {}),
      });
    }
    return outcome;
  }

  // GET and HEAD: the cache, then a flight. A memory store answers at once:
  // a fresh hit then resolves without a wait.
  #safe(call: Call): Promise<Outcome> {
    const { hasher } = this.#pipeline;
    let keys = hasher.keys(
      call.scope.prefix,
      call.method,
      call.url,
      call.credentials,
    );
    if (call.tags !== undefined) keys = taggedKeys(hasher, call, keys);
    const reader = this.#reader;
    if (call.headers !== this.#headers) {
      // A call's headers are built for it or are the client's: none is
      // changed once a call carries it.
      this.#headers = call.headers;
      this.#selectingFields = selectingFields(call.headers);
    }
    const selecting = this.#selectingFields;
    if (selecting !== "") {
      const conditions = reader !== undefined && call.mode === "default"
        ? cacheConditions(call.headers)
        : undefined;
      const selected = taggedKeys(
        hasher,
        call,
        selectingKeys(hasher, call, keys, selecting),
      );
      if (conditions !== undefined) {
        return this.#conditional(call, keys, selected, conditions);
      }
      return this.#afterRead(_selecting(call), selected, undefined);
    }
    let answer: CacheAnswer | undefined;
    if (reader !== undefined && call.mode !== "no-store") {
      answer = reader.readNow(call, keys);
      if (answer?.kind === "fresh") return Promise.resolve(answer.outcome);
    }
    return this.#afterRead(call, keys, answer);
  }

  // A request with the caller's own validators: answered from a fresh
  // stored response when it can be, else sent as it is.
  async #conditional(
    call: Call,
    keys: CallKeys,
    selected: CallKeys,
    conditions: CacheConditions,
  ): Promise<Outcome> {
    const reader = this.#reader!;
    const answer = reader.readNow(call, keys) ??
      await reader.read(call, keys, call.state.totalSignal ?? call.signal);
    if (answer.kind === "fresh") {
      const outcome = conditionalOutcome(answer.outcome, conditions);
      if (outcome !== undefined) return outcome;
    }
    return this.#afterRead(_selecting(call), selected, undefined);
  }

  async #afterRead(
    call: Call,
    keys: CallKeys,
    read: CacheAnswer | undefined,
  ): Promise<Outcome> {
    const { events } = this.#pipeline;
    // Bounds the caller's own waits: store reads here, the flight later.
    const waitSignal = call.state.totalSignal ?? call.signal;
    let stale: Stale | undefined;
    const reader = this.#reader;
    if (reader !== undefined && call.mode !== "no-store") {
      const answer = read ?? await reader.read(call, keys, waitSignal);
      switch (answer.kind) {
        case "fresh":
          return _ranged(call, answer.outcome);
        case "serve-stale":
          this.#flights.revalidate(call, keys, answer.found);
          return _ranged(call, answer.outcome);
        case "stale":
          stale = answer.stale;
          break;
        case "miss":
          events.miss(call, keys.cache, answer.reason);
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
    return _ranged(
      call,
      await this.#flights.join(call, keys, stale, waitSignal),
    );
  }

  // Other methods: no cache read and no flight; what the answer changed is
  // invalidated, and its body streams back.
  async #unsafe(call: Call): Promise<Outcome> {
    const callerSignal = call.state.totalSignal ?? call.signal;
    const exchange = await this.#attempts.exchange(call, callerSignal, []);
    // A body handed over as a stream ends the attempt's deadline with the
    // headers; one the client reads has it run until the body ends.
    if (!call.buffered) exchange.done();
    const { response } = exchange;
    await this.#writer?.invalidate(call, response.status, response.headers);
    return {
      kind: "response",
      response: this.#origin.streamed(
        call,
        exchange,
        response.body,
        callerSignal,
      ),
      source: "network",
      attempts: exchange.attempts,
      ownsTimer: true,
    };
  }
}

// A GET or HEAD with fields that make its answer partial or conditional
// (see `selectingFields`). A GET's Range is answered from a stored complete
// response when it can be, and a caller's own If-None-Match or
// If-Modified-Since alone from a fresh one (see `#conditional`). Otherwise
// the caller's preconditions (those, If-Match, If-Unmodified-Since, or an
// If-Range without a Range) are the origin's to evaluate: in the default
// cache mode such a request neither reads nor writes the cache, as the
// Fetch standard has it, so that a 304 or 412 it asked for is never stored
// or served to another.
function _selecting(call: Call): Call {
  const { headers, state } = call;
  state.selecting = true;
  const range = headers.get("range");
  if (range !== null && call.method === "GET") {
    state.range = {
      range: parseRange(range),
      ifRange: headers.get("if-range"),
    };
  }
  const conditional = headers.has("if-none-match") ||
    headers.has("if-modified-since") || headers.has("if-match") ||
    headers.has("if-unmodified-since") ||
    (range === null && headers.has("if-range"));
  return conditional && call.mode === "default"
    ? { ...call, mode: "no-store" }
    : call;
}

// The outcome cut to the range a GET asked for, when it is a stored
// response that answers it.
function _ranged(call: Call, outcome: Outcome): Outcome {
  const range = call.state.range;
  return range === undefined ? outcome : rangedOutcome(outcome, range);
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

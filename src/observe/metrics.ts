/**
 * Metrics from a client's events: {@linkcode createMetrics} returns a
 * listener to pass as the client's `onEvent`, and a `snapshot()` of what the
 * events added up to, per client and scope, over a rolling window and since
 * start.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { ConfigError } from "../errors.ts";
import type { ErrorStage, SluiceEvent } from "../events.ts";
import {
  nonNegativeInteger,
  positiveInteger,
  validClock,
} from "../stores/_validate.ts";
import {
  addBuckets,
  bucketOf,
  BUCKETS,
  type Buckets,
  quantile,
} from "./_histogram.ts";
import {
  type ClientMetrics,
  type Metrics,
  type MetricsCounts,
  type MetricsOptions,
  type MetricsSnapshot,
  OTHER_CLIENTS,
  OTHER_RESOURCES,
  type RecentError,
  type ResourceMetrics,
} from "./snapshot.ts";

const COMPONENT = "Metrics";

/** The slices the rolling window is made of. */
const SLICES = 10;
/** The shortest window: one millisecond per slice. */
const MIN_WINDOW_MS = SLICES;
/**
 * The most calls whose waits are added up at once; past it the oldest is
 * counted as it stands and forgotten, so that calls that never end (an
 * aborted call emits no final event) cannot grow memory.
 */
const MAX_PENDING = 10_000;
/** The longest error message kept, in characters. */
const MAX_MESSAGE = 300;
/** The longest error name or code kept, in characters. */
const MAX_NAME = 100;
/** The longest URL kept with a recent error, in characters. */
const MAX_URL = 2_048;

// The counters of a span of time, as indices into its counts.
const CALLS = 0;
const NETWORK = 1;
const CACHE = 2;
const REVALIDATED = 3;
const STALE = 4;
const DEDUPE = 5;
const FAILURES = 6;
const ORIGIN_CALLS = 7;
const BACKGROUND_ORIGIN_CALLS = 8;
const HITS = 9;
const STALE_SERVED = 10;
/** Stale entries found by a lookup (not the serve-on-error that follows one). */
const STALE_FOUND = 11;
const MISSES = 12;
const REVALIDATIONS = 13;
const NOT_MODIFIED = 14;
const JOINS = 15;
const STORED = 16;
const WAIT_CALLS = 17;
const WAIT_TOTAL = 18;
const WAIT_MAX = 19;
const REJECTIONS = 20;
const COOLDOWNS = 21;
const RETRIES = 22;
const STORE_ERRORS = 23;
const LATENCY_COUNT = 24;
const LATENCY_SUM = 25;
const LATENCY_MAX = 26;
const WAIT_MIN = 27;
const LATENCY_MIN = 28;
const COUNTERS = 29;

/** What the events of a span of time (one slice, or since start) add up to. */
class _Span {
  /** The slice's number (time / slice length); unused since start. */
  epoch = -Infinity;
  readonly counts: Float64Array = new Float64Array(COUNTERS);
  /** Response durations; created at the first. */
  latency: Buckets | undefined;
  /** Waits of one call; created at the first. */
  wait: Buckets | undefined;
  /** Whether the histograms count past 2^32 (the span since start). */
  readonly #wide: boolean;

  constructor(wide: boolean) {
    this.#wide = wide;
  }

  histogram(): Buckets {
    return this.#wide ? new Float64Array(BUCKETS) : new Uint32Array(BUCKETS);
  }

  clear(epoch: number): void {
    this.epoch = epoch;
    this.counts.fill(0);
    this.latency?.fill(0);
    this.wait?.fill(0);
  }
}

/** One rate-limit resource's counts, since start. */
interface _Resource {
  readonly resource: string;
  originCalls: number;
  waits: number;
  waitedMs: number;
  rejections: number;
  cooldowns: number;
  cooldownUntil: number;
  /** When it was last used, as a sequence number. */
  used: number;
}

/** One client or scope. */
class _Series {
  readonly client: string;
  readonly slices: _Span[] = [];
  readonly total: _Span = new _Span(true);
  readonly resources: Map<string, _Resource> = new Map();
  other: _Resource | undefined;
  /** The slice last written to. */
  #last: _Span | undefined;

  constructor(client: string) {
    this.client = client;
    for (let i = 0; i < SLICES; i++) this.slices.push(new _Span(false));
  }

  /** The slice of `epoch`, emptied when it held an older one. */
  at(epoch: number): _Span {
    const last = this.#last;
    if (last !== undefined && last.epoch === epoch) return last;
    const slice = this.slices[((epoch % SLICES) + SLICES) % SLICES]!;
    if (slice.epoch !== epoch) slice.clear(epoch);
    this.#last = slice;
    return slice;
  }
}

/** A call whose waits are being added up. */
interface _Pending {
  readonly series: _Series;
  ms: number;
}

/**
 * Creates metrics that count a client's events: pass `onEvent` to the
 * client (and to as many clients as should report together), and read
 * `snapshot()` whenever the numbers are wanted.
 *
 * Counts are kept per client and scope (the key prefix events carry), over
 * a rolling window and since start. The window is made of ten slices of a
 * tenth of `windowMs` each, moved on by reading `clock` at every event and
 * every snapshot, so it covers between nine and ten tenths of `windowMs`; no
 * timer runs. Percentiles come from fixed log-scale histograms (four buckets
 * per doubling), within about 9% of the exact value and never above the
 * largest one.
 *
 * Memory stays bounded whatever the traffic: nothing is keyed by URL; at
 * most `maxClients` series (then {@linkcode OTHER_CLIENTS}), `maxResources`
 * resources per series (then {@linkcode OTHER_RESOURCES}), `recentErrors`
 * errors, and the waits of at most 10 000 unfinished calls.
 *
 * @param options The window, the clock and the bounds.
 * @returns The listener and the snapshot.
 * @throws {ConfigError} When an option is not valid: `windowMs` a finite
 * number of at least 10, `maxClients` and `maxResources` positive integers,
 * `recentErrors` a non-negative integer, `clock` an object with `now()`.
 *
 * @example Counting what the cache and de-duplication save
 * ```ts
 * import {
 *   createMetrics,
 *   HttpClient,
 *   MemoryCacheStore,
 *   MemoryDedupeStore,
 * } from "@sluice/http";
 *
 * const metrics = createMetrics({ windowMs: 60_000 });
 * const api = new HttpClient({
 *   name: "api",
 *   cache: { store: new MemoryCacheStore() },
 *   dedupe: { store: new MemoryDedupeStore() },
 *   onEvent: metrics.onEvent,
 * });
 * // ... calls ...
 * for (const { client, total } of metrics.snapshot().clients) {
 *   console.log(client, total.calls, total.originCallsSaved, total.hitRatio);
 * }
 * await api.close();
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new _Metrics(options);
}

class _Metrics implements Metrics {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #sliceMs: number;
  readonly #maxClients: number;
  readonly #maxResources: number;
  readonly #maxErrors: number;

  /** The last finite time read from the clock. */
  #now: number;
  /** The newest slice number seen; never moves back. */
  #epoch = -Infinity;
  #since: number;
  #series: Map<string, _Series> = new Map();
  #other: _Series | undefined;
  /** The series of the last event's client, to skip a lookup. */
  #lastClient: string | undefined;
  #lastSeries: _Series | undefined;
  /** Waits added up per call, oldest first. */
  #pending: Map<string, _Pending> = new Map();
  /**
   * Calls whose rate-limit store failed closed: the error that ends them
   * repeats that failure, and is not counted again.
   */
  #failedClosed: Set<string> = new Set();
  #errors: RecentError[] = [];
  /** Where the next recent error goes in `#errors` once it is full. */
  #errorHead = 0;
  /** Orders resources by use. */
  #uses = 0;
  /** The counts of the event being recorded: its slice's, and since start. */
  #counts: Float64Array = new Float64Array(0);
  #totals: Float64Array = new Float64Array(0);

  constructor(options: MetricsOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(COMPONENT, "options", options, "an object");
    }
    const {
      windowMs = 60_000,
      clock = systemClock,
      maxClients = 100,
      maxResources = 50,
      recentErrors = 20,
    } = options;
    if (
      typeof windowMs !== "number" || !Number.isFinite(windowMs) ||
      windowMs < MIN_WINDOW_MS
    ) {
      throw new ConfigError(
        COMPONENT,
        "windowMs",
        windowMs,
        `a finite number of at least ${MIN_WINDOW_MS} (ms; the window moves in tenths)`,
      );
    }
    this.#windowMs = windowMs;
    this.#sliceMs = windowMs / SLICES;
    this.#clock = validClock(COMPONENT, clock);
    this.#maxClients = positiveInteger(COMPONENT, "maxClients", maxClients);
    this.#maxResources = positiveInteger(
      COMPONENT,
      "maxResources",
      maxResources,
    );
    this.#maxErrors = nonNegativeInteger(
      COMPONENT,
      "recentErrors",
      recentErrors,
    );
    this.#now = 0;
    this.#tick();
    this.#since = this.#now;
  }

  readonly onEvent = (event: SluiceEvent): void => {
    try {
      this.#record(event);
    } catch {
      // A malformed event (or a clock that throws) is ignored.
    }
  };

  snapshot(): MetricsSnapshot {
    this.#tick();
    const epoch = this.#epoch;
    const clients: ClientMetrics[] = [];
    const counts = new Float64Array(COUNTERS);
    const latency = new Float64Array(BUCKETS);
    const wait = new Float64Array(BUCKETS);
    const all = [...this.#series.values()];
    if (this.#other !== undefined) all.push(this.#other);
    for (const series of all) {
      counts.fill(0);
      latency.fill(0);
      wait.fill(0);
      for (const slice of series.slices) {
        if (!(slice.epoch > epoch - SLICES && slice.epoch <= epoch)) continue;
        _merge(counts, slice.counts);
        if (slice.latency !== undefined) addBuckets(latency, slice.latency);
        if (slice.wait !== undefined) addBuckets(wait, slice.wait);
      }
      const resources = [...series.resources.values()];
      if (series.other !== undefined) resources.push(series.other);
      resources.sort((a, b) => b.used - a.used);
      clients.push({
        client: series.client,
        window: _counts(counts, latency, wait),
        total: _counts(
          series.total.counts,
          series.total.latency,
          series.total.wait,
        ),
        resources: resources.map(_resource),
      });
    }
    const recentErrors: RecentError[] = [];
    const errors = this.#errors;
    for (let i = 1; i <= errors.length; i++) {
      const index = (this.#errorHead - i + errors.length) % errors.length;
      recentErrors.push({ ...errors[index]! });
    }
    return {
      time: this.#now,
      since: this.#since,
      windowMs: this.#windowMs,
      clients,
      recentErrors,
    };
  }

  reset(): void {
    this.#tick();
    this.#since = this.#now;
    this.#series = new Map();
    this.#other = undefined;
    this.#lastClient = undefined;
    this.#lastSeries = undefined;
    this.#pending = new Map();
    this.#failedClosed = new Set();
    this.#errors = [];
    this.#errorHead = 0;
  }

  /** Reads the clock and moves the window on. */
  #tick(): void {
    let now: unknown;
    try {
      now = this.#clock.now();
    } catch {
      // A clock that throws leaves the time where it was.
    }
    if (typeof now !== "number" || !Number.isFinite(now)) return;
    this.#now = now;
    const epoch = Math.floor(now / this.#sliceMs);
    if (epoch > this.#epoch) this.#epoch = epoch;
  }

  /** The current slice's number (0 until the clock read a finite time). */
  #slice(): number {
    return this.#epoch === -Infinity ? 0 : this.#epoch;
  }

  #seriesOf(client: string): _Series {
    if (client === this.#lastClient) return this.#lastSeries!;
    let series = this.#series.get(client);
    if (series === undefined) {
      if (this.#series.size < this.#maxClients) {
        series = new _Series(client);
        this.#series.set(client, series);
      } else {
        series = this.#other ??= new _Series(OTHER_CLIENTS);
      }
    }
    this.#lastClient = client;
    this.#lastSeries = series;
    return series;
  }

  #resourceOf(series: _Series, resource: unknown): _Resource | undefined {
    if (typeof resource !== "string") return undefined;
    let found = series.resources.get(resource);
    if (found === undefined) {
      if (series.resources.size < this.#maxResources) {
        found = _newResource(resource);
        series.resources.set(resource, found);
      } else {
        found = series.other ??= _newResource(OTHER_RESOURCES);
      }
    }
    found.used = ++this.#uses;
    return found;
  }

  #add(index: number, amount = 1): void {
    this.#counts[index]! += amount;
    this.#totals[index]! += amount;
  }

  #record(event: SluiceEvent): void {
    if (typeof event !== "object" || event === null) return;
    const { type, client } = event as { type: unknown; client: unknown };
    if (typeof client !== "string" || typeof type !== "string") return;
    if (!_counted(type)) return;
    this.#tick();
    const series = this.#seriesOf(client);
    const slice = series.at(this.#slice());
    const { counts } = slice;
    const total = series.total.counts;
    this.#counts = counts;
    this.#totals = total;
    const e = event as unknown as Record<string, unknown>;
    switch (type) {
      case "request":
        this.#add(CALLS);
        return;
      case "response": {
        const source = _sourceIndex(e.source);
        if (source !== undefined) this.#add(source);
        const ms = _duration(e.durationMs);
        if (ms !== undefined) {
          this.#add(LATENCY_COUNT);
          this.#add(LATENCY_SUM, ms);
          _extremes(counts, total, LATENCY_COUNT, ms);
          slice.latency ??= slice.histogram();
          series.total.latency ??= series.total.histogram();
          const bucket = bucketOf(ms);
          slice.latency[bucket]!++;
          series.total.latency[bucket]!++;
        }
        this.#settle(e.requestId);
        return;
      }
      case "error":
        this.#error(e, series);
        return;
      case "origin": {
        this.#add(ORIGIN_CALLS);
        if (e.background === true) this.#add(BACKGROUND_ORIGIN_CALLS);
        const resource = this.#resourceOf(series, e.resource);
        if (resource !== undefined) resource.originCalls++;
        return;
      }
      case "cache.hit":
        this.#add(HITS);
        return;
      case "cache.miss":
        this.#add(MISSES);
        return;
      case "cache.stale":
        switch (e.action) {
          case "serve-and-revalidate":
            this.#add(STALE_SERVED);
            this.#add(STALE_FOUND);
            return;
          case "revalidate":
            this.#add(STALE_FOUND);
            return;
          case "serve-on-error":
            this.#add(STALE_SERVED);
            return;
        }
        return;
      case "cache.revalidated":
        this.#add(REVALIDATIONS);
        if (e.status === 304) this.#add(NOT_MODIFIED);
        return;
      case "cache.stored":
        this.#add(STORED);
        return;
      case "dedupe.joined":
        this.#add(JOINS);
        return;
      case "ratelimit.wait": {
        const ms = _duration(e.waitMs);
        if (ms === undefined) return;
        const resource = this.#resourceOf(series, e.resource);
        if (resource !== undefined) {
          resource.waits++;
          resource.waitedMs += ms;
        }
        this.#wait(series, e.requestId, ms);
        return;
      }
      case "ratelimit.rejected": {
        this.#add(REJECTIONS);
        const resource = this.#resourceOf(series, e.resource);
        if (resource !== undefined) resource.rejections++;
        return;
      }
      case "cooldown": {
        const resource = this.#resourceOf(series, e.resource);
        if (e.action !== "set") return;
        this.#add(COOLDOWNS);
        const ms = _duration(e.cooldownMs);
        if (resource !== undefined) {
          resource.cooldowns++;
          if (ms !== undefined) resource.cooldownUntil = this.#now + ms;
        }
        return;
      }
      case "retry":
        this.#add(RETRIES);
        return;
    }
  }

  #error(e: Record<string, unknown>, series: _Series): void {
    const { stage, failedOpen, requestId } = e;
    if (!_isStage(stage) || typeof failedOpen !== "boolean") return;
    this.#remember(e, series.client, stage, failedOpen);
    const id = typeof requestId === "string" ? requestId : undefined;
    if (failedOpen) {
      if (stage !== "fetch") this.#add(STORE_ERRORS);
      return;
    }
    if (id !== undefined && this.#failedClosed.delete(id)) return;
    this.#add(FAILURES);
    this.#settle(id);
    if (stage === "fetch" || _isRefusal(e.error)) return;
    this.#add(STORE_ERRORS);
    if (id === undefined) return;
    if (this.#failedClosed.size >= MAX_PENDING) {
      this.#failedClosed.delete(this.#failedClosed.values().next().value!);
    }
    this.#failedClosed.add(id);
  }

  /** Keeps what an error event says, without the error itself. */
  #remember(
    e: Record<string, unknown>,
    client: string,
    stage: ErrorStage,
    failedOpen: boolean,
  ): void {
    if (this.#maxErrors === 0) return;
    const error = e.error;
    let name = "Error";
    let code: string | undefined;
    let message: string;
    if (typeof error === "object" && error !== null) {
      const n = _read(error, "name");
      if (typeof n === "string" && n !== "") name = _cut(n, MAX_NAME);
      const c = _read(error, "code");
      if (typeof c === "string") code = _cut(c, MAX_NAME);
      const m = _read(error, "message");
      message = typeof m === "string" ? _cut(m, MAX_MESSAGE) : "";
    } else {
      message = _cut(String(error), MAX_MESSAGE);
    }
    const time = typeof e.time === "number" && Number.isFinite(e.time)
      ? e.time
      : this.#now;
    const { requestId, method, url } = e;
    const recent: RecentError = {
      time,
      client,
      ...(typeof requestId === "string"
        ? { requestId: _cut(requestId, MAX_NAME) }
        : {}),
      ...(typeof method === "string" ? { method: _cut(method, MAX_NAME) } : {}),
      ...(typeof url === "string" ? { url: _cut(url, MAX_URL) } : {}),
      stage,
      failedOpen,
      name,
      ...(code === undefined ? {} : { code }),
      message,
    };
    if (this.#errors.length < this.#maxErrors) {
      this.#errors.push(recent);
      this.#errorHead = this.#errors.length % this.#maxErrors;
    } else {
      this.#errors[this.#errorHead] = recent;
      this.#errorHead = (this.#errorHead + 1) % this.#maxErrors;
    }
  }

  /** Adds a wait of `ms` to its call's. */
  #wait(series: _Series, requestId: unknown, ms: number): void {
    if (typeof requestId !== "string") {
      // A wait no call can be found for counts as a call's whole wait.
      this.#settled(series, ms);
      return;
    }
    const pending = this.#pending.get(requestId);
    if (pending !== undefined) {
      pending.ms += ms;
      return;
    }
    if (this.#pending.size >= MAX_PENDING) {
      const [oldest, old] = this.#pending.entries().next().value!;
      this.#pending.delete(oldest);
      this.#settled(old.series, old.ms);
    }
    this.#pending.set(requestId, { series, ms });
  }

  /** A call ended: its waits, if any, count now. */
  #settle(requestId: unknown): void {
    if (typeof requestId !== "string" || this.#pending.size === 0) return;
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    this.#settled(pending.series, pending.ms);
  }

  #settled(series: _Series, ms: number): void {
    const slice = series.at(this.#slice());
    const { total } = series;
    slice.counts[WAIT_CALLS]!++;
    total.counts[WAIT_CALLS]!++;
    slice.counts[WAIT_TOTAL]! += ms;
    total.counts[WAIT_TOTAL]! += ms;
    _extremes(slice.counts, total.counts, WAIT_CALLS, ms);
    slice.wait ??= slice.histogram();
    total.wait ??= total.histogram();
    const bucket = bucketOf(ms);
    slice.wait[bucket]!++;
    total.wait[bucket]!++;
  }
}

/** Whether events of `type` count towards anything. */
function _counted(type: string): boolean {
  switch (type) {
    case "request":
    case "response":
    case "error":
    case "origin":
    case "cache.hit":
    case "cache.miss":
    case "cache.stale":
    case "cache.revalidated":
    case "cache.stored":
    case "dedupe.joined":
    case "ratelimit.wait":
    case "ratelimit.rejected":
    case "cooldown":
    case "retry":
      return true;
  }
  return false;
}

function _isStage(stage: unknown): stage is ErrorStage {
  return stage === "cache" || stage === "dedupe" || stage === "ratelimit" ||
    stage === "fetch";
}

/** Whether an error is a refusal for want of budget, not a store failure. */
function _isRefusal(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  return _read(error, "code") === "ERR_RATE_LIMIT";
}

function _sourceIndex(source: unknown): number | undefined {
  switch (source) {
    case "network":
      return NETWORK;
    case "cache":
      return CACHE;
    case "revalidated":
      return REVALIDATED;
    case "stale":
      return STALE;
    case "dedupe":
      return DEDUPE;
  }
  return undefined;
}

/** `value` as a duration in ms, or `undefined` when it is none. */
function _duration(value: unknown): number | undefined {
  return typeof value === "number" && value >= 0 && value !== Infinity
    ? value
    : undefined;
}

/** Where the largest and smallest of the values counted at `count` are. */
function _bounds(count: number): [max: number, min: number] {
  return count === LATENCY_COUNT
    ? [LATENCY_MAX, LATENCY_MIN]
    : [WAIT_MAX, WAIT_MIN];
}

/**
 * Takes `value` into the largest and smallest values counted at `count`,
 * once it is counted there.
 */
function _extremes(
  slice: Float64Array,
  total: Float64Array,
  count: number,
  value: number,
): void {
  const max = count === LATENCY_COUNT ? LATENCY_MAX : WAIT_MAX;
  const min = count === LATENCY_COUNT ? LATENCY_MIN : WAIT_MIN;
  if (value > slice[max]!) slice[max] = value;
  if (slice[count] === 1 || value < slice[min]!) slice[min] = value;
  if (value > total[max]!) total[max] = value;
  if (total[count] === 1 || value < total[min]!) total[min] = value;
}

/** Adds the counts of a slice to those of the window. */
function _merge(into: Float64Array, from: Float64Array): void {
  for (const count of [LATENCY_COUNT, WAIT_CALLS]) {
    if (from[count] === 0) continue;
    const [max, min] = _bounds(count);
    into[min] = into[count] === 0
      ? from[min]!
      : Math.min(into[min]!, from[min]!);
    into[max] = Math.max(into[max]!, from[max]!);
  }
  for (let i = 0; i < COUNTERS; i++) {
    if (
      i !== WAIT_MAX && i !== WAIT_MIN && i !== LATENCY_MAX &&
      i !== LATENCY_MIN
    ) {
      into[i]! += from[i]!;
    }
  }
}

/** A property of a value that may throw when read; `undefined` if it does. */
function _read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The first `max` characters of `text`, without splitting a surrogate pair. */
function _cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function _newResource(resource: string): _Resource {
  return {
    resource,
    originCalls: 0,
    waits: 0,
    waitedMs: 0,
    rejections: 0,
    cooldowns: 0,
    cooldownUntil: 0,
    used: 0,
  };
}

function _resource(r: _Resource): ResourceMetrics {
  return {
    resource: r.resource,
    originCalls: r.originCalls,
    waits: r.waits,
    waitedMs: r.waitedMs,
    rejections: r.rejections,
    cooldowns: r.cooldowns,
    cooldownUntil: r.cooldownUntil,
  };
}

function _counts(
  c: Float64Array,
  latency: Buckets | undefined,
  wait: Buckets | undefined,
): MetricsCounts {
  const hits = c[HITS]!;
  const staleServed = c[STALE_SERVED]!;
  const lookups = hits + c[STALE_FOUND]! + c[MISSES]!;
  const waits = c[WAIT_CALLS]!;
  const waitMax = c[WAIT_MAX]!;
  const measured = c[LATENCY_COUNT]!;
  const latencyMax = c[LATENCY_MAX]!;
  return {
    calls: c[CALLS]!,
    responses: {
      network: c[NETWORK]!,
      cache: c[CACHE]!,
      revalidated: c[REVALIDATED]!,
      stale: c[STALE]!,
      dedupe: c[DEDUPE]!,
    },
    failures: c[FAILURES]!,
    originCalls: c[ORIGIN_CALLS]!,
    backgroundOriginCalls: c[BACKGROUND_ORIGIN_CALLS]!,
    hits,
    staleServed,
    misses: c[MISSES]!,
    revalidations: c[REVALIDATIONS]!,
    notModified: c[NOT_MODIFIED]!,
    joins: c[JOINS]!,
    stored: c[STORED]!,
    waits: {
      count: waits,
      totalMs: c[WAIT_TOTAL]!,
      p95Ms: _q(wait, waits, 0.95, c[WAIT_MIN]!, waitMax),
      maxMs: waitMax,
    },
    rejections: c[REJECTIONS]!,
    cooldowns: c[COOLDOWNS]!,
    retries: c[RETRIES]!,
    storeErrors: c[STORE_ERRORS]!,
    hitRatio: lookups === 0 ? 0 : Math.min(1, (hits + staleServed) / lookups),
    originCallsSaved: hits + staleServed + c[JOINS]!,
    latency: {
      count: measured,
      meanMs: measured === 0 ? 0 : c[LATENCY_SUM]! / measured,
      p50Ms: _q(latency, measured, 0.5, c[LATENCY_MIN]!, latencyMax),
      p95Ms: _q(latency, measured, 0.95, c[LATENCY_MIN]!, latencyMax),
      p99Ms: _q(latency, measured, 0.99, c[LATENCY_MIN]!, latencyMax),
      maxMs: latencyMax,
    },
  };
}

function _q(
  buckets: Buckets | undefined,
  count: number,
  q: number,
  min: number,
  max: number,
): number {
  return buckets === undefined ? 0 : quantile(buckets, count, q, min, max);
}

/**
 * {@linkcode MonitoredCacheStore}: a cache store decorator that reports the
 * duration and outcome of every operation.
 *
 * @module
 */

import type { Clock } from "../../clock.ts";
import { ConfigError } from "../../errors.ts";
import { validClock } from "../_validate.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import {
  type _CacheStoreExtras,
  cacheStoreOption,
  optionsObject,
  setOn,
} from "./_inner.ts";

const COMPONENT = "MonitoredCacheStore";

/** The operations a {@linkcode MonitoredCacheStore} reports. */
export type CacheStoreOperation =
  | "get"
  | "set"
  | "delete"
  | "clear"
  | "getStats"
  | "cleanup"
  | "invalidateTags"
  | "close";

/**
 * One operation of a monitored store. It holds no key and no value.
 *
 * To record it as the OpenTelemetry metric `db.client.operation.duration`
 * (a histogram in seconds), divide `durationMs` by 1 000, and set the
 * attributes `db.operation.name` to `op` and, when `ok` is `false`,
 * `error.type` to `errorType`.
 */
export interface CacheStoreMetric {
  /** The operation. */
  op: CacheStoreOperation;
  /** How long it took, in milliseconds (fractional). */
  durationMs: number;
  /** Whether it succeeded. A miss is a success. */
  ok: boolean;
  /**
   * The size of the value read (a hit) or written, estimated without
   * encoding it: the bytes of its `Uint8Array` parts plus the length of its
   * strings. For a cached response, about its body and headers. `0` for a
   * miss, a failure and the operations that carry no value.
   */
  bytes: number;
  /** For `get` that succeeded: whether it found a value. */
  hit?: boolean;
  /**
   * For a failure: what failed, never its message (which may name a key):
   * the error's `code` (`"ERR_STORE"`), else its name.
   */
  errorType?: string;
}

/** Receives the metric of each operation of a {@linkcode MonitoredCacheStore}. */
export type CacheStoreMetricListener = (metric: CacheStoreMetric) => void;

/** Options for {@linkcode MonitoredCacheStore}. */
export interface MonitoredCacheStoreOptions {
  /**
   * The clock durations are measured on.
   *
   * @default {performance (monotonic)}
   */
  clock?: Clock;
}

/** The clock of durations: monotonic, unlike `Date.now()`. */
const MONOTONIC: Clock = { now: () => performance.now() };

/**
 * A {@linkcode CacheStore} that tells a listener how long each operation of
 * the store it wraps took, whether it succeeded, and how many bytes it
 * moved: `{ op, durationMs, ok, bytes }`, with `hit` for reads and
 * `errorType` for failures. It never reports keys, values or error
 * messages. A listener that throws is ignored; the operation's own outcome
 * is passed on unchanged.
 *
 * Wrap the store the client is given to see what the client asks of it,
 * or one tier of a {@linkcode TieredCacheStore} to see only the calls that
 * reach it.
 *
 * `getStats()` and `cleanup()` are those of the wrapped store, reported
 * too, when it has them. `close()` closes it.
 *
 * @typeParam T The type of the values its callers read and write: `unknown`
 *   unless given. The wrapped store is taken as one of any values.
 *
 * @example Recording `db.client.operation.duration` with OpenTelemetry
 * ```ts ignore
 * import { metrics } from "@opentelemetry/api";
 * import { MonitoredCacheStore } from "@sluice/http";
 *
 * const histogram = metrics.getMeter("sluice").createHistogram(
 *   "db.client.operation.duration",
 *   { unit: "s" },
 * );
 * const cache = new MonitoredCacheStore(remote, (metric) => {
 *   histogram.record(metric.durationMs / 1_000, {
 *     "db.system.name": "redis",
 *     "db.operation.name": metric.op,
 *     ...(metric.ok ? {} : { "error.type": metric.errorType }),
 *   });
 * });
 * ```
 *
 * @example Counting hits
 * ```ts
 * import { MemoryCacheStore, MonitoredCacheStore } from "@sluice/http";
 *
 * let hits = 0;
 * const cache = new MonitoredCacheStore(new MemoryCacheStore(), (metric) => {
 *   if (metric.hit) hits++;
 * });
 * await cache.set("a", "x", 60);
 * await cache.get("a");
 * await cache.get("b");
 * console.log(hits); // 1
 * ```
 */
export class MonitoredCacheStore<T = unknown> implements CacheStore<T> {
  readonly #inner: CacheStore<T> & _CacheStoreExtras;
  readonly #listener: CacheStoreMetricListener;
  readonly #clock: Clock;
  /** The wrapped store's counts, when it has `getStats()`; absent otherwise. */
  readonly getStats?: () => Promise<CacheStoreStats>;
  /**
   * Removes the wrapped store's expired entries, when it has `cleanup()`;
   * absent otherwise.
   */
  readonly cleanup?: () => Promise<number>;
  /**
   * Removes the entries stored with one of `tags`, and reports it (`bytes`
   * is `0`; tags are never reported), when the wrapped store has tag
   * support; absent otherwise.
   */
  readonly invalidateTags?: (tags: readonly string[]) => Promise<number>;

  /**
   * Wraps a store.
   *
   * @param inner The store to watch.
   * @param listener Receives one metric per operation.
   * @param options The clock durations are measured on.
   * @throws {ConfigError} When `inner` is not a cache store, `listener` is
   * not a function, or `clock` has no `now()`.
   */
  constructor(
    inner: CacheStore<unknown>,
    listener: CacheStoreMetricListener,
    options: MonitoredCacheStoreOptions = {},
  ) {
    this.#inner = cacheStoreOption<T>(COMPONENT, "inner", inner);
    if (typeof listener !== "function") {
      throw new ConfigError(COMPONENT, "listener", listener, "a function");
    }
    this.#listener = listener;
    const { clock = MONOTONIC } = optionsObject(COMPONENT, options);
    this.#clock = validClock(COMPONENT, clock);
    const { getStats, cleanup, invalidateTags } = this.#inner;
    if (typeof getStats === "function") {
      this.getStats = () =>
        this.#watch("getStats", () => getStats.call(this.#inner), _none);
    }
    if (typeof cleanup === "function") {
      this.cleanup = () =>
        this.#watch("cleanup", () => cleanup.call(this.#inner), _none);
    }
    if (typeof invalidateTags === "function") {
      this.invalidateTags = (tags) =>
        this.#watch(
          "invalidateTags",
          () => invalidateTags.call(this.#inner, tags),
          _none,
        );
    }
  }

  /**
   * Reads an entry, and reports it.
   *
   * @param hash The entry's key.
   * @returns The value, or `undefined` when missing.
   * @throws What the wrapped store throws.
   */
  get(hash: string): Promise<T | undefined> {
    return this.#watch("get", () => this.#inner.get(hash), _sizeOf, true);
  }

  /**
   * Writes an entry, and reports it.
   *
   * @param hash The entry's key.
   * @param value The value.
   * @param ttlSeconds `> 0` expires after that many seconds, `0` never;
   * negative or NaN removes the entry.
   * @param options Tags and the value's age, passed to the wrapped store.
   * @returns What the wrapped store answered.
   * @throws What the wrapped store throws.
   */
  set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean> {
    return this.#watch(
      "set",
      () => setOn(this.#inner, hash, value, ttlSeconds, options),
      () => _sizeOf(value),
    );
  }

  /**
   * Removes an entry, and reports it.
   *
   * @param hash The entry's key.
   * @throws What the wrapped store throws.
   */
  delete(hash: string): Promise<void> {
    return this.#watch("delete", () => this.#inner.delete(hash), _none);
  }

  /**
   * Removes every entry, or those whose key starts with `prefix`, and
   * reports it.
   *
   * @param prefix Clears only one client's or scope's keys.
   * @throws What the wrapped store throws.
   */
  clear(prefix?: string): Promise<void> {
    return this.#watch("clear", () => this.#inner.clear(prefix), _none);
  }

  /** Closes the wrapped store, and reports it. Safe to call twice. */
  close(): Promise<void> {
    return this.#watch("close", () => this.#inner.close(), _none);
  }

  /** Same as {@linkcode MonitoredCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #watch<R>(
    op: CacheStoreOperation,
    call: () => Promise<R>,
    bytesOf: (result: R) => number,
    read = false,
  ): Promise<R> {
    const started = this.#clock.now();
    let result: R;
    try {
      result = await call();
    } catch (error) {
      this.#emit({
        op,
        durationMs: this.#clock.now() - started,
        ok: false,
        bytes: 0,
        errorType: _errorType(error),
      });
      throw error;
    }
    const durationMs = this.#clock.now() - started;
    if (read) {
      const hit = result !== undefined;
      this.#emit({ op, durationMs, ok: true, bytes: bytesOf(result), hit });
    } else {
      this.#emit({ op, durationMs, ok: true, bytes: bytesOf(result) });
    }
    return result;
  }

  #emit(metric: CacheStoreMetric): void {
    try {
      const answer: unknown = this.#listener(metric);
      if (answer instanceof Promise) answer.catch(() => {});
    } catch {
      // A listener never breaks a store operation.
    }
  }
}

function _none(): number {
  return 0;
}

/**
 * The size of a value without encoding it: its byte arrays, its strings
 * (UTF-16 code units, as many bytes for ASCII) and 8 per number.
 */
function _sizeOf(value: unknown): number {
  let size = 0;
  const stack: unknown[] = [value];
  // Bounded, so that a cyclic or huge value costs a bounded walk.
  for (let visited = 0; stack.length > 0 && visited < 100_000; visited++) {
    const item = stack.pop();
    if (typeof item === "string") size += item.length;
    else if (typeof item === "number") size += 8;
    else if (typeof item === "boolean") size += 1;
    else if (item instanceof Uint8Array) size += item.byteLength;
    else if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (typeof item === "object" && item !== null) {
      for (const key in item) {
        size += key.length;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return size;
}

function _errorType(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === "string" && code !== "") return code;
    if (typeof name === "string" && name !== "") return name;
  }
  return "Error";
}

// The cache reader: finds the entry of a request and decides, in one place,
// how it answers: fresh, stale but servable while it is revalidated, stale
// and to be revalidated first, or not at all. The first read of a request
// and the second read of an owner elected by a dedupe store both go through
// it. The decision is synchronous once the store answered, and an entry this
// client already checked is served without being checked again.

import {
  type CachedResponse,
  isCachedResponse,
  upgradeEntry,
} from "../cache/entry.ts";
import { type CacheEvaluation, evaluate } from "../cache/evaluate.ts";
import { variantKey, varySelection } from "../cache/vary.ts";
import { storeCall } from "../_store_deadline.ts";
import { SluiceError } from "../errors.ts";
import type { CacheMissReason } from "../events.ts";
import type { CacheStore } from "../stores/types.ts";
import {
  type Call,
  entryOutcome,
  type Found,
  type Outcome,
  type Stale,
} from "./_call.ts";
import { isVaryIndex } from "./_cache_writer.ts";
import { type CallKeys, variantCacheKey } from "./_key.ts";
import { CHECKED, type Pipeline } from "./_pipeline.ts";
import {
  marksOf,
  NOT_SYNC,
  readNow,
  syncGet,
} from "../stores/memory/_sync_get.ts";
import { answersRange } from "./_range.ts";

/** What Vary compares in place of a credential header's value. */
const CREDENTIAL_PLACEHOLDER = "credential";
/** What a cache read answers in place of a value when the store failed. */
const STORE_FAILED: unique symbol = Symbol("sluice.storeFailed");

/** How the cache answers a request. */
export type CacheAnswer =
  /** A fresh entry (or one the cache mode serves as is): serve it. */
  | { kind: "fresh"; outcome: Outcome }
  /** A stale entry to serve now while it is revalidated in the background. */
  | { kind: "serve-stale"; found: Found; outcome: Outcome }
  /** A stale entry to revalidate before it is served. */
  | { kind: "stale"; stale: Stale }
  /** Nothing to serve. */
  | { kind: "miss"; reason: CacheMissReason };

const BYPASS: CacheAnswer = Object.freeze({ kind: "miss", reason: "bypass" });
const ABSENT: CacheAnswer = Object.freeze({ kind: "miss", reason: "absent" });

/** Reads the cache for GET and HEAD requests. */
export class CacheReader {
  readonly #pipeline: Pipeline;
  readonly #store: CacheStore<unknown>;
  /** Reads the store: at once for a memory store. */
  readonly #read: (key: string) => unknown;
  /** Whether a memory store holds a value marked as an entry a client built. */
  readonly #marked: (key: string, value: unknown) => boolean;

  constructor(pipeline: Pipeline, store: CacheStore<unknown>) {
    this.#pipeline = pipeline;
    this.#store = store;
    this.#read = syncGet(store);
    this.#marked = marksOf(store);
  }

  /**
   * The first read of a request: reports stale entries as it finds them. A
   * store failure or a corrupt entry is a miss; `signal` stops the read.
   */
  async read(
    call: Call,
    keys: CallKeys,
    signal: AbortSignal | undefined,
  ): Promise<CacheAnswer> {
    if (call.mode === "reload") return BYPASS;
    let found: Found | CacheMissReason | Promise<Found | CacheMissReason>;
    try {
      const value = await storeCall(
        "get",
        () => this.#read(keys.cache),
        this.#pipeline.config.storeTimeoutMs,
        signal,
        this.#pipeline.config.clock,
      );
      found = this.#entryOf(call, keys.cache, value, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      this.#pipeline.events.cacheError(call, error);
      found = "store-error";
    }
    if (found instanceof Promise) found = await found;
    if (typeof found === "string") {
      if (found === "store-error") call.state.cacheFailed = true;
      return { kind: "miss", reason: found };
    }
    return this.answer(call, found, this.#pipeline.config.clock.now(), true);
  }

  /**
   * The first read, at once, when the store answers synchronously (a
   * memory store) with an entry this client checked, or with none;
   * `undefined` otherwise: then {@linkcode CacheReader.read} reads.
   */
  readNow(call: Call, keys: CallKeys): CacheAnswer | undefined {
    if (call.mode === "reload") return BYPASS;
    let value: unknown;
    try {
      value = readNow(this.#store, keys.cache);
    } catch {
      // The full read reports the failure.
      return undefined;
    }
    if (value === NOT_SYNC) return undefined;
    if (value === undefined) return ABSENT;
    if (!this.#known(keys.cache, value)) return undefined;
    return this.answer(
      call,
      { entry: value as CachedResponse, storeKey: keys.cache },
      this.#pipeline.config.clock.now(),
      true,
    );
  }

  /**
   * Reads the cache once more, for an owner a dedupe store elected: another
   * process may have stored a response since the first read. A request
   * that bypasses the cache, or whose first read failed (a hung store
   * would double its delay), is not read again: `undefined`.
   */
  async reread(
    call: Call,
    keys: CallKeys,
    signal: AbortSignal | undefined,
  ): Promise<CacheAnswer | undefined> {
    if (
      call.mode === "no-store" || call.mode === "reload" ||
      call.state.cacheFailed === true
    ) {
      return undefined;
    }
    const value = await this.#get(call, keys.cache, signal);
    if (value === STORE_FAILED) return undefined;
    const found = await this.#entryOf(call, keys.cache, value, signal);
    if (typeof found === "string") return undefined;
    return this.answer(call, found, this.#pipeline.config.clock.now(), false);
  }

  /**
   * How `found` answers the request at `now`. On the `first` read a stale
   * entry may be served while it is revalidated; on a later one the
   * request is already on its way to the origin, and revalidates it.
   */
  answer(call: Call, found: Found, now: number, first: boolean): CacheAnswer {
    const { events } = this.#pipeline;
    const { entry } = found;
    const decision = this.#decide(call, entry, now);
    const range = call.state.range;
    if (
      range !== undefined && decision.kind !== "unusable" &&
      !answersRange(entry, range)
    ) {
      // Several ranges, say, or an If-Range the entry does not match: the
      // origin answers, and the entry is no revalidation's business.
      return { kind: "miss", reason: "range" };
    }
    switch (decision.kind) {
      case "fresh":
        events.hit(call, found.storeKey, now, entry);
        return {
          kind: "fresh",
          outcome: entryOutcome(
            entry,
            now,
            decision.servedStale ? "stale" : "cache",
          ),
        };
      case "stale-while-revalidate":
        if (!first) {
          return { kind: "stale", stale: { ...found, staleIfError: false } };
        }
        events.stale(call, found.storeKey, now, entry, "serve-and-revalidate");
        return {
          kind: "serve-stale",
          found,
          outcome: {
            kind: "entry",
            entry,
            ageSeconds: decision.ageSeconds,
            source: "stale",
            attempts: 0,
          },
        };
      case "stale":
        if (first) {
          events.stale(call, found.storeKey, now, entry, "revalidate");
        }
        return {
          kind: "stale",
          stale: { ...found, staleIfError: decision.staleIfError },
        };
      case "unusable":
        return { kind: "miss", reason: "vary" };
    }
  }

  /**
   * The request headers that Vary compares. Every request under one key
   * carries the same credentials (they are hashed into it), so a Vary on a
   * credential header always matches: a placeholder stands in for the
   * value, and no credential, nor anything derived from it, is stored or
   * shared.
   */
  varyView(call: Call, headers: Headers = call.headers): Headers {
    return varyView(this.#pipeline, call, headers);
  }

  // How a stored entry answers a request: as the request's cache mode
  // says, otherwise by freshness, Vary and the request's own directives.
  #decide(call: Call, entry: CachedResponse, now: number): CacheEvaluation {
    switch (call.mode) {
      case "force-cache":
      case "only-if-cached":
        return { kind: "fresh", ageSeconds: 0, servedStale: false };
      case "no-cache":
        return { kind: "stale", staleIfError: false, ageSeconds: 0 };
      default: {
        // The request's own headers unless the entry varies on something:
        // the hot path never copies.
        let headers = call.evalHeaders;
        for (const _ in entry.varyHeaders) {
          headers = this.varyView(call, headers);
          break;
        }
        return evaluate(headers, entry, now);
      }
    }
  }

  // Whether `value`, which `storeKey` held, is an entry this client checked,
  // or one a client built and marked in a memory store.
  #known(storeKey: string, value: unknown): boolean {
    return this.#marked(storeKey, value) ||
      this.#pipeline.checked.has(value as object);
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
    if (this.#known(storeKey, value)) {
      return { entry: value as CachedResponse, storeKey };
    }
    return this.#resolve(call, storeKey, value, signal);
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
    const { checked } = this.#pipeline;
    let storeKey = mainKey;
    let value = found;
    if (isVaryIndex(value)) {
      const selection = varySelection(value.names, this.varyView(call));
      storeKey = await variantCacheKey(
        this.#pipeline.hasher,
        call,
        variantKey(selection),
      );
      value = await this.#get(call, storeKey, signal);
      if (value === STORE_FAILED) return "store-error";
      if (value === undefined) return "vary";
      if (this.#known(storeKey, value)) {
        return { entry: value as CachedResponse, storeKey };
      }
    }
    upgradeEntry(value);
    if (
      !isCachedResponse(value) || value.url !== call.url ||
      value.method !== call.method
    ) {
      this.#pipeline.events.cacheError(
        call,
        new SluiceError(`The cache entry '${storeKey}' is corrupt`),
      );
      await deleteEntry(this.#pipeline, this.#store, call, storeKey);
      return "corrupt";
    }
    checked.set(value, CHECKED);
    return { entry: value, storeKey };
  }

  async #get(
    call: Call,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    try {
      return await storeCall(
        "get",
        () => this.#read(key),
        this.#pipeline.config.storeTimeoutMs,
        signal,
        this.#pipeline.config.clock,
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      this.#pipeline.events.cacheError(call, error);
      return STORE_FAILED;
    }
  }
}

/**
 * The request headers that Vary compares, with a placeholder for each
 * credential header's value (see {@linkcode CacheReader.varyView}). Kept on
 * the call for its own headers, so that it is built once.
 */
export function varyView(
  pipeline: Pipeline,
  call: Call,
  headers: Headers = call.headers,
): Headers {
  if (call.credentials === "") return headers;
  const own = headers === call.headers;
  if (own && call.state.varyHeaders !== undefined) {
    return call.state.varyHeaders;
  }
  const view = new Headers(headers);
  for (const name of pipeline.hasher.names) {
    if (view.has(name)) view.set(name, CREDENTIAL_PLACEHOLDER);
  }
  if (own) call.state.varyHeaders = view;
  return view;
}

/** Deletes a cache entry; a store failure is reported, never thrown. */
export async function deleteEntry(
  pipeline: Pipeline,
  store: CacheStore<unknown>,
  call: Call,
  key: string,
): Promise<void> {
  try {
    await storeCall(
      "delete",
      () => store.delete(key),
      pipeline.config.storeTimeoutMs,
      undefined,
      pipeline.config.clock,
    );
  } catch (error) {
    pipeline.events.cacheError(call, error);
  }
}

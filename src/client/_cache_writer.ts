// The cache writer: stores a response (with a Vary index when it varies),
// drops an entry that may no longer be served, and invalidates what an
// unsafe request changed. Every write fails open, and says what the store
// kept.

import {
  bodyBytes,
  type CachedResponse,
  inMemoryEntry,
} from "../cache/entry.ts";
import { isFieldName } from "../cache/_fields.ts";
import { invalidationTargets } from "../cache/invalidation.ts";
import { storageTtlSeconds } from "../cache/storage_ttl.ts";
import { variantKey } from "../cache/vary.ts";
import { storeCall } from "../_store_deadline.ts";
import type { CacheSkipReason } from "../events.ts";
import { keepsValues, markEntry } from "../stores/memory/_sync_get.ts";
import type { CacheSetOptions, CacheStore } from "../stores/types.ts";
import type { Call } from "./_call.ts";
import { deleteEntry } from "./_cache_reader.ts";
import { cacheKey, type CallKeys, variantCacheKey } from "./_key.ts";
import { CHECKED, type Pipeline } from "./_pipeline.ts";
import { supportsTags } from "./_tags.ts";

/** How long a Vary index outlives the variant that wrote it, at least. */
const VARY_INDEX_MIN_TTL_SECONDS = 86_400;

/** What the main key of a response that varies holds: the names it varies on. */
export interface VaryIndex {
  sluiceVary: 1;
  names: string[];
}

/** Whether a stored value is a well-formed {@linkcode VaryIndex}. */
export function isVaryIndex(value: unknown): value is VaryIndex {
  if (
    typeof value !== "object" || value === null ||
    (value as Partial<VaryIndex>).sluiceVary !== 1
  ) {
    return false;
  }
  const names = (value as Partial<VaryIndex>).names;
  return Array.isArray(names) && names.length > 0 &&
    names.every((name) => name === "*" || isFieldName(name));
}

/** Writes to, and deletes from, the cache. */
export class CacheWriter {
  readonly #pipeline: Pipeline;
  readonly #store: CacheStore<unknown>;
  /** Whether the store keeps tags, and so takes the age of what it keeps. */
  readonly #tagged: boolean;

  constructor(pipeline: Pipeline, store: CacheStore<unknown>) {
    this.#pipeline = pipeline;
    this.#store = store;
    this.#tagged = supportsTags(store);
  }

  /**
   * Stores an entry for as long as it may be served, with a Vary index
   * when it varies. A refused variant gets no index. On a store with tag
   * support the entry carries the request's tags (the index none), and
   * each write its age since the request was sent, so that the store
   * refuses a response fetched before an invalidation of its tags or key.
   *
   * @returns Whether the store kept it.
   */
  async write(
    call: Call,
    keys: CallKeys,
    built: CachedResponse,
    ttlSeconds: number,
  ): Promise<boolean> {
    const { config, events } = this.#pipeline;
    const store = this.#store;
    // A memory store holds the entry itself: in its smaller form.
    const entry = keepsValues(store) ? inMemoryEntry(built) : built;
    const names = Object.keys(entry.varyHeaders);
    let storeKey = keys.cache;
    const timeoutMs = config.storeTimeoutMs;
    let kept: void | boolean;
    let entryOptions: CacheSetOptions | undefined;
    let indexOptions: CacheSetOptions | undefined;
    if (this.#tagged) {
      const ageMs = Math.max(0, config.clock.now() - built.requestTime);
      indexOptions = { ageMs };
      entryOptions = call.tags === undefined
        ? indexOptions
        : { tags: call.tags, ageMs };
    }
    const set = (
      key: string,
      value: unknown,
      ttl: number,
      options: CacheSetOptions | undefined,
    ) =>
      storeCall(
        "set",
        () =>
          options === undefined
            ? store.set(key, value, ttl)
            : store.set(key, value, ttl, options),
        timeoutMs,
        undefined,
        config.clock,
      );
    try {
      if (names.length === 0) {
        kept = await set(storeKey, entry, ttlSeconds, entryOptions);
      } else {
        storeKey = await variantCacheKey(
          this.#pipeline.hasher,
          call,
          variantKey(entry.varyHeaders),
        );
        kept = await set(storeKey, entry, ttlSeconds, entryOptions);
        if (kept !== false) {
          const index: VaryIndex = { sluiceVary: 1, names };
          kept = await set(
            keys.cache,
            index,
            Math.max(ttlSeconds, VARY_INDEX_MIN_TTL_SECONDS),
            indexOptions,
          );
        }
      }
    } catch (error) {
      events.cacheError(call, error);
      return false;
    }
    if (kept === false) {
      events.skipped(call, keys.cache, "store-refused");
      return false;
    }
    // A memory store remembers that the entry is well-formed at no cost per
    // entry; any other store's values are checked once when read.
    if (!markEntry(store, storeKey, entry)) {
      this.#pipeline.checked.set(entry, CHECKED);
    }
    if (events.listening) {
      events.emit({
        type: "cache.stored",
        ...events.fields(call),
        key: storeKey,
        ttlSeconds,
        bytes: typeof built.body === "string"
          ? bodyBytes(built.body).byteLength
          : built.body.byteLength,
        ...(call.tags === undefined ? {} : { tagCount: call.tags.length }),
      });
    }
    return true;
  }

  /**
   * Stores an entry unless it is already too old to be served.
   *
   * @returns Whether the store kept it.
   */
  store(call: Call, keys: CallKeys, entry: CachedResponse): Promise<boolean> {
    const { config } = this.#pipeline;
    const policy = call.cachePolicy ?? config.cache!.policy;
    const ttl = storageTtlSeconds(entry, policy, config.clock.now());
    if (!(ttl > 0)) return Promise.resolve(false);
    return this.write(call, keys, entry, ttl);
  }

  /**
   * Reports why a response was not stored, and drops the entry it was to
   * replace (`stale`), which may no longer be served.
   */
  async drop(
    call: Call,
    keys: CallKeys,
    reason: CacheSkipReason | undefined,
    stale: { storeKey: string } | undefined,
  ): Promise<void> {
    if (reason !== undefined) {
      this.#pipeline.events.skipped(call, keys.cache, reason);
    }
    if (stale !== undefined) await this.delete(call, stale.storeKey);
  }

  /** Deletes an entry; a store failure is reported, never thrown. */
  delete(call: Call, key: string): Promise<void> {
    return deleteEntry(this.#pipeline, this.#store, call, key);
  }

  /**
   * Deletes what an unsafe request answered with `status` and `headers`
   * changed: the GET and HEAD entries of its URL and of the URLs its
   * `Location` and `Content-Location` name on its origin, for its
   * credentials and for none.
   */
  async invalidate(
    call: Call,
    status: number,
    headers: Headers,
  ): Promise<void> {
    const targets = invalidationTargets(call.method, call.url, status, headers);
    const credentialSets = call.credentials === ""
      ? [""]
      : [call.credentials, ""];
    for (const url of targets) {
      for (const method of ["GET", "HEAD"]) {
        for (const credentials of credentialSets) {
          const hash = await this.#pipeline.hasher.hash(
            method,
            url,
            credentials,
          );
          await this.delete(call, cacheKey(call.scope.prefix, hash));
        }
      }
    }
  }
}

// The methods are `async` without awaiting: an async function's promise is
// cheaper than `Promise.resolve`, and it turns a thrown error into a
// rejection.
// deno-lint-ignore-file require-await
import { type Clock, systemClock } from "../../clock.ts";
import {
  INVALIDATION_MARK_MS,
  MAX_TAGS_PER_INVALIDATION,
  setOptions,
  storeTags,
} from "../_tags.ts";
import { positiveInteger } from "../_validate.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import { closedError, validClock } from "./_options.ts";
import { sizeOf } from "./_size_of.ts";
import { registerSyncGet } from "./_sync_get.ts";
import { _TagIndex } from "./_tag_index.ts";

const COMPONENT = "MemoryCacheStore";

/**
 * Bytes charged to every entry on top of its key and value: its slot, the
 * map's record of it and the key's header.
 */
const ENTRY_OVERHEAD = 150;

/** Options for {@linkcode MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /**
   * The most entries kept. When exceeded, the least recently used entry is
   * evicted. A positive integer.
   *
   * @default {1000}
   */
  maxEntries?: number;
  /**
   * The most bytes kept, estimated from each key and value (strings, nested
   * data and `Uint8Array` bodies). When exceeded, least recently used
   * entries are evicted. A single value larger than this is not stored, nor
   * is one nested deeper than 1 000 levels (as a cyclic value is). A
   * positive integer.
   *
   * @default {52_428_800} (50 MiB)
   */
  maxBytes?: number;
  /**
   * The time source for expiry.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** The end of the recency list, and the end of the free list. */
const NONE = -1;
/** The slots of a new or emptied store. */
const INITIAL_SLOTS = 16;

/**
 * A {@linkcode CacheStore} held in process memory: a least-recently-used
 * cache bounded by entry count and by bytes, with per-entry time to live.
 *
 * Every operation but `clear(prefix)` is O(1): a `Map` finds the entry and a
 * doubly-linked list of slots keeps the recency order, so reads, writes and
 * evictions never sort or scan. Expired entries are dropped lazily when read
 * or when they reach the end of the list; no timer runs, so the store never
 * keeps a process alive.
 *
 * Values are kept as given, not copied: the client copies what it stores.
 *
 * Tags are supported and exact: `invalidateTags` removes, in one
 * synchronous step, every entry stored with one of its tags, and a write of
 * a value obtained before it is refused afterwards (see
 * {@linkcode CacheSetOptions.ageMs}). The index holds no entry that was
 * removed, evicted or found expired; it costs a few dozen bytes per (tag,
 * key) pair, not counted in `maxBytes`.
 *
 * @typeParam T The type of the stored values.
 *
 * @example A small cache
 * ```ts
 * import { MemoryCacheStore } from "@sluice/http";
 *
 * const cache = new MemoryCacheStore<string>({ maxEntries: 100 });
 * await cache.set("greeting", "hello", 60);
 * console.log(await cache.get("greeting")); // "hello"
 * await cache.close();
 * ```
 */
export class MemoryCacheStore<T = unknown> implements CacheStore<T> {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #clock: Clock;
  /** The slot of every entry, by key. */
  readonly #slots = new Map<string, number>();
  // An entry lives in a slot: its key, value, expiry and size sit at the
  // slot's index in these arrays, and `#prev` / `#next` link the slots in
  // recency order. No object is made per entry; freed slots are reused
  // through a free list threaded through `#next`.
  #keys: string[] = [];
  #values: (T | undefined)[] = [];
  #expiresAt = new Float64Array(INITIAL_SLOTS);
  #sizes = new Float64Array(INITIAL_SLOTS);
  /** 1 for a value marked through `markEntry`, until it is overwritten. */
  #marks = new Uint8Array(INITIAL_SLOTS);
  #prev = new Int32Array(INITIAL_SLOTS);
  #next = new Int32Array(INITIAL_SLOTS);
  /** The most recently used slot. */
  #head = NONE;
  /** The least recently used slot, evicted first. */
  #tail = NONE;
  /** The first free slot below `#keys.length`. */
  #free = NONE;
  #bytes = 0;
  #closed = false;
  readonly #index = new _TagIndex();

  /**
   * Creates an empty cache.
   *
   * @param options Bounds and clock.
   * @throws {ConfigError} When `maxEntries` or `maxBytes` is not a positive
   * integer, or `clock` has no `now()`.
   */
  constructor(options: MemoryCacheStoreOptions = {}) {
    const {
      maxEntries = 1000,
      maxBytes = 50 * 1024 * 1024,
      clock = systemClock,
    } = options;
    this.#maxEntries = positiveInteger(COMPONENT, "maxEntries", maxEntries);
    this.#maxBytes = positiveInteger(COMPONENT, "maxBytes", maxBytes);
    this.#clock = validClock(COMPONENT, clock);
    registerSyncGet(this, {
      read: (hash) => this.#read(hash),
      get: MemoryCacheStore.prototype.get,
      mark: (hash, value) => this.#mark(hash, value, 1),
      marked: (hash, value) => this.#mark(hash, value, undefined),
    });
  }

  /** How many entries are held, including expired ones not yet dropped. */
  get size(): number {
    return this.#slots.size;
  }

  /** The estimated bytes held by all entries. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Reads an entry and marks it as most recently used.
   *
   * @param hash The entry's key.
   * @returns The stored value, or `undefined` when missing or expired.
   */
  async get(hash: string): Promise<T | undefined> {
    return this.#read(hash);
  }

  #read(hash: string): T | undefined {
    if (this.#closed) throw closedError(COMPONENT, "get");
    const slot = this.#slots.get(hash);
    if (slot === undefined) return undefined;
    const expiresAt = this.#expiresAt[slot]!;
    if (expiresAt !== Infinity && expiresAt <= this.#clock.now()) {
      this.#remove(slot);
      return undefined;
    }
    if (slot !== this.#head) {
      this.#unlink(slot);
      this.#pushFront(slot);
    }
    return this.#values[slot];
  }

  /**
   * Writes an entry, evicting least recently used entries to stay within
   * bounds. A value larger than `maxBytes`, or a `ttlSeconds` below zero,
   * leaves no entry.
   *
   * @param hash The entry's key.
   * @param value The value, kept as given.
   * @param ttlSeconds `> 0` expires after that many (possibly fractional)
   * seconds, `0` never expires, `< 0` is already expired.
   * @param options Tags to add to the key's, and the value's age.
   * @returns `false` when the value was not kept (too large, or a negative
   * or NaN TTL; any older value is then removed) or was refused because
   * of an invalidation since the value was obtained (the key is then left
   * as it was), `true` when it was kept.
   * @throws {TypeError} When `options` are invalid.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<boolean> {
    if (this.#closed) throw closedError(COMPONENT, "set");
    const index = this.#index;
    let tags: readonly string[] | undefined;
    if (options !== undefined) {
      const parsed = setOptions(COMPONENT, options);
      if (index.marked) {
        const now = this.#clock.now();
        if (
          index.refused(
            hash,
            parsed.tags,
            now - parsed.ageMs,
            now,
            INVALIDATION_MARK_MS,
          )
        ) {
          return false;
        }
      }
      if (parsed.tags.length > 0) tags = parsed.tags;
    }
    const existing = this.#slots.get(hash);
    const size = ENTRY_OVERHEAD + hash.length + sizeOf(value);
    // NaN and negative TTLs store nothing, like an entry that already
    // expired; an oversized value is not stored either.
    if (!(ttlSeconds >= 0) || size > this.#maxBytes) {
      if (existing !== undefined) this.#remove(existing);
      return false;
    }
    const expiresAt = ttlSeconds === 0
      ? Infinity
      : this.#clock.now() + ttlSeconds * 1000;
    if (existing !== undefined) {
      // The tags of an entry that expired are not the new entry's.
      const oldExpiry = this.#expiresAt[existing]!;
      if (
        oldExpiry !== Infinity && index.has(hash) &&
        oldExpiry <= this.#clock.now()
      ) {
        index.forget(hash);
      }
      // Overwrite in place: no map churn, just a move to the front.
      this.#bytes += size - this.#sizes[existing]!;
      this.#values[existing] = value;
      this.#expiresAt[existing] = expiresAt;
      this.#sizes[existing] = size;
      this.#marks[existing] = 0;
      if (existing !== this.#head) {
        this.#unlink(existing);
        this.#pushFront(existing);
      }
    } else {
      const slot = this.#allocate(hash, value);
      this.#expiresAt[slot] = expiresAt;
      this.#sizes[slot] = size;
      this.#marks[slot] = 0;
      this.#slots.set(hash, slot);
      this.#pushFront(slot);
      this.#bytes += size;
    }
    if (tags !== undefined) index.add(hash, tags);
    while (
      this.#slots.size > this.#maxEntries || this.#bytes > this.#maxBytes
    ) {
      this.#remove(this.#tail);
    }
    return true;
  }

  /**
   * Removes an entry.
   *
   * @param hash The entry's key.
   */
  async delete(hash: string): Promise<void> {
    if (this.#closed) throw closedError(COMPONENT, "delete");
    const slot = this.#slots.get(hash);
    if (slot !== undefined) this.#remove(slot);
  }

  /**
   * Removes every entry, or only those whose key starts with `prefix`. With
   * a prefix this visits every entry once.
   *
   * @param prefix Restricts the removal to one client or scope.
   */
  async clear(prefix?: string): Promise<void> {
    if (this.#closed) throw closedError(COMPONENT, "clear");
    if (prefix === undefined || prefix === "") {
      this.#reset();
      return;
    }
    for (const [key, slot] of this.#slots) {
      if (key.startsWith(prefix)) this.#remove(slot);
    }
    this.#index.forgetPrefix(prefix);
  }

  /**
   * Removes every entry stored with one of `tags`, at once, and refuses
   * for five minutes a write of one of those tags or of a removed key
   * whose value was obtained before this call.
   *
   * @param tags Non-empty strings of at most 2 048 UTF-16 code units, at
   * most 1 000 of them.
   * @returns How many entries were removed (expired ones not counted).
   * @throws {TypeError} When `tags` is not such a list.
   */
  async invalidateTags(tags: readonly string[]): Promise<number> {
    if (this.#closed) throw closedError(COMPONENT, "invalidateTags");
    const list = storeTags(
      COMPONENT,
      "invalidate tags",
      tags,
      MAX_TAGS_PER_INVALIDATION,
    );
    const index = this.#index;
    const now = this.#clock.now();
    index.prune(now, INVALIDATION_MARK_MS);
    let removed = 0;
    for (const tag of list) {
      index.markTag(tag, now);
      const keys = index.keysOf(tag);
      if (keys === undefined) continue;
      for (const key of [...keys]) {
        const slot = this.#slots.get(key);
        index.markKey(key, now);
        if (slot === undefined) {
          index.forget(key);
          continue;
        }
        const expiresAt = this.#expiresAt[slot]!;
        if (expiresAt === Infinity || expiresAt > now) removed++;
        this.#remove(slot);
      }
    }
    return removed;
  }

  /**
   * Counts the entries and their estimated bytes. Visits every entry once
   * to count the expired ones.
   *
   * @returns The counts.
   */
  async getStats(): Promise<CacheStoreStats> {
    if (this.#closed) throw closedError(COMPONENT, "getStats");
    const now = this.#clock.now();
    let expiredItems = 0;
    for (const slot of this.#slots.values()) {
      if (this.#expiresAt[slot]! <= now) expiredItems++;
    }
    return {
      totalItems: this.#slots.size,
      expiredItems,
      totalBytes: this.#bytes,
      tagIndexEntries: this.#index.pairs,
    };
  }

  /**
   * Drops every expired entry now, instead of when it is next read or
   * evicted.
   *
   * @returns How many entries were dropped.
   */
  async cleanup(): Promise<number> {
    if (this.#closed) throw closedError(COMPONENT, "cleanup");
    const now = this.#clock.now();
    this.#index.prune(now, INVALIDATION_MARK_MS);
    let removed = 0;
    for (const slot of [...this.#slots.values()]) {
      if (this.#expiresAt[slot]! <= now) {
        this.#remove(slot);
        removed++;
      }
    }
    return removed;
  }

  /** Drops every entry. Later calls other than `close` reject with a `StoreError`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#reset();
  }

  /** Same as {@linkcode MemoryCacheStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #reset(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#values = [];
    this.#expiresAt = new Float64Array(INITIAL_SLOTS);
    this.#sizes = new Float64Array(INITIAL_SLOTS);
    this.#marks = new Uint8Array(INITIAL_SLOTS);
    this.#prev = new Int32Array(INITIAL_SLOTS);
    this.#next = new Int32Array(INITIAL_SLOTS);
    this.#head = NONE;
    this.#tail = NONE;
    this.#free = NONE;
    this.#bytes = 0;
    this.#index.clear();
  }

  /** A slot holding `key` and `value`: a free one, or a new one. */
  #allocate(key: string, value: T): number {
    const slot = this.#free;
    if (slot !== NONE) {
      this.#free = this.#next[slot]!;
      this.#keys[slot] = key;
      this.#values[slot] = value;
      return slot;
    }
    const added = this.#keys.length;
    if (added === this.#next.length) this.#grow(added * 2);
    this.#keys.push(key);
    this.#values.push(value);
    return added;
  }

  #grow(slots: number): void {
    const expiresAt = new Float64Array(slots);
    const sizes = new Float64Array(slots);
    const marks = new Uint8Array(slots);
    const prev = new Int32Array(slots);
    const next = new Int32Array(slots);
    expiresAt.set(this.#expiresAt);
    sizes.set(this.#sizes);
    marks.set(this.#marks);
    prev.set(this.#prev);
    next.set(this.#next);
    this.#expiresAt = expiresAt;
    this.#sizes = sizes;
    this.#marks = marks;
    this.#prev = prev;
    this.#next = next;
  }

  // Whether `hash` holds `value` and, with `to`, marks it so first. Neither
  // reads as a use of the entry.
  #mark(hash: string, value: unknown, to: 1 | undefined): boolean {
    // The entry just read or written is the most recent: found without a
    // lookup.
    const head = this.#head;
    const slot = head !== NONE && this.#keys[head] === hash
      ? head
      : this.#slots.get(hash);
    if (slot === undefined || this.#values[slot] !== value) return false;
    if (to !== undefined) this.#marks[slot] = to;
    return this.#marks[slot] === 1;
  }

  #remove(slot: number): void {
    const key = this.#keys[slot]!;
    if (this.#index.pairs > 0) this.#index.forget(key);
    this.#slots.delete(key);
    this.#unlink(slot);
    this.#bytes -= this.#sizes[slot]!;
    // The slot keeps no reference, so what it held can be collected.
    this.#keys[slot] = "";
    this.#values[slot] = undefined;
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  #pushFront(slot: number): void {
    const head = this.#head;
    this.#prev[slot] = NONE;
    this.#next[slot] = head;
    if (head !== NONE) this.#prev[head] = slot;
    else this.#tail = slot;
    this.#head = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
  }
}

// The methods are `async` without awaiting: an async function's promise is
// cheaper than `Promise.resolve`, and it turns a thrown error into a
// rejection.
// deno-lint-ignore-file require-await
import { type Clock, systemClock } from "../../clock.ts";
import { positiveInteger } from "../_validate.ts";
import type { CacheSetOptions, CacheStore, CacheStoreStats } from "../types.ts";
import { closedError, validClock } from "./_options.ts";
import { sizeOf } from "./_size_of.ts";
import { registerSyncGet } from "./_sync_get.ts";

const COMPONENT = "MemoryCacheStore";

/**
 * Bytes charged to every entry on top of its key and value: its slot, the
 * map's record of it and the key's header.
 */
const ENTRY_OVERHEAD = 150;
/** Bytes charged per tag of an entry, on top of the tag's own length. */
const TAG_OVERHEAD = 50;

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
 * Tags ({@linkcode MemoryCacheStore.invalidateTags}) are indexed per entry
 * and forgotten with it (on invalidation, deletion, eviction or expiry), so
 * the index never outgrows the entries; their size counts towards
 * `maxBytes`. Invalidation is exact and atomic within the process.
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
  /** The tags of each slot's entry, when it has any. */
  #tags: (string[] | undefined)[] = [];
  /** The keys filed under each tag. */
  readonly #tagged = new Map<string, Set<string>>();
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
   * @returns `false` when the value was not kept (too large, or a negative
   * or NaN TTL), `true` when it was.
   */
  async set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<boolean> {
    if (this.#closed) throw closedError(COMPONENT, "set");
    let existing = this.#slots.get(hash);
    if (
      existing !== undefined && this.#tags[existing] !== undefined &&
      this.#expiresAt[existing]! <= this.#clock.now()
    ) {
      // An expired entry's tags are not the new one's.
      this.#remove(existing);
      existing = undefined;
    }
    // A key keeps the tags it had and adds the new ones.
    const held = existing === undefined ? undefined : this.#tags[existing];
    const tags = mergeTags(held, options?.tags);
    let size = ENTRY_OVERHEAD + hash.length + sizeOf(value);
    if (tags !== undefined) {
      for (const tag of tags) size += TAG_OVERHEAD + tag.length;
    }
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
      // Overwrite in place: no map churn, just a move to the front.
      this.#bytes += size - this.#sizes[existing]!;
      this.#values[existing] = value;
      this.#expiresAt[existing] = expiresAt;
      this.#sizes[existing] = size;
      this.#marks[existing] = 0;
      if (tags !== held) this.#file(existing, hash, tags!);
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
      if (tags !== undefined) this.#file(slot, hash, tags);
    }
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

  /** `true`: {@linkcode MemoryCacheStore.set} keeps tags. */
  get supportsTags(): boolean {
    return true;
  }

  /**
   * Removes every entry set with any of `tags`.
   *
   * @param tags The tags.
   * @returns How many unexpired entries were removed.
   */
  async invalidateTags(tags: readonly string[]): Promise<number> {
    if (this.#closed) throw closedError(COMPONENT, "invalidateTags");
    const now = this.#clock.now();
    let removed = 0;
    for (const tag of tags) {
      const keys = this.#tagged.get(tag);
      if (keys === undefined) continue;
      for (const key of [...keys]) {
        const slot = this.#slots.get(key);
        if (slot === undefined) continue;
        if (this.#expiresAt[slot]! > now) removed++;
        this.#remove(slot);
      }
    }
    return removed;
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
    for (const tag of [...this.#tagged.keys()]) {
      if (tag.startsWith(prefix)) this.#tagged.delete(tag);
    }
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
    this.#tags = [];
    this.#tagged.clear();
    this.#expiresAt = new Float64Array(INITIAL_SLOTS);
    this.#sizes = new Float64Array(INITIAL_SLOTS);
    this.#marks = new Uint8Array(INITIAL_SLOTS);
    this.#prev = new Int32Array(INITIAL_SLOTS);
    this.#next = new Int32Array(INITIAL_SLOTS);
    this.#head = NONE;
    this.#tail = NONE;
    this.#free = NONE;
    this.#bytes = 0;
  }

  /** A slot holding `key` and `value`: a free one, or a new one. */
  #allocate(key: string, value: T): number {
    const slot = this.#free;
    if (slot !== NONE) {
      this.#free = this.#next[slot]!;
      this.#keys[slot] = key;
      this.#values[slot] = value;
      this.#tags[slot] = undefined;
      return slot;
    }
    const added = this.#keys.length;
    if (added === this.#next.length) this.#grow(added * 2);
    this.#keys.push(key);
    this.#values.push(value);
    this.#tags.push(undefined);
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

  /** Files `key`, held in `slot`, under each of `tags`. */
  #file(slot: number, key: string, tags: string[]): void {
    this.#tags[slot] = tags;
    for (const tag of tags) {
      let keys = this.#tagged.get(tag);
      if (keys === undefined) this.#tagged.set(tag, keys = new Set());
      keys.add(key);
    }
  }

  #remove(slot: number): void {
    const key = this.#keys[slot]!;
    const tags = this.#tags[slot];
    if (tags !== undefined) {
      for (const tag of tags) {
        const keys = this.#tagged.get(tag);
        if (keys === undefined) continue;
        keys.delete(key);
        if (keys.size === 0) this.#tagged.delete(tag);
      }
      this.#tags[slot] = undefined;
    }
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

/**
 * The tags a key holds after a write: those it had and the new ones, or
 * `held` itself when nothing is added.
 */
function mergeTags(
  held: string[] | undefined,
  added: readonly string[] | undefined,
): string[] | undefined {
  if (added === undefined || added.length === 0) return held;
  if (held === undefined) return [...new Set(added)];
  const merged = new Set(held);
  for (const tag of added) merged.add(tag);
  return merged.size === held.length ? held : [...merged];
}

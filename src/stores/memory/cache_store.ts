// The methods are `async` without awaiting: an async function's promise is
// cheaper than `Promise.resolve`, and it turns a thrown error into a
// rejection.
// deno-lint-ignore-file require-await
import { type Clock, systemClock } from "../../clock.ts";
import { positiveInteger } from "../_validate.ts";
import type { CacheStore, CacheStoreStats } from "../types.ts";
import { closedError, validClock } from "./_options.ts";
import { sizeOf } from "./_size_of.ts";
import { registerSyncGet } from "./_sync_get.ts";

const COMPONENT = "MemoryCacheStore";

/**
 * Bytes charged to every entry on top of its key and value: the list node,
 * the map slot and the key's header.
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

class _Node<T> {
  prev: _Node<T> | null = null;
  next: _Node<T> | null = null;
  constructor(
    readonly key: string,
    public value: T,
    public expiresAt: number,
    public size: number,
  ) {}
}

/**
 * A {@linkcode CacheStore} held in process memory: a least-recently-used
 * cache bounded by entry count and by bytes, with per-entry time to live.
 *
 * Every operation but `clear(prefix)` is O(1): a `Map` finds the entry and an
 * intrusive doubly-linked list keeps the recency order, so reads, writes and
 * evictions never sort or scan. Expired entries are dropped lazily when read
 * or when they reach the end of the list; no timer runs, so the store never
 * keeps a process alive.
 *
 * Values are kept as given, not copied: the client copies what it stores.
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
  readonly #entries = new Map<string, _Node<T>>();
  /** The most recently used entry. */
  #head: _Node<T> | null = null;
  /** The least recently used entry, evicted first. */
  #tail: _Node<T> | null = null;
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
    registerSyncGet(
      this,
      (hash) => this.#read(hash),
      MemoryCacheStore.prototype.get,
    );
  }

  /** How many entries are held, including expired ones not yet dropped. */
  get size(): number {
    return this.#entries.size;
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
    const node = this.#entries.get(hash);
    if (node === undefined) return undefined;
    if (node.expiresAt !== Infinity && node.expiresAt <= this.#clock.now()) {
      this.#remove(node);
      return undefined;
    }
    if (node !== this.#head) {
      this.#unlink(node);
      this.#pushFront(node);
    }
    return node.value;
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
  async set(hash: string, value: T, ttlSeconds: number): Promise<boolean> {
    if (this.#closed) throw closedError(COMPONENT, "set");
    const existing = this.#entries.get(hash);
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
      // Overwrite in place: no map churn, just a move to the front.
      this.#bytes += size - existing.size;
      existing.value = value;
      existing.expiresAt = expiresAt;
      existing.size = size;
      if (existing !== this.#head) {
        this.#unlink(existing);
        this.#pushFront(existing);
      }
    } else {
      const node = new _Node(hash, value, expiresAt, size);
      this.#entries.set(hash, node);
      this.#pushFront(node);
      this.#bytes += size;
    }
    while (
      this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes
    ) {
      this.#remove(this.#tail!);
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
    const node = this.#entries.get(hash);
    if (node !== undefined) this.#remove(node);
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
    for (const [key, node] of this.#entries) {
      if (key.startsWith(prefix)) this.#remove(node);
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
    for (const node of this.#entries.values()) {
      if (node.expiresAt <= now) expiredItems++;
    }
    return {
      totalItems: this.#entries.size,
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
    for (const node of [...this.#entries.values()]) {
      if (node.expiresAt <= now) {
        this.#remove(node);
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
    this.#entries.clear();
    this.#head = null;
    this.#tail = null;
    this.#bytes = 0;
  }

  #remove(node: _Node<T>): void {
    this.#entries.delete(node.key);
    this.#unlink(node);
    this.#bytes -= node.size;
  }

  #pushFront(node: _Node<T>): void {
    node.prev = null;
    node.next = this.#head;
    if (this.#head !== null) this.#head.prev = node;
    this.#head = node;
    if (this.#tail === null) this.#tail = node;
  }

  #unlink(node: _Node<T>): void {
    if (node.prev !== null) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = null;
    node.next = null;
  }
}

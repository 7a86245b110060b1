/**
 * The primitive a cache backend implements: blobs with expiry. Everything
 * else a cache store does (TTL rules, size limits, encoding, corrupt
 * entries, events) is written once in {@linkcode BlobCacheStore}, so a new
 * backend is its storage statements and nothing more.
 *
 * @module
 */

import type { Payload, PayloadEncoding } from "./_payload.ts";
import type { CacheStoreStats } from "./types.ts";

/**
 * Blobs with expiry, as one backend keeps them. Keys arrive as given by the
 * cache store's caller; a backend shared by several kinds of store keeps
 * this kind in its own namespace. Each method is one round trip and fails
 * with a `StoreError` naming the backend and the store operation.
 *
 * @typeParam S The statistics the backend reports.
 */
export interface BlobBackend<S extends CacheStoreStats = CacheStoreStats> {
  /** The backend's name in a `StoreError`: `"libsql"`, `"upstash"`. */
  readonly name: string;
  /** The form values are kept in: bytes or text. */
  readonly encoding: PayloadEncoding;
  /**
   * Reads what `key` holds, unless it expired.
   *
   * @param key The entry's key.
   * @returns The stored payload as the backend holds it (which may be
   * anything, when something else wrote the key), or `undefined`.
   */
  read(key: string): Promise<unknown>;
  /**
   * Writes a payload, replacing what `key` held.
   *
   * @param key The entry's key.
   * @param payload The encoded value.
   * @param ttlMs Whole milliseconds until it expires (at least 1), or
   * `null` for never.
   */
  write(key: string, payload: Payload, ttlMs: number | null): Promise<void>;
  /**
   * Removes an entry; a missing one is not an error.
   *
   * @param key The entry's key.
   */
  remove(key: string): Promise<void>;
  /**
   * Removes an entry only while it still holds `stored`, as
   * {@linkcode BlobBackend.read} returned it, so that a value another
   * process wrote since is kept. Used for undecodable entries.
   *
   * @param key The entry's key.
   * @param stored What `read` returned.
   */
  removeIfUnchanged(key: string, stored: unknown): Promise<void>;
  /**
   * Removes every entry whose key starts with `prefix`; every entry of this
   * store when `prefix` is empty.
   *
   * @param prefix The prefix, taken literally.
   */
  removePrefix(prefix: string): Promise<void>;
  /**
   * Writes a payload as {@linkcode BlobBackend.write} does and, in the same
   * atomic step, files `key` under each of `tags` (a key's earlier tags
   * stay). The index entries live as long as the entry (they expire or are
   * swept with it), so the index never outgrows the entries. Optional: a
   * backend without it (and {@linkcode BlobBackend.removeTagged}) gives a
   * store without tag support.
   *
   * @param key The entry's key.
   * @param payload The encoded value.
   * @param ttlMs As for `write`.
   * @param tags Non-empty strings, without duplicates, taken literally. A
   * backend whose `removePrefix` is given a prefix also forgets the tags
   * that start with it.
   */
  writeTagged?(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[],
  ): Promise<void>;
  /**
   * Takes and clears the index of each of `tags` and removes every entry
   * filed there, atomically where the backend allows it.
   *
   * @param tags The tags, taken literally.
   * @returns How many entries were removed.
   */
  removeTagged?(tags: readonly string[]): Promise<number>;
  /** Counts entries and bytes. */
  stats(): Promise<S>;
  /**
   * Removes expired entries now.
   *
   * @returns How many were removed; `0` where the backend expires entries
   * itself.
   */
  cleanup(): Promise<number>;
  /** Releases what the backend holds; later calls fail. Safe to call twice. */
  close(): Promise<void>;
}

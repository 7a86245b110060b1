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
 * Blobs with expiry, as one backend keeps them, and optionally a tag index
 * over them. Keys arrive as given by the
 * cache store's caller; a backend shared by several kinds of store keeps
 * this kind in its own namespace. Each method is one round trip and fails
 * with a `StoreError` naming the backend and the store operation.
 *
 * **Tags.** A backend with a tag index implements both
 * {@linkcode BlobBackend.writeTagged} and {@linkcode BlobBackend.dropTagged};
 * its cache store then has `invalidateTags`, and every write goes through
 * `writeTagged` (with no tags for an untagged one). The index follows these
 * rules, which the conformance suite checks:
 *
 * - The tags of a key are those of the writes since its entry was last
 *   written while absent or expired: a write of a live entry keeps its
 *   tags and adds its own; `remove`, `removeIfUnchanged`, expiry and
 *   `dropTagged` leave the key with none.
 * - `dropTagged` leaves a mark, for `markMs`, on each tag it was given and
 *   each key it removed; `writeTagged` of a value obtained before a live
 *   mark on its key or one of its tags is refused. The check and the write
 *   are one atomic step where the backend allows it.
 * - `removePrefix(prefix)` also forgets the index and the marks of the tags
 *   and keys that start with `prefix`; `cleanup` also drops index entries
 *   of entries that are gone and marks that ran out, and `stats` counts
 *   the (tag, key) pairs held as `tagIndexEntries`.
 * - Nothing grows without bound: an index entry goes at the latest when
 *   `cleanup` runs after its entry expired, or by the backend's own TTLs.
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
   * Optional, with {@linkcode BlobBackend.dropTagged}: writes a payload as
   * {@linkcode BlobBackend.write} does and attaches `tags` to the key,
   * unless the key or one of the tags carries a live mark of a
   * `dropTagged` made after the value was obtained (`ageMs` before now, by
   * the backend's clock); then it changes nothing.
   *
   * @param key The entry's key.
   * @param payload The encoded value.
   * @param ttlMs Whole milliseconds until it expires (at least 1), or
   * `null` for never.
   * @param tags Distinct tags to add to the key's; may be empty.
   * @param ageMs How long ago the value was obtained, in whole
   * milliseconds.
   * @returns `false` when the write was refused, `true` when it was made.
   */
  writeTagged?(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[],
    ageMs: number,
  ): Promise<boolean>;
  /**
   * Optional, with {@linkcode BlobBackend.writeTagged}: removes every live
   * entry whose key carries one of `tags`, and marks each tag and each
   * removed key for `markMs`, so that a racing write of an older value is
   * refused.
   *
   * @param tags Distinct tags; at least one.
   * @param markMs How long the marks last, in milliseconds.
   * @returns How many live entries it removed.
   */
  dropTagged?(tags: readonly string[], markMs: number): Promise<number>;
  /** Counts entries and bytes (and index entries, with a tag index). */
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

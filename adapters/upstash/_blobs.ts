import type { Payload } from "../../src/stores/_payload.ts";
import type { BlobBackend } from "../../src/stores/blob_backend.ts";
import type { CacheStoreStats } from "../../src/stores/types.ts";
import { positiveInteger } from "../../src/stores/_validate.ts";
import {
  type _Connection,
  _escapeGlob,
  _integers,
  _Script,
} from "./_connection.ts";
import {
  COUNT_MEMBERS,
  DROP_TAGGED,
  REMOVE_TAGGED,
  WRITE_TAGGED,
} from "./_tag_scripts.ts";

/** How many members one call of the invalidation script visits. */
const DROP_BATCH = 100;

/**
 * KEYS: entry, its tags. ARGV: the value read. Deletes the entry, and its
 * tags, while it still holds the value.
 */
const REMOVE_IF_UNCHANGED: _Script = new _Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1], KEYS[2])
end
return 0
`);

/** KEYS: entries. Returns `{ count, bytes }` of those that still exist. */
const MEASURE: _Script = new _Script(`
local count, bytes = 0, 0
for _, key in ipairs(KEYS) do
  local length = redis.call('STRLEN', key)
  if length > 0 then
    count = count + 1
    bytes = bytes + length
  end
end
return {count, bytes}
`);

/**
 * Cache entries as Redis strings under `<keyPrefix>cache:<key>`, expiring
 * with Redis's own millisecond TTL (`SET … PX`), so nothing needs cleaning.
 * Tags live under `<keyPrefix>cachetag:` (see `_tag_scripts.ts`); every
 * write is one script that checks the marks, writes the entry and moves
 * its tags, and an invalidation is one script per hundred members.
 */
export class _UpstashBlobs implements BlobBackend {
  readonly name = "upstash";
  readonly encoding = "text";
  readonly #connection: _Connection;
  readonly #scanCount: number;
  /** `<keyPrefix>cachetag:`, and its four parts. */
  readonly #tagBase: string;

  constructor(connection: _Connection, scanCount: unknown) {
    this.#connection = connection;
    this.#tagBase = `${connection.basePrefix}cachetag:`;
    this.#scanCount = positiveInteger(
      connection.component,
      "scanCount",
      scanCount,
    );
  }

  read(key: string): Promise<unknown> {
    const redisKey = this.#connection.key(key);
    return this.#connection.run("get", (r) => r.get(redisKey));
  }

  async write(
    key: string,
    payload: Payload,
    ttlMs: number | null,
  ): Promise<void> {
    await this.writeTagged(key, payload, ttlMs, [], 0);
  }

  async writeTagged(
    key: string,
    payload: Payload,
    ttlMs: number | null,
    tags: readonly string[],
    ageMs: number,
  ): Promise<boolean> {
    const base = this.#tagBase;
    const [written] = await this.#connection.script(
      "set",
      WRITE_TAGGED,
      [this.#connection.key(key), `${base}k:${key}`, `${base}d:${key}`],
      [
        payload as string,
        ttlMs === null ? "" : String(ttlMs),
        String(ageMs),
        key,
        `${base}t:`,
        `${base}m:`,
        ...tags,
      ],
      (reply) => _integers(reply, 1),
    );
    return written === 1;
  }

  async dropTagged(tags: readonly string[], markMs: number): Promise<number> {
    const base = this.#tagBase;
    const args = [
      String(markMs),
      String(DROP_BATCH),
      this.#connection.keyPrefix,
      `${base}k:`,
      `${base}d:`,
      `${base}t:`,
      `${base}m:`,
      ...tags,
    ];
    let removed = 0;
    for (;;) {
      const [count, more] = await this.#connection.script(
        "invalidateTags",
        DROP_TAGGED,
        [],
        args,
        (reply) => _integers(reply, 2),
      );
      removed += count!;
      if (more !== 1) return removed;
    }
  }

  async remove(key: string): Promise<void> {
    await this.#remove("delete", key);
  }

  async removeIfUnchanged(key: string, stored: unknown): Promise<void> {
    const redisKey = this.#connection.key(key);
    // A client that parses JSON replies hands back something other than the
    // text Redis holds; then the entry cannot be compared, only removed.
    if (typeof stored !== "string") {
      await this.#remove("get", key);
      return;
    }
    await this.#connection.script(
      "get",
      REMOVE_IF_UNCHANGED,
      [redisKey, `${this.#tagBase}k:${key}`],
      [stored],
    );
  }

  #remove(operation: string, key: string): Promise<unknown> {
    return this.#connection.script(
      operation,
      REMOVE_TAGGED,
      [this.#connection.key(key), `${this.#tagBase}k:${key}`],
      [key, `${this.#tagBase}t:`],
    );
  }

  async removePrefix(prefix: string): Promise<void> {
    const unlink = async (keys: string[]): Promise<void> => {
      await this.#connection.run("clear", (r) => r.unlink(...keys));
    };
    await this.#connection.scan(
      "clear",
      prefix,
      "string",
      this.#scanCount,
      unlink,
    );
    // The tag index and the marks of the tags and keys under the prefix.
    await this.#connection.scanMatch(
      "clear",
      `${_escapeGlob(this.#tagBase)}[tkmd]:${_escapeGlob(prefix)}*`,
      undefined,
      this.#scanCount,
      unlink,
    );
  }

  async stats(): Promise<CacheStoreStats> {
    let totalItems = 0;
    let totalBytes = 0;
    await this.#connection.scan(
      "getStats",
      "",
      "string",
      this.#scanCount,
      async (keys) => {
        const [count, bytes] = await this.#connection.script(
          "getStats",
          MEASURE,
          keys,
          [],
          (reply) => _integers(reply, 2),
        );
        totalItems += count!;
        totalBytes += bytes!;
      },
    );
    let tagIndexEntries = 0;
    await this.#connection.scanMatch(
      "getStats",
      `${_escapeGlob(this.#tagBase)}t:*`,
      "zset",
      this.#scanCount,
      async (keys) => {
        const [count] = await this.#connection.script(
          "getStats",
          COUNT_MEMBERS,
          keys,
          [],
          (reply) => _integers(reply, 1),
        );
        tagIndexEntries += count!;
      },
    );
    return { totalItems, expiredItems: 0, totalBytes, tagIndexEntries };
  }

  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#connection.close();
    return Promise.resolve();
  }
}

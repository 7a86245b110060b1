import type { Payload } from "../../src/stores/_payload.ts";
import type { BlobBackend } from "../../src/stores/blob_backend.ts";
import type { CacheStoreStats } from "../../src/stores/types.ts";
import { positiveInteger } from "../../src/stores/_validate.ts";
import { type _Connection, _integers, _Script } from "./_connection.ts";

/** KEYS: entry. ARGV: the value read. Deletes the entry while it still holds it. */
const REMOVE_IF_UNCHANGED: _Script = new _Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
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
 */
export class _UpstashBlobs implements BlobBackend {
  readonly name = "upstash";
  readonly encoding = "text";
  readonly #connection: _Connection;
  readonly #scanCount: number;

  constructor(connection: _Connection, scanCount: unknown) {
    this.#connection = connection;
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
    const redisKey = this.#connection.key(key);
    const text = payload as string;
    await this.#connection.run(
      "set",
      (r) =>
        ttlMs === null ? r.set(redisKey, text) : r.set(redisKey, text, {
          px: ttlMs,
        }),
    );
  }

  async remove(key: string): Promise<void> {
    const redisKey = this.#connection.key(key);
    await this.#connection.run("delete", (r) => r.del(redisKey));
  }

  async removeIfUnchanged(key: string, stored: unknown): Promise<void> {
    const redisKey = this.#connection.key(key);
    // A client that parses JSON replies hands back something other than the
    // text Redis holds; then the entry cannot be compared, only removed.
    if (typeof stored !== "string") {
      await this.#connection.run("get", (r) => r.del(redisKey));
      return;
    }
    await this.#connection.script("get", REMOVE_IF_UNCHANGED, [redisKey], [
      stored,
    ]);
  }

  async removePrefix(prefix: string): Promise<void> {
    await this.#connection.scan(
      "clear",
      prefix,
      "string",
      this.#scanCount,
      async (keys) => {
        await this.#connection.run("clear", (r) => r.unlink(...keys));
      },
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
    return { totalItems, expiredItems: 0, totalBytes };
  }

  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#connection.close();
    return Promise.resolve();
  }
}

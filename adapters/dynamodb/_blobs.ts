import type { Payload } from "../../src/stores/_payload.ts";
import type { BlobBackend } from "../../src/stores/blob_backend.ts";
import type { CacheStoreStats } from "../../src/stores/types.ts";
import { _ConditionFailed, type _Connection, BACKEND } from "./_connection.ts";
import { _Deleter, keyOf, pages } from "./_requests.ts";
import { INDEX_NAME } from "./_table.ts";
import { type _Item, B, bytes, N, names, num, S, ttlAt } from "./_values.ts";

/**
 * How many index partitions cache entries are spread over, so that no
 * single partition of the index takes every write. `clear` and `getStats`
 * query each one.
 */
export const SHARDS = 16;
const SORT = "c";

/**
 * Cache entries as items of the shared table: `pk` is `<keyPrefix>cache:<key>`,
 * the payload a binary attribute `v` (byte-exact), `exp` the expiry in
 * milliseconds of the store's clock, and `ttl` the same in seconds for
 * DynamoDB's own TTL, which may lag by up to 48 hours: every read compares
 * `exp` itself. Each entry is also written into the index `gsi1` (its
 * shard as `gpk`, `=` and its key as `gsk`), which `clear(prefix)` queries.
 */
export class _DynamoBlobs implements BlobBackend {
  readonly name: string = BACKEND;
  readonly encoding = "binary";
  readonly #db: _Connection;

  constructor(db: _Connection) {
    this.#db = db;
  }

  async read(key: string): Promise<unknown> {
    const reply = await this.#db.call("get", "GetItem", {
      Key: this.#key(key),
      ConsistentRead: true,
      ProjectionExpression: "#v, #exp",
      ExpressionAttributeNames: names("#v, #exp"),
    });
    const item = reply.Item as Record<string, unknown> | undefined;
    if (item === undefined) return undefined;
    const exp = num(item.exp);
    if (exp !== undefined && exp <= this.#db.now()) return undefined;
    return bytes(item.v) ?? item.v ?? null;
  }

  async write(
    key: string,
    payload: Payload,
    ttlMs: number | null,
  ): Promise<void> {
    const value = payload as Uint8Array;
    const item: _Item = {
      ...this.#key(key),
      v: B(value),
      sz: N(value.byteLength),
      gpk: S(this.#shard(key)),
      // Never empty, as an index key must not be, whatever the key.
      gsk: S(`=${key}`),
    };
    if (ttlMs !== null) {
      const exp = this.#db.now() + ttlMs;
      item.exp = N(exp);
      item.ttl = ttlAt(exp);
    }
    await this.#db.call("set", "PutItem", { Item: item });
  }

  async remove(key: string): Promise<void> {
    await this.#db.call("delete", "DeleteItem", { Key: this.#key(key) });
  }

  async removeIfUnchanged(key: string, stored: unknown): Promise<void> {
    if (!(stored instanceof Uint8Array)) {
      await this.#db.call("get", "DeleteItem", { Key: this.#key(key) });
      return;
    }
    try {
      await this.#db.call("get", "DeleteItem", {
        Key: this.#key(key),
        ConditionExpression: "#v = :v",
        ExpressionAttributeNames: names("#v"),
        ExpressionAttributeValues: { ":v": B(stored) },
      });
    } catch (error) {
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    const deleter = new _Deleter(this.#db, "clear");
    await this.#eachShard(
      "clear",
      prefix,
      "#pk, #sk",
      undefined,
      (page) => deleter.add(page.map(keyOf)),
    );
    await deleter.flush();
  }

  async stats(): Promise<CacheStoreStats> {
    const now = this.#db.now();
    let totalItems = 0;
    let expiredItems = 0;
    let totalBytes = 0;
    await this.#eachShard("getStats", "", "#exp, #sz", undefined, (page) => {
      for (const item of page) {
        totalItems++;
        totalBytes += num(item.sz) ?? 0;
        const exp = num(item.exp);
        if (exp !== undefined && exp <= now) expiredItems++;
      }
    });
    return { totalItems, expiredItems, totalBytes };
  }

  /**
   * Removes expired entries now, where DynamoDB's TTL is off or lags:
   * queries every shard of the index for them.
   */
  async cleanup(): Promise<number> {
    const deleter = new _Deleter(this.#db, "cleanup");
    await this.#eachShard(
      "cleanup",
      "",
      "#pk, #sk",
      this.#db.now(),
      (page) => deleter.add(page.map(keyOf)),
    );
    await deleter.flush();
    return deleter.deleted;
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  /** Queries every shard of the index for keys starting with `prefix`. */
  async #eachShard(
    operation: string,
    prefix: string,
    projection: string,
    expiredBy: number | undefined,
    each: (page: Record<string, unknown>[]) => void | Promise<void>,
  ): Promise<void> {
    const condition = prefix === ""
      ? "#gpk = :g"
      : "#gpk = :g AND begins_with(#gsk, :p)";
    const filter = expiredBy === undefined ? "" : "#exp <= :now";
    await Promise.all(
      Array.from(
        { length: SHARDS },
        (_, shard) =>
          pages(this.#db, operation, "Query", {
            IndexName: INDEX_NAME,
            KeyConditionExpression: condition,
            ...(filter === "" ? {} : { FilterExpression: filter }),
            ProjectionExpression: projection,
            ExpressionAttributeNames: names(condition, filter, projection),
            ExpressionAttributeValues: {
              ":g": S(`${this.#db.keyPrefix}cache#${shard}`),
              ...(prefix === "" ? {} : { ":p": S(`=${prefix}`) }),
              ...(expiredBy === undefined ? {} : { ":now": N(expiredBy) }),
            },
          }, each),
      ),
    );
  }

  #key(key: string): _Item {
    return { pk: S(this.#db.key("cache", key)), sk: S(SORT) };
  }

  #shard(key: string): string {
    return `${this.#db.keyPrefix}cache#${_hash(key) % SHARDS}`;
  }
}

/** FNV-1a over the key's UTF-16 code units: a stable spread, not a secret. */
function _hash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

import type { Payload } from "../../src/stores/_payload.ts";
import type { BlobBackend } from "../../src/stores/blob_backend.ts";
import type { CacheStoreStats } from "../../src/stores/types.ts";
import { _ConditionFailed, type _Connection, BACKEND } from "./_connection.ts";
import { _Deleter, conditionHeld, keyOf, queryShards } from "./_requests.ts";
import { _DynamoTagIndex } from "./_tag_index.ts";
import { type _Item, B, bytes, N, names, num, S, ttlAt } from "./_values.ts";

/**
 * How many index partitions cache entries are spread over, so that no
 * single partition of the index takes every write. `clear` and `getStats`
 * query each one.
 */
export const SHARDS = 16;
const SORT = "c";
/** How many entries one invalidation removes at once. */
const DROP_CONCURRENCY = 16;
/** Tries of a write whose entry other processes keep changing. */
const WRITE_TRIES = 3;
/** The condition under which an entry keeps its tags: live, not a mark. */
const LIVE =
  "attribute_not_exists(#inv) AND (attribute_not_exists(#exp) OR #exp > :now)";

/**
 * Cache entries as items of the shared table: `pk` is `<keyPrefix>cache:<key>`,
 * the payload a binary attribute `v` (byte-exact), `exp` the expiry in
 * milliseconds of the store's clock, and `ttl` the same in seconds for
 * DynamoDB's own TTL, which may lag by up to 48 hours: every read compares
 * `exp` itself. Each entry is also written into the index `gsi1` (its
 * shard as `gpk`, `=` and its key as `gsk`), which `clear(prefix)` queries.
 *
 * The tags of an entry are a string set `tg` on its item, and the index
 * items of `_tag_index.ts` point back to it. An invalidation turns each
 * live entry that carries the tag into a mark: the same item without `v`
 * and `tg`, with `inv` (when) and `exp` (until when), moved to the tag
 * items' part of the index (see `_tag_index.ts`). There are no transactions:
 * a write checks a mark on its key in its own condition, and after writing
 * reads the marks of its new tags, removing its entry when one appeared.
 */
export class _DynamoBlobs implements BlobBackend {
  readonly name: string = BACKEND;
  readonly encoding = "binary";
  readonly #db: _Connection;
  readonly #tags: _DynamoTagIndex;

  constructor(db: _Connection) {
    this.#db = db;
    this.#tags = new _DynamoTagIndex(db, _hash);
  }

  async read(key: string): Promise<unknown> {
    const reply = await this.#db.call("get", "GetItem", {
      Key: this.#key(key),
      ConsistentRead: true,
      ProjectionExpression: "#v, #exp, #inv",
      ExpressionAttributeNames: names("#v, #exp, #inv"),
    });
    const item = reply.Item as Record<string, unknown> | undefined;
    if (item === undefined || item.inv !== undefined) return undefined;
    const exp = num(item.exp);
    if (exp !== undefined && exp <= this.#db.now()) return undefined;
    return bytes(item.v) ?? item.v ?? null;
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
    const now = this.#db.now();
    const since = now - ageMs;
    const exp = ttlMs === null ? undefined : now + ttlMs;
    const wid = crypto.randomUUID();
    // Indexed before the entry is written: an invalidation that reads the
    // index too early to see it has marked the tag already, which the
    // check after the write sees.
    await this.#tags.add("set", key, tags, exp, now);
    const carried = await this.#writeEntry(
      key,
      payload as Uint8Array,
      exp,
      tags,
      wid,
      now,
      since,
    );
    if (carried === undefined) return false;
    // The tags the entry kept now last as long as it does.
    await this.#tags.add("set", key, carried, exp, now);
    if (await this.#tags.marked(tags, since, now)) {
      await conditionHeld(this.#db.call("set", "DeleteItem", {
        Key: this.#key(key),
        ConditionExpression: "#wid = :wid",
        ExpressionAttributeNames: names("#wid"),
        ExpressionAttributeValues: { ":wid": S(wid) },
      }));
      return false;
    }
    return true;
  }

  async dropTagged(tags: readonly string[], markMs: number): Promise<number> {
    const now = this.#db.now();
    const until = now + markMs;
    await this.#tags.mark(tags, now, until);
    let removed = 0;
    for (const tag of tags) {
      const keys = await this.#tags.keys(tag);
      for (let i = 0; i < keys.length; i += DROP_CONCURRENCY) {
        const done = await Promise.all(
          keys.slice(i, i + DROP_CONCURRENCY).map(async (key) => {
            const marked = await this.#markEntry(key, tag, now, until);
            // Only once its entry is marked: a key forgotten first would
            // escape the next invalidation if this one stopped here.
            await this.#tags.forget(tag, key, now);
            return marked;
          }),
        );
        removed += done.filter(Boolean).length;
      }
    }
    return removed;
  }

  async remove(key: string): Promise<void> {
    await this.#removeUnmarked("delete", key);
  }

  async removeIfUnchanged(key: string, stored: unknown): Promise<void> {
    if (!(stored instanceof Uint8Array)) {
      await this.#removeUnmarked("get", key);
      return;
    }
    await conditionHeld(this.#db.call("get", "DeleteItem", {
      Key: this.#key(key),
      ConditionExpression: "#v = :v",
      ExpressionAttributeNames: names("#v"),
      ExpressionAttributeValues: { ":v": B(stored) },
    }));
  }

  async removePrefix(prefix: string): Promise<void> {
    const deleter = new _Deleter(this.#db, "clear");
    const remove = (page: Record<string, unknown>[]) =>
      deleter.add(page.map(keyOf));
    await Promise.all([
      this.#eachShard("clear", prefix, "#pk, #sk", undefined, remove),
      this.#tags.remove("clear", prefix),
    ]);
    await deleter.flush();
  }

  async stats(): Promise<CacheStoreStats> {
    const now = this.#db.now();
    let totalItems = 0;
    let expiredItems = 0;
    let totalBytes = 0;
    const [, tagIndexEntries] = await Promise.all([
      this.#eachShard("getStats", "", "#exp, #sz", undefined, (page) => {
        for (const item of page) {
          totalItems++;
          totalBytes += num(item.sz) ?? 0;
          const exp = num(item.exp);
          if (exp !== undefined && exp <= now) expiredItems++;
        }
      }),
      this.#tags.count(),
    ]);
    return { totalItems, expiredItems, totalBytes, tagIndexEntries };
  }

  /**
   * Removes expired entries now, where DynamoDB's TTL is off or lags:
   * queries every shard of the index for them.
   */
  async cleanup(): Promise<number> {
    const now = this.#db.now();
    const deleter = new _Deleter(this.#db, "cleanup");
    await Promise.all([
      this.#eachShard(
        "cleanup",
        "",
        "#pk, #sk",
        now,
        (page) => deleter.add(page.map(keyOf)),
      ),
      this.#tags.remove("cleanup", "", now),
    ]);
    await deleter.flush();
    return deleter.deleted;
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  /**
   * Writes an entry unless its key is marked after `since`: over a missing
   * or live untagged entry in one request, otherwise after reading what
   * the key holds.
   *
   * @returns The tags the entry kept from before, or `undefined` when the
   * write was refused.
   */
  async #writeEntry(
    key: string,
    value: Uint8Array,
    exp: number | undefined,
    tags: readonly string[],
    wid: string,
    now: number,
    since: number,
  ): Promise<string[] | undefined> {
    if (
      await conditionHeld(this.#update(key, value, exp, tags, wid, now, "#tg"))
    ) {
      return [];
    }
    for (let attempt = 1;; attempt++) {
      const reply = await this.#db.call("set", "GetItem", {
        Key: this.#key(key),
        ConsistentRead: true,
        ProjectionExpression: "#inv, #exp, #tg",
        ExpressionAttributeNames: names("#inv, #exp, #tg"),
      });
      const old = reply.Item as Record<string, unknown> | undefined;
      const inv = num(old?.inv);
      const oldExp = num(old?.exp);
      try {
        if (inv !== undefined && inv > since && (oldExp ?? 0) > now) {
          return undefined;
        }
        const live = old !== undefined && inv === undefined &&
          (oldExp === undefined || oldExp > now);
        if (live) {
          await this.#update(key, value, exp, tags, wid, now);
          const own = (old.tg as { SS?: unknown } | undefined)?.SS;
          return Array.isArray(own)
            ? own.filter((tag): tag is string =>
              typeof tag === "string" && !tags.includes(tag)
            )
            : [];
        }
        // Nothing live to keep: a new entry, unless a mark came since.
        await this.#db.call("set", "PutItem", {
          Item: this.#item(key, value, exp, tags, wid),
          ConditionExpression:
            "attribute_not_exists(#inv) OR #inv <= :since OR #exp <= :now",
          ExpressionAttributeNames: names("#inv #exp"),
          ExpressionAttributeValues: { ":since": N(since), ":now": N(now) },
        });
        return [];
      } catch (error) {
        if (!(error instanceof _ConditionFailed) || attempt >= WRITE_TRIES) {
          throw error;
        }
      }
    }
  }

  /**
   * Updates the entry's value, expiry and write id, adding `tags` to the
   * ones it keeps, while it is live (and, with `without`, lacks that
   * attribute) or missing.
   */
  async #update(
    key: string,
    value: Uint8Array,
    exp: number | undefined,
    tags: readonly string[],
    wid: string,
    now: number,
    without?: string,
  ): Promise<void> {
    const set = "#v = :v, #sz = :sz, #gpk = :gpk, #gsk = :gsk, #wid = :wid" +
      (exp === undefined ? "" : ", #exp = :exp, #ttl = :ttl");
    const update = `SET ${set}` +
      (exp === undefined ? " REMOVE #exp, #ttl" : "") +
      (tags.length === 0 ? "" : " ADD #tg :tg");
    const condition = without === undefined
      ? LIVE
      : `attribute_not_exists(${without}) AND ${LIVE}`;
    await this.#db.call("set", "UpdateItem", {
      Key: this.#key(key),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: names(update, condition),
      ExpressionAttributeValues: {
        ":v": B(value),
        ":sz": N(value.byteLength),
        ":gpk": S(this.#shard(key)),
        ":gsk": S(`=${key}`),
        ":wid": S(wid),
        ":now": N(now),
        ...(exp === undefined ? {} : { ":exp": N(exp), ":ttl": ttlAt(exp) }),
        ...(tags.length === 0 ? {} : { ":tg": { SS: [...tags] } }),
      },
    });
  }

  /** The whole item of a new entry. */
  #item(
    key: string,
    value: Uint8Array,
    exp: number | undefined,
    tags: readonly string[],
    wid: string,
  ): _Item {
    const item: Record<string, unknown> = {
      ...this.#key(key),
      v: B(value),
      sz: N(value.byteLength),
      gpk: S(this.#shard(key)),
      // Never empty, as an index key must not be, whatever the key.
      gsk: S(`=${key}`),
      wid: S(wid),
    };
    if (exp !== undefined) {
      item.exp = N(exp);
      item.ttl = ttlAt(exp);
    }
    if (tags.length > 0) item.tg = { SS: [...tags] };
    return item as _Item;
  }

  /**
   * Turns the live entry of `key` into a mark, when it carries `tag`.
   *
   * @returns Whether it did.
   */
  #markEntry(
    key: string,
    tag: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    const update =
      "SET #inv = :now, #exp = :until, #ttl = :ttl, #gpk = :gpk, #gsk = :gsk REMOVE #v, #sz, #tg, #wid";
    const condition = `contains(#tg, :tag) AND ${LIVE}`;
    return conditionHeld(this.#db.call("invalidateTags", "UpdateItem", {
      Key: this.#key(key),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: names(update, condition),
      ExpressionAttributeValues: {
        ":now": N(now),
        ":until": N(until),
        ":ttl": ttlAt(until),
        ":gpk": S(this.#tags.shard(key)),
        ":gsk": S(`=${key}`),
        ":tag": S(tag),
      },
    }));
  }

  /** Deletes an entry, but not the mark an invalidation left on its key. */
  async #removeUnmarked(operation: string, key: string): Promise<void> {
    await conditionHeld(this.#db.call(operation, "DeleteItem", {
      Key: this.#key(key),
      ConditionExpression: "attribute_not_exists(#inv)",
      ExpressionAttributeNames: names("#inv"),
    }));
  }

  /** Queries every shard of the index for keys starting with `prefix`. */
  #eachShard(
    operation: string,
    prefix: string,
    projection: string,
    expiredBy: number | undefined,
    each: (page: Record<string, unknown>[]) => void | Promise<void>,
  ): Promise<void> {
    return queryShards(this.#db, operation, {
      group: (n) => `${this.#db.keyPrefix}cache#${n}`,
      shards: SHARDS,
      prefix,
      projection,
      expiredBy,
    }, each);
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

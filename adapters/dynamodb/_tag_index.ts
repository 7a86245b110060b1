// The tag index of the DynamoDB cache store, as items of the shared table:
//
//   pk `<keyPrefix>cachetag:<tag>`, sk `=<key>`   a key carrying the tag:
//       `at` when its writer recorded it, `exp`/`ttl` when its entry
//       expires (refreshed with the entry);
//   pk `<keyPrefix>cachetag:<tag>`, sk `!`        the tag's last
//       invalidation: `at`, and `exp`/`ttl` when it may be forgotten.
//
// Both sit in the index `gsi1` under `<keyPrefix>cachetag#<shard of tag>`
// with `gsk` `=<tag>`, so that `clear(prefix)` finds them by prefix and
// `cleanup` finds the expired ones; so do the marks invalidations leave on
// entries (under the shard of their key, `gsk` `=<key>`). The entry item itself holds the key's
// tags (`tg`), so an index item whose entry is gone or no longer carries
// the tag never counts.
import type { _Connection } from "./_connection.ts";
import {
  _Deleter,
  conditionHeld,
  getAll,
  keyOf,
  pages,
  putAll,
  queryShards,
} from "./_requests.ts";
import { type _Item, N, names, num, S, str, ttlAt } from "./_values.ts";

/** How many index partitions the tag items are spread over. */
export const TAG_SHARDS = 16;
const MARK_SORT = "!";

/** The tag items of one store. */
export class _DynamoTagIndex {
  readonly #db: _Connection;
  readonly #hash: (text: string) => number;

  constructor(db: _Connection, hash: (text: string) => number) {
    this.#db = db;
    this.#hash = hash;
  }

  /**
   * Records, at `now`, that `key` carries `tags` until `exp` (none: never).
   */
  async add(
    operation: string,
    key: string,
    tags: readonly string[],
    exp: number | undefined,
    now: number,
  ): Promise<void> {
    if (tags.length === 0) return;
    await putAll(
      this.#db,
      operation,
      tags.map((tag) => ({ ...this.#item(tag, `=${key}`, exp), at: N(now) })),
    );
  }

  /** Marks `tags` as invalidated at `now`, until `until`. */
  async mark(
    tags: readonly string[],
    now: number,
    until: number,
  ): Promise<void> {
    await putAll(
      this.#db,
      "invalidateTags",
      tags.map((tag) => ({ ...this.#item(tag, MARK_SORT, until), at: N(now) })),
    );
  }

  /** Whether one of `tags` carries a mark made after `since` that lasts past `now`. */
  async marked(
    tags: readonly string[],
    since: number,
    now: number,
  ): Promise<boolean> {
    if (tags.length === 0) return false;
    const found = await getAll(
      this.#db,
      "set",
      tags.map((tag) => ({ pk: S(this.#pk(tag)), sk: S(MARK_SORT) })),
      "#at, #exp",
      names("#at, #exp"),
    );
    return found.some((item) =>
      (num(item.at) ?? -Infinity) > since && (num(item.exp) ?? 0) > now
    );
  }

  /** The keys recorded under `tag`. */
  async keys(tag: string): Promise<string[]> {
    const out: string[] = [];
    await pages(this.#db, "invalidateTags", "Query", {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :m)",
      ProjectionExpression: "#sk",
      ExpressionAttributeNames: names("#pk #sk"),
      ExpressionAttributeValues: { ":pk": S(this.#pk(tag)), ":m": S("=") },
      ConsistentRead: true,
    }, (page) => {
      for (const item of page) out.push((str(item.sk) ?? "=").slice(1));
    });
    return out;
  }

  /**
   * Forgets that `key` carries `tag`, as recorded before `before`: a write
   * that recorded the tag again since (one an invalidation made at
   * `before` keeps) stays indexed for the next one.
   */
  async forget(tag: string, key: string, before: number): Promise<void> {
    const condition = "attribute_not_exists(#at) OR #at < :before";
    await conditionHeld(this.#db.call("invalidateTags", "DeleteItem", {
      Key: { pk: S(this.#pk(tag)), sk: S(`=${key}`) },
      ConditionExpression: condition,
      ExpressionAttributeNames: names(condition),
      ExpressionAttributeValues: { ":before": N(before) },
    }));
  }

  /**
   * Deletes the items of the tags, and the marked entries, that start with
   * `prefix` (all of them when it is empty), or with `expiredBy` only those
   * that ran out by then.
   */
  async remove(
    operation: string,
    prefix: string,
    expiredBy?: number,
  ): Promise<number> {
    const deleter = new _Deleter(this.#db, operation);
    await this.#eachShard(
      operation,
      prefix,
      "#pk, #sk",
      expiredBy,
      (page) => deleter.add(page.map(keyOf)),
    );
    await deleter.flush();
    return deleter.deleted;
  }

  /** How many (tag, key) items are held. */
  async count(): Promise<number> {
    let count = 0;
    await this.#eachShard("getStats", "", "#sk", undefined, (page) => {
      for (const item of page) if (str(item.sk)?.startsWith("=")) count++;
    });
    return count;
  }

  /** The index partition of the items of a tag, or of a marked key. */
  shard(name: string): string {
    return `${this.#db.keyPrefix}cachetag#${this.#hash(name) % TAG_SHARDS}`;
  }

  #pk(tag: string): string {
    return `${this.#db.keyPrefix}cachetag:${tag}`;
  }

  #item(tag: string, sort: string, exp: number | undefined): _Item {
    const item: _Item = {
      pk: S(this.#pk(tag)),
      sk: S(sort),
      gpk: S(this.shard(tag)),
      gsk: S(`=${tag}`),
    };
    if (exp !== undefined) {
      item.exp = N(exp);
      item.ttl = ttlAt(exp);
    }
    return item;
  }

  #eachShard(
    operation: string,
    prefix: string,
    projection: string,
    expiredBy: number | undefined,
    each: (page: Record<string, unknown>[]) => void | Promise<void>,
  ): Promise<void> {
    return queryShards(this.#db, operation, {
      group: (n) => `${this.#db.keyPrefix}cachetag#${n}`,
      shards: TAG_SHARDS,
      prefix,
      projection,
      expiredBy,
    }, each);
  }
}

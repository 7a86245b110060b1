// The DynamoDB cache store beyond the conformance suite: prefix clears
// that query the index and never scan, batch deletes that send again what
// DynamoDB left unprocessed, a tag index that keeps what an invalidation
// kept, expiry that does not wait for DynamoDB's TTL, the table's schema,
// and dedupe results near the item size limit.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DescribeTableCommand, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  createTable,
  DEFAULT_TABLE_NAME,
  DynamoDBCacheStore,
  DynamoDBDedupeStore,
  TABLE_SCHEMA,
} from "../../../adapters/dynamodb/mod.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { type DynamoProxy, startDynamoProxy } from "../../fixtures/dynalite.ts";
import { until } from "../../client/_helpers.ts";
import { type DynamoEnv, startDynamoEnv } from "./_env.ts";

let env: DynamoEnv;
let proxy: DynamoProxy;

describe("DynamoDB cache store and table", () => {
  before(async () => {
    env = await startDynamoEnv();
    proxy = await startDynamoProxy(env.server.url);
  });
  after(async () => {
    await proxy.close();
    await env.close();
  });

  it("clear(prefix) queries the sixteen shards of the entries and of the tags in the index, never scans, and keeps other scopes", async () => {
    const cache = new DynamoDBCacheStore(env.connect("fetch", proxy.url));
    for (let i = 0; i < 60; i++) {
      await cache.set(`api:tenant=a:cache:${i}`, i, 60);
      await cache.set(`api:tenant=b:cache:${i}`, i, 60);
    }
    proxy.resetCounts();
    await cache.clear("api:tenant=a:");
    const operations = proxy.log();
    assert.equal(operations.filter((o) => o === "Query").length, 32);
    assert.ok(!operations.includes("Scan"));
    assert.equal(
      operations.filter((o) => o === "BatchWriteItem").length,
      3,
      "60 deletes, 25 at a time",
    );
    for (let i = 0; i < 60; i++) {
      assert.equal(await cache.get(`api:tenant=a:cache:${i}`), undefined);
      assert.equal(await cache.get(`api:tenant=b:cache:${i}`), i);
    }
    await cache.close();
  });

  it("clear() sends again the deletes DynamoDB leaves unprocessed", async () => {
    const cache = new DynamoDBCacheStore(env.connect("sdk", proxy.url));
    for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i, 60);
    let refusals = 2;
    // DynamoDB under load answers a batch with some of it unprocessed.
    proxy.intercept((target, body) => {
      if (target !== "BatchWriteItem" || refusals === 0) return undefined;
      refusals--;
      return { status: 200, body: { UnprocessedItems: body.RequestItems } };
    });
    try {
      proxy.resetCounts();
      await cache.clear();
    } finally {
      proxy.intercept(undefined);
    }
    assert.equal(proxy.count("BatchWriteItem"), 3);
    for (let i = 0; i < 5; i++) {
      assert.equal(await cache.get(`k${i}`), undefined);
    }
    await cache.close();
  });

  it("a write an invalidation keeps, landing while it runs, stays indexed for the next invalidation", async () => {
    const clock = new ManualClock();
    const keyPrefix = env.prefix();
    const invalidator = new DynamoDBCacheStore({
      ...env.connect("fetch", proxy.url, keyPrefix),
      clock,
    });
    const writer = new DynamoDBCacheStore({
      ...env.connect("fetch", env.server.url, keyPrefix),
      clock,
    });
    assert.equal(await writer.set("k", "old", 60, { tags: ["t"] }), true);
    // Hold the invalidation where it forgets the tag's index items.
    const gate = _gate();
    let held = 0;
    proxy.beforeForward((target, body) => {
      const text = JSON.stringify(body);
      const forgetting = text.includes("cachetag:") &&
        (target === "DeleteItem" ||
          (target === "BatchWriteItem" && text.includes("DeleteRequest")));
      if (!forgetting) return undefined;
      held++;
      return gate.promise;
    });
    try {
      const invalidating = invalidator.invalidateTags!(["t"]);
      await until(() => held > 0, 10_000);
      // A value obtained after the invalidation began: it keeps it.
      clock.advance(1);
      assert.equal(await writer.set("k", "new", 60, { tags: ["t"] }), true);
      gate.open();
      assert.equal(await invalidating, 1);
    } finally {
      proxy.beforeForward(undefined);
      gate.open();
    }
    assert.equal(await writer.get("k"), "new");
    clock.advance(1);
    assert.equal(await invalidator.invalidateTags!(["t"]), 1);
    assert.equal(await writer.get("k"), undefined, "the second one reached it");
    await invalidator.close();
    await writer.close();
  });

  it("an expired entry is a miss at once, though DynamoDB's TTL has not removed it, and cleanup() removes it", async () => {
    const clock = new ManualClock();
    const connection = env.connect("fetch");
    const cache = new DynamoDBCacheStore({ ...connection, clock });
    await cache.set("soon", new Uint8Array([1, 2, 3]), 1);
    await cache.set("later", "kept", 60);
    const key = {
      pk: { S: `${connection.keyPrefix}cache:soon` },
      sk: { S: "c" },
    };
    const stored = await env.sdk().send(
      new GetItemCommand({ TableName: env.table, Key: key }),
    );
    assert.ok(stored.Item?.v?.B instanceof Uint8Array, "a binary attribute");
    assert.equal(Number(stored.Item?.sz?.N), stored.Item?.v?.B?.byteLength);
    assert.equal(Number(stored.Item?.exp?.N), clock.now() + 1_000);
    assert.ok(Number(stored.Item?.ttl?.N) * 1_000 > clock.now() + 1_000);
    clock.advance(1_000);
    assert.equal(await cache.get("soon"), undefined);
    assert.deepEqual(await cache.getStats(), {
      totalItems: 2,
      expiredItems: 1,
      totalBytes: (await cache.getStats()).totalBytes,
      tagIndexEntries: 0,
    });
    assert.equal(await cache.cleanup(), 1);
    const left = await env.sdk().send(
      new GetItemCommand({ TableName: env.table, Key: key }),
    );
    assert.equal(left.Item, undefined);
    assert.equal(await cache.get("later"), "kept");
    await cache.close();
  });

  it("createTable() creates TABLE_SCHEMA once, and reports TTL unsupported where the service lacks it", async () => {
    const tableName = `created-${crypto.randomUUID().slice(0, 8)}`;
    const connection = { ...env.connect("sdk"), tableName };
    assert.deepEqual(await createTable(connection), {
      created: true,
      ttl: "unsupported",
    });
    assert.deepEqual(await createTable(connection), {
      created: false,
      ttl: "unsupported",
    });
    const { Table } = await env.sdk().send(
      new DescribeTableCommand({ TableName: tableName }),
    );
    assert.equal(TABLE_SCHEMA.TableName, DEFAULT_TABLE_NAME);
    assert.deepEqual(Table?.KeySchema, TABLE_SCHEMA.KeySchema);
    assert.deepEqual(
      Table?.GlobalSecondaryIndexes?.map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
      })),
      TABLE_SCHEMA.GlobalSecondaryIndexes,
    );
  });

  it("dedupe results near the item size limit follow one another: a job's claim never carries the last result", async () => {
    const dedupe = new DynamoDBDedupeStore(env.connect("fetch", proxy.url));
    const result = new Uint8Array(380 * 1024).fill(9);
    for (let round = 0; round < 3; round++) {
      const { isOwner } = await dedupe.registerOrJoin("big");
      assert.equal(isOwner, true, `round ${round}`);
      await dedupe.complete("big", result);
      assert.deepEqual(await dedupe.waitFor("big"), result);
    }
    await dedupe.close();
  });
});

/** A promise opened by hand. */
function _gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

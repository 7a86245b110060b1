// What users see when DynamoDB is down, slow, throttling or misconfigured:
// typed StoreErrors naming the operation, nothing that hangs, no retries
// multiplied behind the HTTP client's back, and fail-open or fail-closed
// requests through HttpClient.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBCacheStore,
  type DynamoDBConnectionOptions,
  DynamoDBDedupeStore,
  DynamoDBRateLimitStore,
} from "../../../adapters/dynamodb/mod.ts";
import { HttpClient, type SluiceEvent, StoreError } from "../../../mod.ts";
import {
  type Dynalite,
  type DynamoProxy,
  startDynalite,
  startDynamoProxy,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../../fixtures/dynalite.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { type DynamoEnv, type Form, startDynamoEnv } from "./_env.ts";

let env: DynamoEnv;
let proxy: DynamoProxy;
let origin: Origin;

/** Rejects when `promise` takes longer than `ms`: a hang is a failure. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not settle within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

function isDynamoError(operation: string, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.backend, "dynamodb");
    assert.equal(error.operation, operation);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

describe("DynamoDB stores under faults", () => {
  before(async () => {
    env = await startDynamoEnv();
    proxy = await startDynamoProxy(env.server.url);
    origin = await startOrigin();
  });
  after(async () => {
    await origin.close();
    await proxy.close();
    await env.close();
  });

  for (const form of ["fetch", "sdk"] as Form[]) {
    it(`every store fails with a StoreError naming dynamodb and the operation while dynalite is stopped (${form})`, async () => {
      const doomed: Dynalite = await startDynalite();
      const table = await doomed.table();
      const connection: DynamoDBConnectionOptions = form === "fetch"
        ? doomed.connection(table)
        : { client: env.sdk(doomed.url), tableName: table };
      const cache = new DynamoDBCacheStore(connection);
      const dedupe = new DynamoDBDedupeStore(connection);
      const limits = new DynamoDBRateLimitStore(connection);
      await cache.set("k", "before", 60);
      await doomed.stop();
      const failing: [string, () => Promise<unknown>][] = [
        ["get", () => cache.get("k")],
        ["set", () => cache.set("k", 1, 60)],
        ["clear", () => cache.clear("k")],
        ["registerOrJoin", () => dedupe.registerOrJoin("j")],
        ["complete", () => dedupe.complete("j", 1)],
        ["acquire", () => limits.acquire("r")],
        ["getCooldown", () => limits.getCooldown("r")],
        ["status", () => limits.getWaitTime("r")],
      ];
      for (const [operation, call] of failing) {
        await within(assert.rejects(call(), isDynamoError(operation)), 3_000);
      }
      await Promise.all([cache.close(), dedupe.close(), limits.close()]);
    });

    it(`a throttling error (400 ThrottlingException) is a StoreError saying so, sent once (${form})`, async () => {
      const connection = env.connect(form, proxy.url);
      const cache = new DynamoDBCacheStore(connection);
      const limits = new DynamoDBRateLimitStore(connection);
      proxy.throttle((target) =>
        target === "PutItem" || target === "UpdateItem"
      );
      try {
        proxy.resetCounts();
        await assert.rejects(
          cache.set("k", "v", 60),
          isDynamoError("set", /throttled/),
        );
        await assert.rejects(
          limits.acquire("r"),
          isDynamoError("acquire", /throttled/),
        );
        assert.deepEqual(proxy.log(), ["UpdateItem", "UpdateItem"]);
      } finally {
        proxy.throttle(undefined);
      }
      assert.equal(await cache.set("k", "v", 60), true);
      assert.equal(await cache.get("k"), "v");
      assert.equal(await limits.acquire("r"), true);
      await Promise.all([cache.close(), limits.close()]);
    });

    it(`abandons an operation DynamoDB does not answer within timeoutMs (${form})`, async () => {
      const limits = new DynamoDBRateLimitStore({
        ...env.connect(form, proxy.url),
        timeoutMs: 150,
      });
      await limits.acquire("warm");
      proxy.intercept(() => "stall");
      try {
        const started = performance.now();
        await assert.rejects(
          limits.acquire("r"),
          isDynamoError("acquire", /did not answer within 150 ms/),
        );
        const took = performance.now() - started;
        assert.ok(took >= 140 && took < 1_000, `took ${took} ms`);
      } finally {
        proxy.intercept(undefined);
      }
      await limits.close();
    });
  }

  it("a read whose connection drops before an answer is sent again, once; a write is not (fetch)", async () => {
    const cache = new DynamoDBCacheStore(env.connect("fetch", proxy.url));
    await cache.set("k", "kept", 60);
    let reads = 0;
    // The proxy closes a connection without answering, as a server closing
    // a pooled connection does: the first read, and every write.
    proxy.beforeForward((target) =>
      (target === "GetItem" && reads++ === 0) || target === "UpdateItem"
        ? Promise.reject(new Error("dropped"))
        : undefined
    );
    try {
      proxy.resetCounts();
      const read = await within(cache.get("k").catch(String), 3_000);
      assert.equal(read, "kept");
      assert.deepEqual(proxy.log(), ["GetItem", "GetItem"]);
      // (Deno's own fetch may send a POST again on a reused connection;
      // sluice adds nothing to that.)
      await within(
        assert.rejects(cache.set("k", "lost", 60), isDynamoError("set")),
        3_000,
      );
    } finally {
      proxy.beforeForward(undefined);
    }
    assert.equal(await cache.get("k"), "kept", "no dropped write was applied");
    await cache.close();
  });

  it("an injected SDK client's own retries are not multiplied: one request per operation, even with maxAttempts 5", async () => {
    const client = new DynamoDBClient({
      region: TEST_REGION,
      endpoint: proxy.url,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 5,
    });
    const cache = new DynamoDBCacheStore({
      client,
      tableName: env.table,
      keyPrefix: env.prefix(),
    });
    proxy.throttle(() => true);
    try {
      proxy.resetCounts();
      await assert.rejects(cache.get("k"), isDynamoError("get", /throttled/));
      // Counted by operation: under Deno, the SDK's Node HTTP handler may
      // still resend the request an earlier test abandoned.
      assert.equal(proxy.count("GetItem"), 1);
    } finally {
      proxy.throttle(undefined);
    }
    await cache.close();
    client.destroy();
  });

  it("names the missing table and how to create it", async () => {
    const cache = new DynamoDBCacheStore({
      ...env.connect("fetch"),
      tableName: "no-such-table",
    });
    await assert.rejects(
      cache.get("k"),
      isDynamoError("get", /no-such-table.*createTable/),
    );
    await cache.close();
  });

  it("creates its table on first use with ensureTableExists", async () => {
    const tableName = `ensured-${crypto.randomUUID().slice(0, 8)}`;
    const cache = new DynamoDBCacheStore({
      ...env.connect("fetch"),
      tableName,
      ensureTableExists: true,
    });
    assert.equal(await cache.set("k", "v", 60), true);
    assert.equal(await cache.get("k"), "v");
    await cache.close();
  });

  it("an item that does not decode is a miss, is reported, and is deleted", async () => {
    const connection = env.connect("sdk");
    const events: string[] = [];
    const cache = new DynamoDBCacheStore({
      ...connection,
      onEvent: (event) => void events.push(event.type),
    });
    await cache.set("bad", "v", 60);
    proxy.resetCounts();
    const { PutItemCommand, GetItemCommand } = await import(
      "@aws-sdk/client-dynamodb"
    );
    const sdk = env.sdk();
    const key = {
      pk: { S: `${connection.keyPrefix}cache:bad` },
      sk: { S: "c" },
    };
    await sdk.send(
      new PutItemCommand({
        TableName: env.table,
        Item: { ...key, v: { B: new Uint8Array([1, 2, 3]) } },
      }),
    );
    assert.equal(await cache.get("bad"), undefined);
    assert.deepEqual(events, ["cache.corrupt"]);
    const left = await sdk.send(
      new GetItemCommand({ TableName: env.table, Key: key }),
    );
    assert.equal(left.Item, undefined);
    await cache.close();
  });

  it("HttpClient requests complete while DynamoDB is down when the stores fail open, and fail with StoreError when rate limiting fails closed", async () => {
    origin.route("/open", {
      body: { ok: true },
      headers: { "cache-control": "max-age=60" },
    });
    const doomed = await startDynalite();
    const table = await doomed.table();
    const connection = doomed.connection(table);
    const cache = new DynamoDBCacheStore(connection);
    const dedupe = new DynamoDBDedupeStore(connection);
    const limits = new DynamoDBRateLimitStore(connection);
    const events: SluiceEvent[] = [];
    const open = new HttpClient({
      name: "open",
      cache: { store: cache },
      dedupe: { store: dedupe },
      rateLimit: { store: limits },
      retry: false,
      onEvent: (event) => void events.push(event),
    });
    const closed = new HttpClient({
      name: "closed",
      rateLimit: { store: limits, failOpen: false },
      retry: false,
    });
    await doomed.stop();
    const responses = await within(
      Promise.all(
        Array.from({ length: 5 }, () => open.fetch(`${origin.url}/open`)),
      ),
      3_000,
    );
    for (const response of responses) {
      assert.deepEqual(await response.json(), { ok: true });
    }
    const errors = events.filter((e) => e.type === "error");
    assert.ok(errors.length > 0);
    assert.ok(errors.every((e) => e.type === "error" && e.failedOpen));
    origin.resetCounts();
    await within(
      assert.rejects(closed.fetch(`${origin.url}/open?closed`), (error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.backend, "dynamodb");
        return true;
      }),
      3_000,
    );
    assert.equal(origin.calls("/open"), 0);
    await Promise.all([open.close(), closed.close()]);
    await Promise.all([cache.close(), dedupe.close(), limits.close()]);
  });
});

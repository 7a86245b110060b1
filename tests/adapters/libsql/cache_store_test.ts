import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "@libsql/client";
import {
  type LibsqlCacheEvent,
  LibsqlCacheStore,
} from "../../../adapters/libsql/mod.ts";
import { ManualClock } from "../../../testing/manual_clock.ts";
import { counting, fileClient, tempDir } from "./_helpers.ts";

describe("LibsqlCacheStore", () => {
  const files = tempDir();
  after(() => files.remove());

  it("get() and set() each cost one round trip once the schema exists", async () => {
    const inner = createClient({ url: ":memory:" });
    const { client, count, reset } = counting(inner);
    const store = new LibsqlCacheStore({ client, cleanupIntervalMs: 0 });
    await store.get("warm-up");
    reset();
    await store.set("k", { body: new Uint8Array([1, 2, 3]) }, 60);
    assert.equal(count(), 1);
    reset();
    assert.deepEqual(await store.get("k"), { body: new Uint8Array([1, 2, 3]) });
    assert.equal(count(), 1);
    await store.close();
    assert.equal(inner.closed, false, "an injected client stays open");
    inner.close();
  });

  it("set() skips an entry larger than maxEntrySizeBytes with a cache.skipped event and drops the older value", async () => {
    const events: LibsqlCacheEvent[] = [];
    const store = new LibsqlCacheStore({
      url: ":memory:",
      maxEntrySizeBytes: 1_000,
      onEvent: (event) => events.push(event),
    });
    await store.set("big", "small enough", 60);
    await store.set("big", { body: new Uint8Array(5_000) }, 60);
    assert.equal(await store.get("big"), undefined);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.type, "cache.skipped");
    assert.equal(event?.key, "big");
    assert.equal(event?.type === "cache.skipped" && event.limit, 1_000);
    assert.ok(event?.type === "cache.skipped" && event.bytes > 5_000);
    await store.close();
  });

  it("a corrupt BLOB is a miss, is deleted, and is reported as cache.corrupt", async () => {
    const client = createClient({ url: ":memory:" });
    const events: LibsqlCacheEvent[] = [];
    const store = new LibsqlCacheStore({
      client,
      onEvent: (event) => events.push(event),
    });
    await store.set("bad", "value", 60);
    await store.set("text", "value", 60);
    await client.execute({
      sql: "UPDATE sluice_cache SET value = ? WHERE key = 'bad'",
      args: [new Uint8Array([0x53, 0x01, 0xff, 0xff, 0xff, 0xff, 1])],
    });
    await client.execute(
      "UPDATE sluice_cache SET value = 'not a blob' WHERE key = 'text'",
    );
    assert.equal(await store.get("bad"), undefined);
    assert.equal(await store.get("text"), undefined);
    const left = await client.execute("SELECT count(*) AS n FROM sluice_cache");
    assert.equal(Number(left.rows[0]?.n), 0, "corrupt rows are deleted");
    assert.deepEqual(events.map((e) => e.type), [
      "cache.corrupt",
      "cache.corrupt",
    ]);
    await store.close();
    client.close();
  });

  it("a throwing onEvent listener never breaks set()", async () => {
    const store = new LibsqlCacheStore({
      url: ":memory:",
      maxEntrySizeBytes: 10,
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    await store.set("k", "a value longer than ten bytes", 60);
    assert.equal(await store.get("k"), undefined);
    await store.close();
  });

  it("clear(prefix) treats % and _ as plain characters and handles non-ASCII prefixes", async () => {
    const store = new LibsqlCacheStore({ url: ":memory:" });
    const keys = [
      "a%b:1",
      "axb:1",
      "a_b:1",
      "ayb:1",
      "é:1",
      "é\u{10ffff}:1",
      "ê:1",
      "\u{1f680}:1",
      "\u{1f681}:1",
    ];
    for (const key of keys) await store.set(key, key, 0);
    await store.clear("a%");
    await store.clear("a_");
    await store.clear("é");
    await store.clear("\u{1f680}");
    const left: string[] = [];
    for (const key of keys) {
      if (await store.get(key) !== undefined) left.push(key);
    }
    assert.deepEqual(left, ["axb:1", "ayb:1", "ê:1", "\u{1f681}:1"]);
    await store.close();
  });

  it("expired rows are never read, and are removed lazily at most once per cleanupIntervalMs", async () => {
    const clock = new ManualClock();
    const store = new LibsqlCacheStore({
      url: ":memory:",
      clock,
      cleanupIntervalMs: 1_000,
    });
    await store.set("short", "x", 0.1);
    await store.set("long", "y", 60);
    clock.advance(200);
    assert.equal(await store.get("short"), undefined);
    const before = await store.getStats();
    assert.equal(before.totalItems, 2);
    assert.equal(before.expiredItems, 1);
    // Within the interval since the first set's cleanup: nothing removed.
    await store.set("other", "z", 60);
    assert.equal((await store.getStats()).expiredItems, 1);
    clock.advance(1_000);
    await store.set("other", "z", 60);
    const stats = await store.getStats();
    assert.equal(stats.expiredItems, 0);
    assert.equal(stats.totalItems, 2);
    await store.close();
  });

  it("cleanup() removes every expired row and says how many", async () => {
    const clock = new ManualClock();
    const store = new LibsqlCacheStore({
      url: ":memory:",
      clock,
      cleanupIntervalMs: 0,
    });
    for (let i = 0; i < 5; i++) await store.set(`gone:${i}`, i, 1);
    await store.set("kept", "k", 0);
    clock.advance(1_001);
    assert.equal(await store.cleanup(), 5);
    assert.equal(await store.cleanup(), 0);
    assert.equal(await store.get("kept"), "k");
    await store.close();
  });

  it("getStats() counts entries and their encoded bytes", async () => {
    const store = new LibsqlCacheStore({ url: ":memory:" });
    await store.set("a", { body: new Uint8Array(1_000) }, 60);
    await store.set("b", "text", 60);
    const stats = await store.getStats();
    assert.equal(stats.totalItems, 2);
    assert.equal(stats.expiredItems, 0);
    assert.ok(stats.totalBytes > 1_000 && stats.totalBytes < 1_200);
    assert.ok(stats.databaseSizeKB > 0);
    await store.close();
  });

  it("a 1 MiB body round-trips byte-exact through a file", async () => {
    const store = new LibsqlCacheStore({ url: `file:${files.path("big.db")}` });
    const body = new Uint8Array(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    await store.set("big", { status: 200, body }, 60);
    const read = await store.get("big") as { body: Uint8Array };
    assert.equal(read.body.byteLength, body.byteLength);
    assert.deepEqual(read.body, body);
    await store.close();
  });

  it("stores with different table prefixes in one database never see each other's entries", async () => {
    const client = fileClient(files.path("prefixes.db"));
    const one = new LibsqlCacheStore({ client, tablePrefix: "one_" });
    const two = new LibsqlCacheStore({ client, tablePrefix: "two_" });
    await one.set("k", "from one", 60);
    assert.equal(await two.get("k"), undefined);
    await two.clear();
    assert.equal(await one.get("k"), "from one");
    await one.close();
    await two.close();
    client.close();
  });

  it("close() closes a client created from a URL; later calls reject with a StoreError naming the operation", async () => {
    const store = new LibsqlCacheStore({ url: ":memory:" });
    await store.set("k", "v", 60);
    await store.close();
    await store.close();
    await assert.rejects(store.get("k"), (error: unknown) => {
      const e = error as {
        code?: string;
        backend?: string;
        operation?: string;
      };
      return e.code === "ERR_STORE" && e.backend === "libsql" &&
        e.operation === "get";
    });
  });
});

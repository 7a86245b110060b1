import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "@libsql/client";
import {
  LIBSQL_SCHEMA,
  LIBSQL_SCHEMA_VERSION,
  LibsqlAdaptiveRateLimitStore,
  LibsqlCacheStore,
  LibsqlDedupeStore,
  LibsqlRateLimitStore,
  migrate,
} from "../../../adapters/libsql/mod.ts";
import { ManualClock } from "../../../testing/manual_clock.ts";
import { fileClient, tempDir } from "./_helpers.ts";

/** The tables as the first schema version laid them out. */
const VERSION_1 = [
  "CREATE TABLE sluice_cache (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL)",
  "CREATE TABLE sluice_dedupe (key TEXT PRIMARY KEY NOT NULL, job_id TEXT NOT NULL, status TEXT NOT NULL, result BLOB, error TEXT, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
  "CREATE TABLE sluice_rate_limit (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, at INTEGER NOT NULL)",
  "CREATE INDEX sluice_rate_limit_resource_at ON sluice_rate_limit (resource, at)",
  "CREATE TABLE sluice_cooldown (resource TEXT PRIMARY KEY NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID",
];

function isStoreError(operation: string) {
  return (error: unknown): boolean => {
    const e = error as { code?: string; backend?: string; operation?: string };
    return e.code === "ERR_STORE" && e.backend === "libsql" &&
      e.operation === operation;
  };
}

describe("libSQL schema", () => {
  const files = tempDir();
  after(() => files.remove());

  it("LIBSQL_SCHEMA provisions tables that stores use with ensure: false", async () => {
    const client = fileClient(files.path("provisioned.db"));
    await client.batch([...LIBSQL_SCHEMA], "write");
    const cache = new LibsqlCacheStore({ client, ensure: false });
    const limits = new LibsqlAdaptiveRateLimitStore({ client, ensure: false });
    await cache.set("k", "v", 60);
    assert.equal(await cache.get("k"), "v");
    assert.equal(await limits.acquire("r", "user"), true);
    assert.deepEqual(await migrate(client), {
      from: LIBSQL_SCHEMA_VERSION,
      to: LIBSQL_SCHEMA_VERSION,
    });
    await cache.close();
    await limits.close();
    client.close();
  });

  it("with ensure: false and no tables, operations fail with a StoreError that names the missing tables", async () => {
    const store = new LibsqlCacheStore({ url: ":memory:", ensure: false });
    await assert.rejects(store.get("k"), (error: unknown) => {
      assert.ok(isStoreError("get")(error));
      assert.match(
        (error as Error).message,
        /no such table: sluice_cache.*migrate\(\) or LIBSQL_SCHEMA/,
      );
      return true;
    });
    await store.close();
  });

  it("migrate() upgrades a version 1 database in place, keeping its rows", async () => {
    const path = files.path("v1.db");
    const client = fileClient(path);
    await client.batch([
      ...VERSION_1,
      "INSERT INTO sluice_rate_limit (resource, at) VALUES ('api', 1000), ('api', 1500)",
      "INSERT INTO sluice_cooldown VALUES ('api', 90000)",
    ], "write");
    // A cache row written the way version 1 wrote it.
    const writer = new LibsqlCacheStore({ client, ensure: false });
    await assert.rejects(writer.set("k", "old", 0), isStoreError("set"));
    await client.execute({
      sql:
        "INSERT INTO sluice_cache (key, value, expires_at, created_at) VALUES ('k', ?, NULL, 0)",
      args: [
        new Uint8Array([0x53, 1, 0, 0, 0, 5, 0x22, 0x6f, 0x6c, 0x64, 0x22]),
      ],
    });
    await writer.close();

    assert.deepEqual(await migrate(client), {
      from: 1,
      to: LIBSQL_SCHEMA_VERSION,
    });
    const version = await client.execute(
      "SELECT value FROM sluice_meta WHERE key = 'schema_version'",
    );
    assert.equal(version.rows[0]?.value, String(LIBSQL_SCHEMA_VERSION));
    const priorities = await client.execute(
      "SELECT DISTINCT priority FROM sluice_rate_limit",
    );
    assert.deepEqual(priorities.rows.map((r) => r.priority), ["background"]);

    const clock = new ManualClock(1_600);
    const cache = new LibsqlCacheStore({ client, clock });
    const limits = new LibsqlAdaptiveRateLimitStore({
      client,
      clock,
      defaultConfig: { limit: 3, windowMs: 1_000 },
    });
    assert.equal(await cache.get("k"), "old");
    assert.equal((await cache.getStats()).totalBytes, 11);
    assert.equal((await limits.getStatus("api")).remaining, 1);
    assert.equal(await limits.getCooldown("api"), 88_400);
    assert.equal(await limits.acquire("api", "user"), true);
    assert.equal(await limits.acquire("api", "user"), false);
    await cache.close();
    await limits.close();
    client.close();
  });

  it("migrate() upgrades a version 2 database, and its running and completed jobs keep answering", async () => {
    const client = fileClient(files.path("v2.db"));
    await client.batch([
      ...VERSION_1,
      "ALTER TABLE sluice_rate_limit ADD COLUMN priority TEXT NOT NULL DEFAULT 'background'",
      "ALTER TABLE sluice_cache ADD COLUMN size INTEGER NOT NULL DEFAULT 0",
      "CREATE TABLE sluice_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID",
      "INSERT INTO sluice_meta VALUES ('schema_version', '2')",
      // Jobs the way version 2 wrote them: a running one, a completed one.
      "INSERT INTO sluice_dedupe VALUES ('running', 'job-1', 'pending', NULL, NULL, 1000, 1000)",
      {
        sql:
          "INSERT INTO sluice_dedupe VALUES ('done', 'job-2', 'completed', ?, NULL, 1000, 1500)",
        args: [
          new Uint8Array([0x53, 1, 0, 0, 0, 5, 0x22, 0x6f, 0x6c, 0x64, 0x22]),
        ],
      },
    ], "write");
    assert.deepEqual(await migrate(client), {
      from: 2,
      to: LIBSQL_SCHEMA_VERSION,
    });
    const clock = new ManualClock(2_000);
    const dedupe = new LibsqlDedupeStore({ client, clock });
    assert.equal(await dedupe.isInProgress("running"), true);
    assert.deepEqual(await dedupe.registerOrJoin("running"), {
      jobId: "job-1",
      isOwner: false,
    });
    assert.equal(await dedupe.waitFor("done"), "old");
    const next = await dedupe.registerOrJoin("done");
    assert.equal(next.isOwner, true);
    assert.equal(next.previous, "completed");
    await dedupe.close();
    client.close();
  });

  it("migrate() upgrades a version 3 database: its cached entries stay, and gain tag support", async () => {
    const client = fileClient(files.path("v3.db"));
    await client.batch([...LIBSQL_SCHEMA], "write");
    // Version 3 had no tag tables and no triggers.
    await client.batch([
      "DROP TABLE sluice_cache_tags",
      "DROP TABLE sluice_cache_marks",
      "DROP TRIGGER sluice_cache_tags_deleted",
      "DROP TRIGGER sluice_cache_tags_renewed",
      "UPDATE sluice_meta SET value = '3' WHERE key = 'schema_version'",
    ], "write");
    const clock = new ManualClock(1_000);
    const before = new LibsqlCacheStore({ client, ensure: false, clock });
    await assert.rejects(before.set("k", "old", 60), isStoreError("set"));
    await client.execute({
      sql:
        "INSERT INTO sluice_cache (key, value, size, expires_at, created_at) VALUES ('old', ?, 3, NULL, 0)",
      args: [
        new Uint8Array([0x53, 1, 0, 0, 0, 5, 0x22, 0x6f, 0x6c, 0x64, 0x22]),
      ],
    });
    await before.close();
    assert.deepEqual(await migrate(client), {
      from: 3,
      to: LIBSQL_SCHEMA_VERSION,
    });
    const cache = new LibsqlCacheStore({ client, clock });
    assert.equal(await cache.get("old"), "old");
    await cache.set("old", "tagged", 60, { tags: ["t"] });
    assert.equal(await cache.invalidateTags!(["t"]), 1);
    assert.equal(await cache.get("old"), undefined);
    // A writer that knows nothing of tags (an older release) deleting a
    // row takes its tags with it, by the trigger.
    await cache.set("k", "v", 60, { tags: ["t"] });
    await client.execute("DELETE FROM sluice_cache WHERE key = 'k'");
    assert.equal((await cache.getStats()).tagIndexEntries, 0);
    await cache.close();
    client.close();
  });

  it("concurrent first use from several clients creates the schema once", async () => {
    const path = files.path("race.db");
    const clients = Array.from({ length: 5 }, () => fileClient(path));
    const results = await Promise.all(clients.map((c) => migrate(c)));
    assert.equal(results.filter((r) => r.from === 0).length >= 1, true);
    for (const r of results) assert.equal(r.to, LIBSQL_SCHEMA_VERSION);
    const stores = clients.map((client) =>
      new LibsqlRateLimitStore({ client })
    );
    assert.deepEqual(
      await Promise.all(stores.map((s) => s.acquire("r"))),
      Array(5).fill(true),
    );
    for (const store of stores) await store.close();
    for (const client of clients) client.close();
  });

  it("migrate() refuses a schema newer than it knows with a StoreError", async () => {
    const client = createClient({ url: ":memory:" });
    await client.batch([...LIBSQL_SCHEMA], "write");
    await client.execute(
      "UPDATE sluice_meta SET value = '99' WHERE key = 'schema_version'",
    );
    await assert.rejects(migrate(client), (error: unknown) => {
      assert.ok(isStoreError("migrate")(error));
      assert.match((error as Error).message, /version 99 is newer/);
      return true;
    });
    const store = new LibsqlCacheStore({ client });
    await assert.rejects(store.get("k"), isStoreError("get"));
    await store.close();
    client.close();
  });

  it("entries, admissions, cooldowns, pending jobs and user activity survive closing and reopening the file", async () => {
    const url = `file:${files.path("persist.db")}`;
    const clock = new ManualClock();
    const limit = { limit: 5, windowMs: 60_000 };
    const adaptiveConfig = { recalculationIntervalMs: 0 };
    {
      const cache = new LibsqlCacheStore({ url, clock });
      const dedupe = new LibsqlDedupeStore({ url, clock });
      const limits = new LibsqlRateLimitStore({
        url,
        clock,
        defaultConfig: limit,
      });
      const adaptive = new LibsqlAdaptiveRateLimitStore({
        url,
        clock,
        defaultConfig: limit,
        adaptiveConfig,
      });
      await cache.set("page", { body: new Uint8Array([1, 2]) }, 600);
      await dedupe.registerOrJoin("job");
      await limits.acquire("plain");
      await limits.acquire("plain");
      await limits.setCooldown("plain", 30_000);
      for (let i = 0; i < 4; i++) await adaptive.acquire("mixed", "user");
      await Promise.all([
        cache.close(),
        dedupe.close(),
        limits.close(),
        adaptive.close(),
      ]);
    }
    clock.advance(10_000);
    const cache = new LibsqlCacheStore({ url, clock });
    const dedupe = new LibsqlDedupeStore({ url, clock });
    const limits = new LibsqlRateLimitStore({
      url,
      clock,
      defaultConfig: limit,
    });
    const adaptive = new LibsqlAdaptiveRateLimitStore({
      url,
      clock,
      defaultConfig: limit,
      adaptiveConfig,
    });
    assert.deepEqual(await cache.get("page"), { body: new Uint8Array([1, 2]) });
    assert.equal(await dedupe.isInProgress("job"), true);
    assert.equal((await dedupe.registerOrJoin("job")).isOwner, false);
    assert.equal((await limits.getStatus("plain")).remaining, 3);
    assert.equal(await limits.getCooldown("plain"), 20_000);
    const status = await adaptive.getStatus("mixed", "background");
    assert.equal(status.recentUserActivity, 4);
    assert.match(status.reason, /Moderate user activity \(4 in 15 min\)/);
    assert.equal(status.remaining, 0, "background may not take the user share");
    await Promise.all([
      cache.close(),
      dedupe.close(),
      limits.close(),
      adaptive.close(),
    ]);
  });
});

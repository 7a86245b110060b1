// The README's libSQL recipe: `client.fetch` handed to `@libsql/client/web`,
// run against a real sqld on loopback.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client/web";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { type SqldServer, startSqld } from "../fixtures/sqld.ts";
import { drive, EventLog, SteppedClock } from "../client/_helpers.ts";

describe("recipe: @libsql/client/web through client.fetch", () => {
  let sqld: SqldServer;
  let clock: SteppedClock;
  let log: EventLog;
  const clients: HttpClient[] = [];

  const database = (limit: number) => {
    const api = new HttpClient({
      name: "turso",
      // A cache too, to show that it never answers a statement.
      cache: { store: new MemoryCacheStore({ clock }) },
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit, windowMs: 10_000 },
          clock,
        }),
      },
      onEvent: log.listener,
      clock,
    });
    clients.push(api);
    return createClient({ url: sqld.url, fetch: api.fetch });
  };

  before(async () => {
    sqld = await startSqld();
  });
  after(async () => {
    for (const client of clients) await client.close();
    await sqld.stop();
  });
  beforeEach(() => {
    clock = new SteppedClock(Date.now());
    log = new EventLog();
  });

  it("statements reach the server as POSTs that are never cached: a read after a write sees the write", async () => {
    const db = database(1_000);
    try {
      await db.execute("CREATE TABLE IF NOT EXISTS notes (body TEXT)");
      await db.execute("DELETE FROM notes");
      const count = async (): Promise<unknown> =>
        (await db.execute("SELECT count(*) AS n FROM notes")).rows[0]?.n;
      await db.execute({ sql: "INSERT INTO notes VALUES (?)", args: ["a"] });
      assert.equal(await count(), 1);
      await db.execute({ sql: "INSERT INTO notes VALUES (?)", args: ["b"] });
      assert.equal(await count(), 2);
    } finally {
      db.close();
    }
    const posts = log.of("request").filter((e) => e.method === "POST");
    assert.ok(posts.length >= 6, `${posts.length} POSTs`);
    assert.equal(log.of("cache.hit").length, 0);
    assert.equal(
      log.of("cache.stored").filter((e) => e.method === "POST").length,
      0,
    );
  });

  it("every request takes a unit of the budget: three statements at 2 per 10 s take a window", async () => {
    const db = database(2);
    const started = clock.now();
    try {
      // Moves the clock through the rate-limit waits, never as far as the
      // attempt deadline (30 s) of a request on the wire.
      const rows = await drive(
        clock,
        (async () => [
          (await db.execute("SELECT 1 AS v")).rows[0]?.v,
          (await db.execute("SELECT 2 AS v")).rows[0]?.v,
          (await db.execute("SELECT 3 AS v")).rows[0]?.v,
        ])(),
        15_000,
      );
      assert.deepEqual(rows, [1, 2, 3]);
    } finally {
      db.close();
    }
    assert.ok(log.of("ratelimit.wait").length > 0);
    assert.ok(clock.now() - started >= 10_000);
  });
});

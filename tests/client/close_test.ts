import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { scriptCommand } from "../fixtures/runtime.ts";
import { EventLog, until } from "./_helpers.ts";

describe("HttpClient.close()", () => {
  let origin: Origin;
  let clock: ManualClock;

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new ManualClock(Date.now());
  });

  it("awaits a background revalidation that is under way", async () => {
    origin.route("/swr", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
      delayMs: req.n === 1 ? 0 : 80,
    }));
    const log = new EventLog();
    const store = new MemoryCacheStore({ clock });
    const client = new HttpClient({
      name: "close",
      baseUrl: origin.url,
      cache: { store },
      clock,
      onEvent: log.listener,
    });
    await client.get("/swr");
    clock.advance(2_000);
    assert.deepEqual(await client.get("/swr"), { n: 1 });
    await client.close();
    assert.equal(log.of("cache.revalidated").length, 1);
    assert.equal(origin.calls("/swr"), 2);
    // The store still works: the client does not close what it was given.
    assert.equal(store.size, 1);
    await store.close();
  });

  it("aborts background work still waiting for rate budget", async () => {
    origin.route("/bg", {
      body: "x",
      headers: { "cache-control": "max-age=1, stale-while-revalidate=600" },
    });
    const limiter = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
    });
    const client = new HttpClient({
      name: "close2",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      rateLimit: { store: limiter, maxWaitMs: 120_000 },
      clock,
    });
    await client.get("/bg");
    clock.advance(5_000);
    assert.equal(await client.get("/bg"), "x");
    const started = performance.now();
    await client.close();
    assert.ok(performance.now() - started < 1_000);
    assert.equal(origin.calls("/bg"), 1);
  });

  it("aborts a background revalidation sleeping before a retry", async () => {
    origin.route("/retrying", (req) =>
      req.n === 1
        ? {
          body: "x",
          headers: { "cache-control": "max-age=1, stale-while-revalidate=600" },
        }
        : { status: 503, headers: { "retry-after": "5" }, body: "busy" });
    const log = new EventLog();
    const client = new HttpClient({
      name: "close-retry",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
    });
    await client.get("/retrying");
    clock.advance(5_000);
    assert.equal(await client.get("/retrying"), "x");
    // The revalidation got its 503 and now sleeps out Retry-After.
    await until(() => log.of("retry").length === 1);
    const started = performance.now();
    await client.close();
    assert.ok(performance.now() - started < 1_000, "close() waited");
    assert.equal(origin.calls("/retrying"), 2);
  });

  it("rejects later calls with a clear error and supports await using", async () => {
    origin.route("/any", { body: "x" });
    const client = new HttpClient({ name: "close3", baseUrl: origin.url });
    {
      await using scoped = client.scope("s", "1");
      assert.equal(await scoped.get("/any"), "x");
    }
    await client.close();
    await client.close();
    await assert.rejects(client.get("/any"), /HttpClient 'close3' is closed/);
    await assert.rejects(client.fetch("/any"), /is closed/);
    assert.throws(() => client.scope("a", "b"), /is closed/);
  });

  it("leaves nothing running after close(): a process that used it exits on its own", async () => {
    origin.route("/swr", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
      delayMs: req.n === 1 ? 0 : 50,
    }));
    origin.route("/fresh", {
      body: "f",
      headers: { "cache-control": "max-age=60" },
    });
    origin.route("/big", { body: "b".repeat(5_000) });
    origin.route(
      "/flaky",
      (req) => req.n % 2 === 1 ? { status: 503, body: "busy" } : { body: "ok" },
    );
    origin.route(
      "/echo",
      (req) => req.method === "DELETE" ? { status: 204 } : { body: "posted" },
    );
    origin.route("/slow", { body: "late", delayMs: 200 });
    // Waits on timers the client arms itself, then on a clock's sleep().
    for (const waits of ["now", "sleep"]) {
      origin.resetCounts();
      const { command, args } = scriptCommand(
        new URL("./_exit_fixture.ts", import.meta.url),
        [origin.url, waits],
      );
      const started = performance.now();
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(command, args, { timeout: 20_000 }, (error, out, err) => {
          if (error) reject(new Error(`${waits}: ${error.message}\n${err}`));
          else resolve(out);
        });
      });
      assert.equal(stdout.trim(), "done", waits);
      assert.ok(
        performance.now() - started < 10_000,
        `${waits}: the process exited without waiting for the client's timers`,
      );
      assert.equal(origin.calls("/swr"), 2, waits);
    }
  });
});

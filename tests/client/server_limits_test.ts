import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, MemoryRateLimitStore, RateLimitError } from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("server rate-limit signals at a real origin", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/quota", (request) => ({
      body: "ok",
      headers: {
        "x-ratelimit-limit": "60",
        "x-ratelimit-remaining": String(60 - request.n),
        "ratelimit-policy": "60;w=3600",
      },
    }));
    origin.route("/slow-down", {
      status: 429,
      headers: { "x-ratelimit-retry-after": "2" },
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  it("reports the limit the server announces on each origin event", async () => {
    const log = new EventLog();
    const c = new HttpClient({
      name: "announce",
      baseUrl: origin.url,
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit: 100, windowMs: 3_600_000 },
        }),
      },
      onEvent: log.listener,
    });
    clients.push(c);
    await c.get("/quota");
    await c.get("/quota");
    const announced = log.of("origin").map((e) => e.announced);
    assert.deepEqual(announced, [
      { limit: 60, remaining: 59, windowMs: 3_600_000 },
      { limit: 60, remaining: 58, windowMs: 3_600_000 },
    ]);
  });

  it("shows in status() when the configured budget is above the server's", async () => {
    origin.route("/github", {
      body: "ok",
      headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999" },
    });
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 100, windowMs: 3_600_000 },
    });
    const c = new HttpClient({
      name: "compare",
      baseUrl: origin.url,
      rateLimit: { store },
    });
    clients.push(c);
    await c.get("/quota");
    const [above] = (await c.status()).resources;
    assert.deepEqual(above?.configured, { limit: 100, windowMs: 3_600_000 });
    assert.equal(above?.server?.limit, 60);
    assert.equal(above?.server?.windowMs, 3_600_000);
    assert.equal(above?.aboveServer, true, "100 an hour against 60 an hour");

    const other = new HttpClient({
      name: "compare2",
      baseUrl: origin.url,
      rateLimit: { store },
    });
    clients.push(other);
    await other.get("/github");
    const [below] = (await other.status()).resources;
    assert.equal(below?.server?.limit, 5_000);
    assert.equal(below?.server?.windowMs, undefined);
    assert.equal(below?.aboveServer, false);

    const silent = new HttpClient({
      name: "compare3",
      baseUrl: origin.url,
      rateLimit: { store },
    });
    clients.push(silent);
    await silent.fetch("/slow-down").then((r) => r.body?.cancel());
    const [unknown] = (await silent.status()).resources;
    assert.equal(unknown?.server, undefined);
    assert.equal(unknown?.aboveServer, undefined);
  });

  it("holds back the resource for an X-RateLimit-Retry-After", async () => {
    const clock = new ManualClock();
    const log = new EventLog();
    const c = new HttpClient({
      name: "xretry",
      baseUrl: origin.url,
      retry: false,
      clock,
      rateLimit: {
        store: new MemoryRateLimitStore({ clock }),
        throwOnLimit: true,
      },
      onEvent: log.listener,
    });
    clients.push(c);
    const first = await c.fetch("/slow-down");
    assert.equal(first.status, 429);
    await first.body?.cancel();
    const [cooldown] = log.of("cooldown");
    assert.equal(cooldown?.cooldownMs, 2_000);
    await assert.rejects(
      c.get("/quota"),
      (e) => e instanceof RateLimitError && e.retryAfterMs === 2_000,
    );
    assert.equal(origin.calls("/quota"), 0, "held back: nothing sent");
    clock.advance(2_000);
    assert.equal(await c.get("/quota"), "ok");
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type AdaptiveRateLimitStore,
  type AdmitOptions,
  HttpClient,
  type HttpClientOptions,
  MemoryAdaptiveRateLimitStore,
  MemoryCacheStore,
  MemoryRateLimitStore,
  RateLimitError,
  type RateLimitStore,
  StoreError,
  systemClock,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { delay, drive, EventLog, SteppedClock, until } from "./_helpers.ts";

describe("HttpClient rate limiting", () => {
  let origin: Origin;
  let log: EventLog;
  let clock: SteppedClock;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions>): HttpClient => {
    const c = new HttpClient({
      name: "rl",
      baseUrl: origin.url,
      onEvent: log.listener,
      retry: false,
      clock,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
    origin.route("/item", (req) => ({ body: { path: req.search } }));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    log = new EventLog();
    clock = new SteppedClock(Date.now());
  });

  it("admits exactly limit requests in the first window when throwOnLimit is set", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 5, windowMs: 60_000 },
      clock,
    });
    const c = client({ rateLimit: { store, throwOnLimit: true } });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => c.get(`/item?i=${i}`)),
    );
    assert.equal(origin.calls("/item"), 5);
    const rejected = results.filter((r) => r.status === "rejected");
    assert.equal(rejected.length, 45);
    for (const r of rejected) {
      const error = (r as PromiseRejectedResult).reason;
      assert.ok(error instanceof RateLimitError);
      assert.ok(error.retryAfterMs > 0 && error.retryAfterMs <= 60_000);
      assert.equal(error.resource, c.rateLimitResource("/item"));
    }
    assert.equal(log.of("ratelimit.rejected").length, 45);
  });

  it("refuses at once a wait longer than maxWaitMs", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 5, windowMs: 60_000 },
      clock,
    });
    const c = client({ rateLimit: { store, maxWaitMs: 50 } });
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => c.get(`/item?i=${i}`)),
    );
    assert.ok(performance.now() - started < 1_000);
    assert.equal(origin.calls("/item"), 5);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 5);
    // A window after the answers (plus 2 ms for whole-millisecond clocks),
    // the budget is back.
    clock.advance(60_002);
    await c.get("/item?again");
    assert.equal(origin.calls("/item"), 6);
  });

  it("waits for budget and then sends, spacing requests by the window", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 150 },
    });
    const c = client({ rateLimit: { store }, clock: systemClock });
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => c.get(`/item?w=${i}`)),
    );
    const arrivals = origin.requests("/item").map((r) => r.at);
    assert.equal(arrivals.length, 4);
    assert.ok(arrivals[2]! - arrivals[0]! >= 120, "third waited a window");
    assert.ok(log.of("ratelimit.wait").length >= 2);
  });

  it("spends no quota on cache hits or de-duplicated joiners, but on every retry", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 60_000 },
      clock,
    });
    origin.route("/cached", {
      body: "c",
      headers: { "cache-control": "max-age=60" },
      delayMs: 20,
    });
    const c = client({
      rateLimit: { store, throwOnLimit: true },
      cache: { store: new MemoryCacheStore({ clock }) },
    });
    await Promise.all(Array.from({ length: 10 }, () => c.get("/cached")));
    for (let i = 0; i < 10; i++) await c.get("/cached");
    const resource = c.rateLimitResource("/cached");
    assert.equal((await store.getStatus(resource)).remaining, 1);

    origin.route("/unavailable", { status: 503, body: "busy" });
    const retrying = client({
      rateLimit: { store, throwOnLimit: true },
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await assert.rejects(
      drive(clock, retrying.get("/unavailable")),
      RateLimitError,
    );
    assert.equal(origin.calls("/unavailable"), 1);
    assert.equal(log.of("retry").length, 1);
  });

  it("learns a cooldown from 429 Retry-After and shares it through the store", async () => {
    const store = new MemoryRateLimitStore({ clock });
    origin.route(
      "/limited",
      (req) =>
        req.n === 1
          ? { status: 429, headers: { "retry-after": "30" }, body: "slow down" }
          : { body: "ok" },
    );
    origin.route("/fresh", {
      body: "cached",
      headers: { "cache-control": "max-age=600" },
    });
    const cache = { store: new MemoryCacheStore({ clock }) };
    const a = client({ rateLimit: { store, throwOnLimit: true }, cache });
    const b = client({ rateLimit: { store, throwOnLimit: true }, cache });
    await a.get("/fresh");
    const first = await a.fetch("/limited");
    assert.equal(first.status, 429);
    await first.body?.cancel();
    assert.equal(log.of("cooldown")[0]?.action, "set");
    assert.equal(log.of("cooldown")[0]?.cooldownMs, 30_000);
    await assert.rejects(b.get("/limited"), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.retryAfterMs, 30_000);
      return true;
    });
    assert.equal(log.of("ratelimit.rejected")[0]?.reason, "cooldown");
    // A fresh hit is never held back by a cooldown.
    assert.equal(await b.get("/fresh"), "cached");
    clock.advance(30_001);
    assert.equal(await b.get("/limited"), "ok");
    assert.equal(origin.calls("/limited"), 2);
  });

  it("holds back the client and every scope once any of them learns a cooldown", async () => {
    const store = new MemoryRateLimitStore({ clock });
    origin.route(
      "/busy",
      (req) =>
        req.n === 1
          ? { status: 503, headers: { "retry-after": "30" }, body: "busy" }
          : { body: "ok" },
    );
    const root = client({ rateLimit: { store, throwOnLimit: true } });
    const tenant = root.scope("tenant", "a");
    const other = root.scope("tenant", "b");
    const first = await tenant.fetch("/busy");
    assert.equal(first.status, 503);
    await first.body?.cancel();
    for (const c of [root, tenant, other, other.scope("user", "1")]) {
      await assert.rejects(c.get("/busy"), (error: unknown) => {
        assert.ok(error instanceof RateLimitError);
        assert.ok(error.retryAfterMs > 29_000);
        return true;
      });
    }
    assert.equal(origin.calls("/busy"), 1);
    clock.advance(30_001);
    assert.equal(await other.get("/busy"), "ok");
  });

  it("waits out a short cooldown instead of failing", async () => {
    const store = new MemoryRateLimitStore();
    origin.route(
      "/brief",
      (req) =>
        req.n === 1
          ? { status: 429, headers: { "retry-after": "0.1" } }
          : { body: "ok" },
    );
    const c = client({ rateLimit: { store }, clock: systemClock });
    const first = await c.fetch("/brief");
    assert.equal(first.status, 429);
    await first.body?.cancel();
    const started = performance.now();
    assert.equal(await c.get("/brief"), "ok");
    assert.ok(performance.now() - started >= 80);
    assert.equal(log.of("cooldown").at(-1)?.action, "wait");
  });

  it("rejects with the caller's reason when aborted while waiting for budget", async () => {
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 10_000 },
    });
    const c = client({ rateLimit: { store }, clock: systemClock });
    await c.get("/item?first");
    const controller = new AbortController();
    const reason = new Error("user navigated away");
    const waiting = c.get("/item?second", { signal: controller.signal });
    await delay(20);
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    assert.equal(origin.calls("/item"), 1);
  });

  it("fails open when the rate-limit store is down, and closed when asked", async () => {
    const down: RateLimitStore = {
      ...new MemoryRateLimitStore(),
      acquire: () => Promise.reject(new Error("down")),
      getWaitTime: () => Promise.reject(new Error("down")),
      getCooldown: () => Promise.reject(new Error("down")),
      setCooldown: () => Promise.reject(new Error("down")),
    } as unknown as RateLimitStore;
    const open = client({ rateLimit: { store: down } });
    assert.deepEqual(await open.get("/item?open"), { path: "?open" });
    const errors = log.of("error");
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.stage === "ratelimit" && e.failedOpen));

    const closed = client({ rateLimit: { store: down, failOpen: false } });
    await assert.rejects(closed.get("/item?closed"), StoreError);
    assert.equal(origin.calls("/item"), 1);
  });

  it("passes each request's priority and resource to an adaptive store", async () => {
    const inner = new MemoryAdaptiveRateLimitStore({ clock });
    const seen: [string, string | undefined][] = [];
    const store: AdaptiveRateLimitStore = Object.assign(
      Object.create(inner) as AdaptiveRateLimitStore,
      {
        admit: (resource: string, options: AdmitOptions = {}) => {
          seen.push([resource, options.priority]);
          return inner.admit(resource, options);
        },
      },
    );
    const c = client({
      rateLimit: { store, resource: (url) => url.pathname.split("/")[1]! },
    });
    await c.get("/item?u", { priority: "user" });
    await c.get("/item?b");
    assert.deepEqual(seen, [
      ["rl:ratelimit:item", "user"],
      ["rl:ratelimit:item", "background"],
    ]);
    assert.equal(c.rateLimitResource("/item"), "rl:ratelimit:item");
  });

  it("lends a user request's priority to the background flight it joins", async () => {
    // Background traffic is held back; user traffic is admitted.
    const inner = new MemoryAdaptiveRateLimitStore({ clock });
    const store: AdaptiveRateLimitStore = Object.assign(
      Object.create(inner) as AdaptiveRateLimitStore,
      {
        admit: (resource: string, options: AdmitOptions = {}) =>
          options.priority === "user"
            ? inner.admit(resource, options)
            : Promise.resolve({ admitted: false, waitMs: 20, cooldownMs: 0 }),
      },
    );
    origin.route("/shared", { body: "ok", delayMs: 10 });
    const c = client({ rateLimit: { store, maxWaitMs: 2_000 } });
    const background = c.get("/shared");
    // The background request sleeps the store's wait on the client's clock.
    await until(() => clock.pendingSleeps === 1);
    const user = c.get("/shared", { priority: "user" });
    await clock.advanceAsync(20);
    // Woken, it asks again as a user request and is admitted: it reaches
    // the origin without the clock moving again.
    await until(() => origin.calls("/shared") === 1);
    assert.deepEqual(await Promise.all([background, user]), ["ok", "ok"]);
    assert.equal(origin.calls("/shared"), 1);
  });
});

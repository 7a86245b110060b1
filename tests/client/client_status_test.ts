import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type AdaptiveRateLimitStatus,
  HttpClient,
  type HttpClientOptions,
  HttpError,
  MemoryAdaptiveRateLimitStore,
  MemoryCacheStore,
  MemoryRateLimitStore,
  type RateLimitStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, SteppedClock, until } from "./_helpers.ts";

/** A promise the test resolves when it lets the origin answer. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("HttpClient.status()", () => {
  let origin: Origin;
  let clock: SteppedClock;
  let slow = gate();
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions>): HttpClient => {
    const c = new HttpClient({
      name: "st",
      baseUrl: origin.url,
      retry: false,
      clock,
      ...options,
    });
    clients.push(c);
    return c;
  };
  const memoryLimit = (limit = 10): MemoryRateLimitStore =>
    new MemoryRateLimitStore({
      defaultConfig: { limit, windowMs: 60_000 },
      clock,
    });

  before(async () => {
    origin = await startOrigin();
    origin.route("/item", { body: { ok: true } });
    origin.route("/slow", async () => {
      await slow.opened;
      return { body: { ok: true } };
    });
    origin.route("/limited", {
      status: 429,
      headers: { "retry-after": "30" },
      body: "slow down",
    });
    origin.route("/swr", async (req) => {
      if (req.n > 1) await slow.opened;
      return {
        headers: { "cache-control": "max-age=1, stale-while-revalidate=600" },
        body: { n: req.n },
      };
    });
  });
  after(async () => {
    slow.open();
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock(Date.now());
    slow = gate();
  });

  it("reports the budget the client used on each resource, as the store counts it", async () => {
    const c = client({ rateLimit: { store: memoryLimit(10) } });
    for (let i = 0; i < 3; i++) await c.get(`/item?i=${i}`);
    const status = await c.status();
    assert.equal(status.name, "st");
    assert.equal(status.keyPrefix, "st");
    assert.equal(status.closed, false);
    assert.equal(status.flights, 0);
    assert.equal(status.resources.length, 1);
    const [only] = status.resources;
    assert.equal(only!.resource, c.rateLimitResource("/item"));
    assert.equal(only!.status?.limit, 10);
    assert.equal(only!.status?.remaining, 7);
    assert.ok(only!.status?.resetTime instanceof Date);
    assert.equal(only!.cooldownMs, 0);
    assert.equal(only!.error, undefined);
  });

  it("reports an adaptive store's split and its reason", async () => {
    const store = new MemoryAdaptiveRateLimitStore({
      defaultConfig: { limit: 20, windowMs: 60_000 },
      clock,
    });
    const c = client({ rateLimit: { store } });
    await c.get("/item", { priority: "user" });
    await c.get("/item?b", { priority: "background" });
    const [resource] = (await c.status()).resources;
    const status = resource!.status as AdaptiveRateLimitStatus;
    assert.equal(status.limit, 20);
    assert.equal(status.remaining, 18);
    assert.equal(typeof status.userReserved, "number");
    assert.equal(typeof status.backgroundMax, "number");
    assert.ok(status.userReserved + status.backgroundMax <= 20);
    assert.equal(typeof status.backgroundPaused, "boolean");
    assert.equal(typeof status.reason, "string");
    assert.notEqual(status.reason, "");
    const direct = await store.getStatus(resource!.resource, "user");
    assert.equal(status.userReserved, direct.userReserved);
    assert.equal(status.backgroundMax, direct.backgroundMax);
    assert.equal(status.reason, direct.reason);
  });

  it("shows the cooldown a server's Retry-After set on the resource", async () => {
    const c = client({ rateLimit: { store: memoryLimit() } });
    await assert.rejects(c.get("/limited"), HttpError);
    const [resource] = (await c.status()).resources;
    assert.equal(resource!.resource, c.rateLimitResource("/limited"));
    assert.equal(resource!.cooldownMs, 30_000);
    clock.advance(10_000);
    assert.equal((await c.status()).resources[0]!.cooldownMs, 20_000);
  });

  it("counts flights in progress: one per distinct request, whatever its callers", async () => {
    const c = client({});
    const calls = [
      c.get("/slow"),
      c.get("/slow"),
      c.get("/slow"),
      c.get("/slow?other"),
    ];
    await until(() => origin.calls("/slow") === 2);
    assert.equal((await c.status()).flights, 2);
    slow.open();
    await Promise.all(calls);
    assert.equal(origin.calls("/slow"), 2);
    assert.equal((await c.status()).flights, 0);
  });

  it("counts a background revalidation as a flight", async () => {
    const c = client({ cache: { store: new MemoryCacheStore() } });
    await c.get("/swr");
    clock.advance(5_000);
    // Served stale at once; the revalidation waits at the origin.
    assert.deepEqual(await c.get("/swr"), { n: 1 });
    await until(() => origin.calls("/swr") === 2);
    assert.equal((await c.status()).flights, 1);
    slow.open();
    await until(() => origin.requests("/swr")[1] !== undefined);
    const settled = async (): Promise<boolean> =>
      (await c.status()).flights === 0;
    for (let i = 0; i < 400 && !(await settled()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal((await c.status()).flights, 0);
  });

  it("keeps scopes apart: a scope sees its own resources and flights, its root sees them all", async () => {
    const c = client({ rateLimit: { store: memoryLimit() } });
    const tenant = c.scope("tenant", "t1");
    await c.get("/item");
    await tenant.get("/item");
    await tenant.get("/item?2");
    const pending = tenant.get("/slow");
    await until(() => origin.calls("/slow") === 1);

    const root = await c.status();
    assert.deepEqual(
      root.resources.map((r) => [r.resource, r.status?.remaining]),
      [
        [tenant.rateLimitResource("/item"), 7],
        [c.rateLimitResource("/item"), 9],
      ],
    );
    assert.equal(root.flights, 1);

    const scoped = await tenant.status();
    assert.equal(scoped.keyPrefix, "st:tenant=t1");
    assert.equal(scoped.name, "st");
    assert.deepEqual(scoped.resources.map((r) => r.resource), [
      tenant.rateLimitResource("/item"),
    ]);
    assert.equal(scoped.flights, 1);
    assert.equal((await c.scope("tenant", "t2").status()).flights, 0);
    slow.open();
    await pending;
  });

  it("remembers the last 64 resources only, most recent first", async () => {
    const c = client({
      rateLimit: {
        store: memoryLimit(1_000),
        resource: (url) => url.pathname,
      },
    });
    for (let i = 0; i < 70; i++) {
      const response = await c.fetch(`/r${i}`);
      await response.body?.cancel();
    }
    const { resources } = await c.status();
    assert.equal(resources.length, 64);
    assert.equal(resources[0]!.resource, c.rateLimitResource("/r69"));
    assert.equal(resources[63]!.resource, c.rateLimitResource("/r6"));
    // Used again, a resource moves to the front.
    await (await c.fetch("/r10")).body?.cancel();
    assert.equal(
      (await c.status()).resources[0]!.resource,
      c.rateLimitResource("/r10"),
    );
  });

  it("gives a failing store's resources an error instead of rejecting", async () => {
    const inner = memoryLimit();
    let down = false;
    const store: RateLimitStore = Object.assign(Object.create(inner), {
      getStatus: (resource: string) =>
        down
          ? Promise.reject(new Error("connection refused"))
          : inner.getStatus(resource),
      getCooldown: (resource: string) =>
        down
          ? Promise.reject(new Error("connection refused"))
          : inner.getCooldown(resource),
    });
    const c = client({ rateLimit: { store } });
    await c.get("/item");
    down = true;
    const [resource] = (await c.status()).resources;
    assert.equal(resource!.resource, c.rateLimitResource("/item"));
    assert.equal(resource!.status, undefined);
    assert.equal(resource!.cooldownMs, 0);
    assert.match(resource!.error!, /connection refused/);
  });

  it("bounds a store that does not answer by storeTimeoutMs", async () => {
    const inner = memoryLimit();
    let hang = false;
    const never = new Promise<never>(() => {});
    const store: RateLimitStore = Object.assign(Object.create(inner), {
      getStatus: (resource: string) => hang ? never : inner.getStatus(resource),
      getCooldown: (resource: string) =>
        hang ? never : inner.getCooldown(resource),
    });
    const c = client({ rateLimit: { store }, storeTimeoutMs: 2_000 });
    await c.get("/item");
    hang = true;
    const status = await drive(clock, c.status(), 2_000);
    const [resource] = status.resources;
    assert.equal(resource!.status, undefined);
    assert.match(resource!.error!, /did not answer 'getStatus' within 2000 ms/);
  });

  it("reports a store's malformed answer as an error", async () => {
    const inner = memoryLimit();
    const store: RateLimitStore = Object.assign(Object.create(inner), {
      getStatus: () => Promise.resolve({ remaining: "lots", limit: 10 }),
    });
    const c = client({ rateLimit: { store } });
    await c.get("/item");
    const [resource] = (await c.status()).resources;
    assert.equal(resource!.status, undefined);
    assert.match(resource!.error!, /invalid 'remaining'/);
  });

  it("answers for a client without a rate limit, and after close", async () => {
    const c = client({});
    await c.get("/item");
    assert.deepEqual(await c.status(), {
      name: "st",
      keyPrefix: "st",
      closed: false,
      flights: 0,
      resources: [],
    });
    const limited = client({ rateLimit: { store: memoryLimit() } });
    await limited.get("/item");
    await limited.close();
    const closed = await limited.status();
    assert.equal(closed.closed, true);
    assert.equal(closed.resources[0]!.status?.remaining, 9);
  });
});

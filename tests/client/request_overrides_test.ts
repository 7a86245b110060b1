import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  freshWithoutHeaders,
  HttpClient,
  type HttpClientOptions,
  HttpError,
  MemoryCacheStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { settles } from "./_helpers.ts";

describe("per-request retry and freshness", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/busy", { status: 503 });
    // No caching headers at all, as many APIs answer.
    origin.route("/plain", (request) => ({ body: { n: request.n } }));
    origin.route("/gone", { status: 404, body: "no such thing" });
    origin.route("/explicit", (request) => ({
      body: { n: request.n },
      headers: { "cache-control": "no-cache" },
    }));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  function client(options: Partial<HttpClientOptions> = {}): HttpClient {
    const c = new HttpClient({
      name: `over${clients.length}`,
      baseUrl: origin.url,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    });
    clients.push(c);
    return c;
  }

  it("retries a request as its own retry option says, on the helpers and on fetch", async () => {
    const c = client();
    await assert.rejects(c.get("/busy", { retry: false }), HttpError);
    assert.equal(origin.calls("/busy"), 1);
    await assert.rejects(settles(c.get("/busy", { retry: { attempts: 3 } })));
    assert.equal(origin.calls("/busy"), 1 + 4);
    const response = await settles(c.fetch("/busy", { retry: false }));
    assert.equal(response.status, 503);
    assert.equal(origin.calls("/busy"), 1 + 4 + 1);
    // Without one, the client's: one retry.
    await assert.rejects(settles(c.get("/busy")));
    assert.equal(origin.calls("/busy"), 1 + 4 + 1 + 2);
  });

  it("keeps the client's retry fields a request does not give", async () => {
    const c = client({
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, statuses: [503] },
    });
    await assert.rejects(settles(c.get("/busy", { retry: { attempts: 1 } })));
    assert.equal(origin.calls("/busy"), 2, "still retries 503, once");
    await assert.rejects(
      settles(c.get("/busy", { retry: { statuses: [500] } })),
    );
    assert.equal(origin.calls("/busy"), 3, "503 is no longer retried");
  });

  it("gives a response without caching headers the request's ttl", async () => {
    const clock = new ManualClock();
    const c = client({
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
    });
    assert.deepEqual(await c.get("/plain", { cache: { ttl: 60 } }), { n: 1 });
    assert.deepEqual(await c.get("/plain"), { n: 1 }, "served fresh");
    clock.advance(61_000);
    assert.deepEqual(await c.get("/plain"), { n: 2 }, "stale after its ttl");
    assert.deepEqual(await c.get("/plain"), { n: 3 }, "no ttl now: not fresh");
    assert.equal(origin.calls("/plain"), 3);
  });

  it("lets a request's ttl replace the client's, and never an explicit directive", async () => {
    const clock = new ManualClock();
    const c = client({
      cache: { store: new MemoryCacheStore({ clock }), ttl: 3_600 },
      clock,
    });
    await c.get("/plain", { cache: { ttl: 1 } });
    clock.advance(2_000);
    await c.get("/plain");
    assert.equal(
      origin.calls("/plain"),
      2,
      "the request's 1 s, not the client's hour",
    );
    await c.get("/explicit", { cache: { ttl: 60 } });
    await c.get("/explicit", { cache: { ttl: 60 } });
    assert.equal(origin.calls("/explicit"), 2, "no-cache still revalidates");
  });

  it("caches successes of an API without caching headers for an hour with freshWithoutHeaders, and not its errors", async () => {
    const clock = new ManualClock();
    const c = client({
      cache: {
        store: new MemoryCacheStore({ clock }),
        ...freshWithoutHeaders(),
      },
      clock,
    });
    await c.get("/plain");
    clock.advance(59 * 60_000);
    assert.deepEqual(await c.get("/plain"), { n: 1 });
    clock.advance(2 * 60_000);
    assert.deepEqual(await c.get("/plain"), { n: 2 });
    await assert.rejects(c.get("/gone"), HttpError);
    await assert.rejects(c.get("/gone"), HttpError);
    assert.equal(origin.calls("/gone"), 2, "a 404 is not kept for the hour");
  });

  it("refuses bad overrides with a ConfigError naming them", async () => {
    const c = client();
    await assert.rejects(
      () => c.get("/plain", { retry: "twice" as unknown as false }),
      (e) => e instanceof ConfigError && e.option === "retry",
    );
    await assert.rejects(
      () => c.get("/plain", { retry: { attempts: -1 } }),
      (e) => e instanceof ConfigError && e.option === "retry.attempts",
    );
    await assert.rejects(
      () => c.get("/plain", { retry: { atempts: 1 } as never }),
      (e) => e instanceof ConfigError && /attempts/.test(e.message),
    );
    await assert.rejects(
      () => c.get("/plain", { cache: { ttl: -5 } }),
      (e) => e instanceof ConfigError && e.option === "cache.ttl",
    );
    assert.throws(
      () =>
        new HttpClient({
          name: "x",
          cache: { store: new MemoryCacheStore(), ttlStatuses: [99] },
        }),
      (e) => e instanceof ConfigError && e.option === "cache.ttlStatuses",
    );
    assert.throws(() => freshWithoutHeaders(-1), RangeError);
  });
});

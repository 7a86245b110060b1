import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DedupeStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  type RateLimitStore,
  StoreError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, SteppedClock } from "./_helpers.ts";

// A promise that never settles: a store whose backend stopped answering.
const never = (): Promise<never> => new Promise<never>(() => {});

/** A store like `base` whose methods in `hung` never answer. */
function hang<T extends object>(base: T, hung: string[]): T {
  return new Proxy(base, {
    get(target, name) {
      if (typeof name === "string" && hung.includes(name)) return never;
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("HttpClient with a store that stops answering", () => {
  let origin: Origin;
  let log: EventLog;
  // Store deadlines run on the client's clock: the tests move it.
  let clock: SteppedClock;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions>): HttpClient => {
    const c = new HttpClient({
      name: "hung",
      baseUrl: origin.url,
      onEvent: log.listener,
      retry: false,
      clock,
      storeTimeoutMs: 50,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
    origin.route("/data", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60" },
    }));
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

  it("goes to the origin once a cache get outlasts storeTimeoutMs, reporting it", async () => {
    const store = hang(new MemoryCacheStore({ clock }), ["get"]);
    const c = client({ cache: { store } });
    assert.deepEqual(await drive(clock, c.get("/data")), { n: 1 });
    const errors = log.of("error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.stage, "cache");
    assert.equal(errors[0]!.failedOpen, true);
    assert.ok(errors[0]!.error instanceof StoreError);
    assert.equal((errors[0]!.error as StoreError).operation, "get");
  });

  it("rejects with the caller's reason, or its total deadline, while a cache get hangs", async () => {
    const store = hang(new MemoryCacheStore({ clock }), ["get"]);
    const c = client({ cache: { store }, storeTimeoutMs: 60_000 });
    const reason = new Error("caller left");
    const controller = new AbortController();
    const pending = c.get("/data", { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    await assert.rejects(pending, (error) => error === reason);
    const timedOut = assert.rejects(
      c.get("/data", { timeout: 30 }),
      (error: unknown) => (error as { phase?: string }).phase === "total",
    );
    await clock.advanceAsync(30);
    await timedOut;
    assert.equal(origin.calls("/data"), 0);
  });

  it("answers every caller when the cache store never finishes writing", async () => {
    const store = hang(new MemoryCacheStore({ clock }), ["set"]);
    const c = client({ cache: { store } });
    const results = await drive(
      clock,
      Promise.all(Array.from({ length: 5 }, () => c.get("/data"))),
    );
    assert.deepEqual(results, Array(5).fill({ n: 1 }));
    assert.equal(origin.calls("/data"), 1);
    assert.equal(log.of("error")[0]?.stage, "cache");
  });

  it("fails open when a dedupe store never answers registerOrJoin", async () => {
    const store = hang(new MemoryDedupeStore(), [
      "registerOrJoin",
    ]) as DedupeStore;
    const c = client({ dedupe: { store } });
    assert.deepEqual(await drive(clock, c.get("/data")), { n: 1 });
    const errors = log.of("error");
    assert.equal(errors[0]?.stage, "dedupe");
    assert.equal(errors[0]?.failedOpen, true);
  });

  it("fails open, or closed when asked, on a rate-limit store that never answers", async () => {
    const store = hang(new MemoryRateLimitStore(), [
      "admit",
      "acquire",
      "getCooldown",
    ]) as RateLimitStore;
    const open = client({ rateLimit: { store } });
    assert.deepEqual(await drive(clock, open.get("/data")), { n: 1 });
    const errors = log.of("error");
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.stage === "ratelimit" && e.failedOpen));

    const closed = client({ rateLimit: { store, failOpen: false } });
    await assert.rejects(
      drive(clock, closed.get("/data")),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.operation, "admit");
        return true;
      },
    );
    assert.equal(origin.calls("/data"), 1);
  });

  it("rejects with the caller's reason while a rate-limit store hangs", async () => {
    const store = hang(new MemoryRateLimitStore(), [
      "admit",
      "acquire",
      "getCooldown",
    ]) as RateLimitStore;
    const c = client({ rateLimit: { store }, storeTimeoutMs: 60_000 });
    const reason = new Error("caller left");
    const controller = new AbortController();
    const pending = c.get("/data", { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    await assert.rejects(pending, (error) => error === reason);
    assert.equal(origin.calls("/data"), 0);
  });

  it("closes promptly while a background revalidation waits on a hung store", async () => {
    origin.route("/swr", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
    }));
    const cache = new MemoryCacheStore({ clock });
    const options = {
      name: "hung-close",
      baseUrl: origin.url,
      cache: { store: cache },
      clock,
      retry: false as const,
      storeTimeoutMs: 60_000,
    };
    const filler = new HttpClient(options);
    await filler.get("/swr");
    await filler.close();
    clock.advance(5_000);
    const dedupe = hang(new MemoryDedupeStore(), [
      "registerOrJoin",
    ]) as DedupeStore;
    const c = new HttpClient({ ...options, dedupe: { store: dedupe } });
    // Served stale at once; the revalidation hangs on the dedupe store.
    assert.deepEqual(await c.get("/swr"), { n: 1 });
    const started = performance.now();
    await c.close();
    assert.ok(performance.now() - started < 1_000, "close() did not wait");
    assert.equal(origin.calls("/swr"), 1);
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DedupeStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { delay, EventLog, until } from "./_helpers.ts";

describe("HttpClient de-duplication", () => {
  let origin: Origin;
  let log: EventLog;
  const clients: HttpClient[] = [];
  const stores: { close(): Promise<void> }[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "dedupe",
      baseUrl: origin.url,
      onEvent: log.listener,
      retry: false,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const s of stores) await s.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    log = new EventLog();
  });

  it("makes one origin call for 500 concurrent identical GETs", async () => {
    origin.route("/popular", {
      body: { hits: 1 },
      headers: { "cache-control": "max-age=60" },
      delayMs: 20,
    });
    const c = client({ cache: { store: new MemoryCacheStore() } });
    const results = await Promise.all(
      Array.from({ length: 500 }, () => c.get<{ hits: number }>("/popular")),
    );
    assert.equal(origin.calls("/popular"), 1);
    assert.ok(results.every((r) => r.hits === 1));
    results[0]!.hits = 99;
    assert.equal(results[1]!.hits, 1);
    assert.equal(log.of("dedupe.owner").length, 1);
    assert.equal(log.of("dedupe.joined").length, 499);
  });

  it("de-duplicates without a cache, and each caller gets its own Response", async () => {
    origin.route("/plain", { body: "shared", delayMs: 20 });
    const c = client();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => c.fetch("/plain")),
    );
    const texts = await Promise.all(responses.map((r) => r.text()));
    assert.ok(texts.every((t) => t === "shared"));
    assert.equal(origin.calls("/plain"), 1);
  });

  it("hands the owner's failure to every in-process joiner", async () => {
    origin.route("/broken", { destroy: true, delayMs: 20 });
    const c = client();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => c.get("/broken")),
    );
    assert.equal(origin.calls("/broken"), 1);
    for (const result of results) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof TypeError);
    }
  });

  it("lets one joiner abort without cancelling the flight for the others", async () => {
    origin.route("/slow", { body: "done", delayMs: 80 });
    const c = client();
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const owner = c.get("/slow", { signal: controller.signal });
    const others = [c.get("/slow"), c.get("/slow")];
    await delay(20);
    controller.abort(reason);
    await assert.rejects(owner, (error) => error === reason);
    assert.deepEqual(await Promise.all(others), ["done", "done"]);
    assert.equal(origin.calls("/slow"), 1);
  });

  it("applies a joiner's own deadline while it waits, without failing the flight", async () => {
    origin.route("/long", { body: "done", delayMs: 150 });
    const c = client();
    const owner = c.get("/long", { timeout: 40 });
    const joiner = c.get("/long");
    const impatient = c.get("/long", { timeout: 40 });
    for (const early of [owner, impatient]) {
      await assert.rejects(early, (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.phase, "total");
        return true;
      });
    }
    assert.equal(await joiner, "done");
    assert.equal(origin.calls("/long"), 1);
  });

  it("abandons the flight when every waiter has gone", async () => {
    origin.route("/abandoned", { body: "late", delayMs: 300 });
    const c = client();
    const a = new AbortController();
    const b = new AbortController();
    const first = c.get("/abandoned", { signal: a.signal });
    const second = c.get("/abandoned", { signal: b.signal });
    await until(() => origin.calls("/abandoned") === 1);
    a.abort();
    b.abort();
    await assert.rejects(first, { name: "AbortError" });
    await assert.rejects(second, { name: "AbortError" });
    // A new request starts a new flight instead of joining the dead one.
    origin.route("/abandoned", { body: "fresh" });
    assert.equal(await c.get("/abandoned"), "fresh");
    assert.equal(origin.calls("/abandoned"), 2);
  });

  it("never shares a flight between two credentials", async () => {
    origin.route("/whoami", (req) => ({
      body: { user: req.headers.cookie ?? "none" },
      delayMs: 20,
    }));
    const c = client();
    const [a, b, none] = await Promise.all([
      c.get("/whoami", { headers: { cookie: "session=a" } }),
      c.get("/whoami", { headers: { cookie: "session=b" } }),
      c.get("/whoami"),
    ]);
    assert.deepEqual(a, { user: "session=a" });
    assert.deepEqual(b, { user: "session=b" });
    assert.deepEqual(none, { user: "none" });
    assert.equal(origin.calls("/whoami"), 3);
  });

  it("shares one origin call between clients in different processes through a dedupe store", async () => {
    origin.route("/distributed", { body: { v: 1 }, delayMs: 40 });
    const shared = new MemoryDedupeStore();
    stores.push(shared);
    // Two clients stand for two processes: they share only the store.
    const a = client({ dedupe: { store: shared } });
    const b = client({ dedupe: { store: shared } });
    const results = await Promise.all([
      a.get("/distributed"),
      b.get("/distributed"),
      a.get("/distributed"),
      b.get("/distributed"),
    ]);
    assert.ok(results.every((r) => (r as { v: number }).v === 1));
    assert.equal(origin.calls("/distributed"), 1);
    assert.equal(
      log.of("dedupe.joined").filter((e) => e.scope === "distributed").length,
      1,
    );
  });

  it("elects exactly one new owner when a distributed owner fails", async () => {
    origin.route(
      "/flaky",
      (req) =>
        req.n === 1
          ? { destroy: true, delayMs: 40 }
          : { body: { attempt: req.n }, delayMs: 40 },
    );
    const shared = new MemoryDedupeStore();
    stores.push(shared);
    const processes = Array.from(
      { length: 5 },
      () => client({ dedupe: { store: shared } }),
    );
    const results = await Promise.allSettled(
      processes.map((p) => p.get("/flaky")),
    );
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    assert.equal(results.filter((r) => r.status === "rejected").length, 1);
    assert.equal(fulfilled.length, 4);
    for (const r of fulfilled) {
      assert.deepEqual((r as PromiseFulfilledResult<unknown>).value, {
        attempt: 2,
      });
    }
    assert.equal(origin.calls("/flaky"), 2);
  });

  it("fails open when the dedupe store is down", async () => {
    origin.route("/storeless", { body: "ok" });
    const down: DedupeStore = {
      register: () => Promise.reject(new Error("down")),
      registerOrJoin: () => Promise.reject(new Error("down")),
      waitFor: () => Promise.reject(new Error("down")),
      complete: () => Promise.reject(new Error("down")),
      fail: () => Promise.reject(new Error("down")),
      isInProgress: () => Promise.reject(new Error("down")),
      close: () => Promise.resolve(),
    };
    const c = client({ dedupe: { store: down } });
    assert.equal(await c.get("/storeless"), "ok");
    const errors = log.of("error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.stage, "dedupe");
    assert.equal(errors[0]!.failedOpen, true);
  });
});

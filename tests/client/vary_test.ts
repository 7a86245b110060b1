import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, MemoryCacheStore } from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("HttpClient and Vary", () => {
  let origin: Origin;
  let client: HttpClient;
  let log: EventLog;

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    await client.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    const clock = new ManualClock(Date.now());
    log = new EventLog();
    client = new HttpClient({
      name: "vary",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
    });
  });

  it("keeps one cached variant per value of the varied header", async () => {
    origin.route("/greeting", (req) => ({
      body: req.headers["accept-language"] === "fr" ? "bonjour" : "hello",
      headers: {
        "cache-control": "max-age=60",
        vary: "Accept-Language",
        "content-type": "text/plain",
      },
    }));
    const fr = { "accept-language": "fr" };
    const en = { "accept-language": "en" };
    assert.equal(await client.get("/greeting", { headers: fr }), "bonjour");
    assert.equal(await client.get("/greeting", { headers: en }), "hello");
    assert.equal(await client.get("/greeting", { headers: fr }), "bonjour");
    assert.equal(await client.get("/greeting", { headers: en }), "hello");
    assert.equal(
      await client.get("/greeting", { headers: { "accept-language": "FR" } }),
      "bonjour",
    );
    assert.equal(origin.calls("/greeting"), 2);
    assert.equal(log.of("cache.hit").length, 3);
  });

  it("never serves a Vary: * response from the cache", async () => {
    origin.route("/star", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60", vary: "*" },
    }));
    assert.deepEqual(await client.get("/star"), { n: 1 });
    assert.deepEqual(await client.get("/star"), { n: 2 });
    assert.deepEqual(await client.get("/star"), { n: 3 });
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal(log.of("cache.hit").length, 0);
  });

  it("does not hand a concurrent caller a response that varies on a header it sent differently", async () => {
    origin.route("/lang", (req) => ({
      body: { lang: req.headers["accept-language"] ?? "none" },
      headers: { "cache-control": "no-store", vary: "accept-language" },
      delayMs: 30,
    }));
    const [a, b, c] = await Promise.all([
      client.get("/lang", { headers: { "accept-language": "de" } }),
      client.get("/lang", { headers: { "accept-language": "it" } }),
      client.get("/lang", { headers: { "accept-language": "de" } }),
    ]);
    assert.deepEqual(a, { lang: "de" });
    assert.deepEqual(b, { lang: "it" });
    assert.deepEqual(c, { lang: "de" });
    assert.equal(origin.calls("/lang"), 2);
  });
});

describe("HttpClient and a Vary naming something that is not a field name", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];
  const invalid = ["foo bar", "a=b", "é", "Accept, x y"];

  before(async () => {
    origin = await startOrigin();
    invalid.forEach((vary, i) => {
      origin.route(`/odd/${i}`, (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "max-age=60", vary },
      }));
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });

  function client(cached: boolean): { client: HttpClient; log: EventLog } {
    const clock = new ManualClock(Date.now());
    const log = new EventLog();
    const c = new HttpClient({
      name: "odd-vary",
      baseUrl: origin.url,
      ...(cached ? { cache: { store: new MemoryCacheStore({ clock }) } } : {}),
      clock,
      onEvent: log.listener,
    });
    clients.push(c);
    return { client: c, log };
  }

  it("answers every GET and HEAD without a cache", async () => {
    const { client: c } = client(false);
    for (const [i, vary] of invalid.entries()) {
      const response = await c.fetch(`/odd/${i}`);
      assert.equal(response.status, 200, vary);
      assert.equal(response.headers.get("vary"), vary);
      assert.ok(typeof (await response.json()).n === "number", vary);
      assert.ok(
        typeof (await c.get<{ n: number }>(`/odd/${i}`)).n === "number",
      );
      assert.equal((await c.head(`/odd/${i}`)).get("vary"), vary);
    }
  });

  it("treats it as Vary: *, never serving the response from the cache", async () => {
    origin.resetCounts();
    const { client: c, log } = client(true);
    for (const [i, vary] of invalid.entries()) {
      assert.deepEqual(await c.get(`/odd/${i}`), { n: 1 }, vary);
      assert.deepEqual(await c.get(`/odd/${i}`), { n: 2 }, vary);
      assert.equal((await c.fetch(`/odd/${i}`)).status, 200, vary);
      assert.equal((await c.head(`/odd/${i}`)).get("vary"), vary);
      assert.equal(origin.calls(`/odd/${i}`), 4, vary);
    }
    assert.equal(log.of("cache.hit").length, 0);
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal(log.of("error").length, 0);
  });

  it("does not let concurrent callers share such a response as a flight", async () => {
    origin.resetCounts();
    origin.route("/odd/slow", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60", vary: "foo bar" },
      delayMs: 30,
    }));
    const { client: c } = client(true);
    const results = await Promise.all([c.get("/odd/slow"), c.get("/odd/slow")]);
    assert.equal(results.length, 2);
    assert.equal(origin.calls("/odd/slow"), 2);
  });
});

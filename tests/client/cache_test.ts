import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  type CacheStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog, until } from "./_helpers.ts";

describe("HttpClient cache", () => {
  let origin: Origin;
  let clock: ManualClock;
  let store: MemoryCacheStore;
  let log: EventLog;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "cache",
      baseUrl: origin.url,
      cache: { store },
      clock,
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
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new ManualClock(Date.now());
    store = new MemoryCacheStore({ clock });
    log = new EventLog();
  });

  it("serves a fresh response from the cache without calling the origin again", async () => {
    origin.route("/fresh", {
      body: { n: 1 },
      headers: { "cache-control": "max-age=60" },
    });
    const c = client();
    assert.deepEqual(await c.get("/fresh"), { n: 1 });
    clock.advance(59_000);
    assert.deepEqual(await c.get("/fresh"), { n: 1 });
    const response = await c.fetch("/fresh");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("age"), "59");
    assert.deepEqual(await response.json(), { n: 1 });
    assert.equal(origin.calls("/fresh"), 1);
    assert.equal(log.of("cache.hit").length, 2);
    assert.deepEqual(
      log.of("response").map((e) => e.source),
      ["network", "cache", "cache"],
    );
  });

  it("serves a cached response byte for byte, with the same fields, whatever its body", async () => {
    const bodies: [string, string | Uint8Array, Record<string, string>][] = [
      ["/bytes/json", '{"id":1,"name":"x"}', {
        "content-type": "application/json",
      }],
      ["/bytes/untyped", "plain text", {}],
      ["/bytes/binary", new Uint8Array([0, 0xff, 0x7b, 0xfe]), {
        "content-type": "application/octet-stream",
      }],
      ["/bytes/utf8", "caf\u00e9 \u{1f600}", {
        "content-type": "text/plain; charset=utf-8",
      }],
      ["/bytes/bom", "\ufeff[1,2]", { "content-type": "application/json" }],
    ];
    const c = client();
    for (const [path, body, headers] of bodies) {
      origin.route(path, {
        body,
        headers: { "cache-control": "max-age=60", ...headers },
      });
      const fieldsOf = (r: Response): [string, string][] =>
        [...r.headers].filter(([name]) =>
          !["age", "connection", "date", "keep-alive", "transfer-encoding"]
            .includes(name)
        );
      const miss = await c.fetch(path);
      const missFields = fieldsOf(miss);
      const missBytes = new Uint8Array(await miss.arrayBuffer());
      const hit = await c.fetch(path);
      assert.deepEqual(fieldsOf(hit), missFields, path);
      assert.deepEqual(new Uint8Array(await hit.arrayBuffer()), missBytes);
      assert.deepEqual(await c.get(path), await c.get(path));
      assert.equal(origin.calls(path), 1, path);
    }
    assert.deepEqual(
      log.of("cache.stored").map((e) => e.bytes),
      [19, 10, 4, 10, 8],
    );
    assert.deepEqual(await c.get("/bytes/bom"), [1, 2]);
  });

  it("gives every caller its own copy of cached data and its own readable body", async () => {
    origin.route("/copy", {
      body: { list: [1, 2], nested: { a: "b" } },
      headers: { "cache-control": "max-age=60" },
    });
    const c = client();
    const first = await c.get<{ list: number[]; nested: { a: string } }>(
      "/copy",
    );
    first.list.push(3);
    first.nested.a = "changed";
    const second = await c.get<{ list: number[]; nested: { a: string } }>(
      "/copy",
    );
    second.list.push(4);
    const third = await c.get("/copy");
    assert.deepEqual(third, { list: [1, 2], nested: { a: "b" } });
    const [r1, r2] = await Promise.all([c.fetch("/copy"), c.fetch("/copy")]);
    assert.equal(await r1.text(), await r2.text());
    assert.equal(origin.calls("/copy"), 1);
  });

  it("goes back to the origin once the entry is stale", async () => {
    origin.route("/expire", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=10" },
    }));
    const c = client();
    assert.deepEqual(await c.get("/expire"), { n: 1 });
    clock.advance(11_000);
    assert.deepEqual(await c.get("/expire"), { n: 2 });
    assert.deepEqual(await c.get("/expire"), { n: 2 });
    assert.equal(origin.calls("/expire"), 2);
  });

  it("serves stale within stale-while-revalidate and revalidates once in the background", async () => {
    origin.route("/swr", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
      delayMs: req.n > 1 ? 30 : 0,
    }));
    const c = client();
    assert.deepEqual(await c.get("/swr"), { n: 1 });
    clock.advance(5_000);
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => c.get("/swr")),
    );
    assert.ok(stale.every((d) => (d as { n: number }).n === 1));
    assert.equal(log.of("cache.stale")[0]?.action, "serve-and-revalidate");
    await until(() => log.of("cache.revalidated").length === 1);
    assert.equal(origin.calls("/swr"), 2);
    assert.equal(log.of("cache.revalidated")[0]?.background, true);
    assert.deepEqual(await c.get("/swr"), { n: 2 });
    assert.equal(origin.calls("/swr"), 2);
  });

  it("revalidates a stale entry with If-None-Match and serves the stored body on 304", async () => {
    origin.route("/etag", {
      body: { v: "one" },
      headers: { "cache-control": "max-age=5", etag: '"v1"' },
      conditional: true,
    });
    const c = client();
    assert.deepEqual(await c.get("/etag"), { v: "one" });
    clock.advance(6_000);
    const response = await c.fetch("/etag");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { v: "one" });
    const requests = origin.requests("/etag");
    assert.equal(requests.length, 2);
    assert.equal(requests[1]!.headers["if-none-match"], '"v1"');
    assert.equal(log.of("cache.revalidated")[0]?.status, 304);
    // The 304 refreshed the entry: fresh again for max-age.
    clock.advance(4_000);
    assert.deepEqual(await c.get("/etag"), { v: "one" });
    assert.equal(origin.calls("/etag"), 2);
  });

  it("serves a stale entry when the origin fails within stale-if-error", async () => {
    let fail = false;
    origin.route("/sie", () =>
      fail ? { status: 503, body: "down" } : {
        body: { ok: true },
        headers: { "cache-control": "max-age=1, stale-if-error=300" },
      });
    const c = client();
    await c.get("/sie");
    clock.advance(10_000);
    fail = true;
    const response = await c.fetch("/sie");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal(log.of("cache.stale").at(-1)?.action, "serve-on-error");

    origin.route("/sie", { destroy: true });
    assert.deepEqual(await c.get("/sie"), { ok: true });
    clock.advance(400_000);
    await assert.rejects(c.get("/sie"), TypeError);
  });

  it("answers only-if-cached with 504 on a miss and without calling the origin", async () => {
    origin.route("/oic", {
      body: "x",
      headers: { "cache-control": "max-age=60", etag: '"x"' },
    });
    const c = client();
    const miss = await c.fetch("/oic", { cache: "only-if-cached" });
    assert.equal(miss.status, 504);
    const header = await c.fetch("/oic", {
      headers: { "cache-control": "only-if-cached" },
    });
    assert.equal(header.status, 504);
    assert.equal(origin.calls("/oic"), 0);
    await c.get("/oic");
    const hit = await c.fetch("/oic", { cache: "only-if-cached" });
    assert.equal(hit.status, 200);
    assert.equal(await hit.text(), "x");
    clock.advance(120_000);
    const stale = await c.fetch("/oic", {
      headers: { "cache-control": "only-if-cached" },
    });
    assert.equal(stale.status, 504);
    const staleAccepted = await c.fetch("/oic", {
      headers: { "cache-control": "only-if-cached, max-stale=3600" },
    });
    assert.equal(staleAccepted.status, 200);
    assert.equal(origin.calls("/oic"), 1);
  });

  it("honours the cache modes no-store, reload, no-cache and force-cache", async () => {
    origin.route("/modes", (req) => ({
      body: String(req.n),
      headers: { "cache-control": "max-age=5", etag: `"${req.n}"` },
    }));
    const c = client();
    assert.equal(await c.get("/modes", { cache: "no-store" }), "1");
    assert.equal(await c.get("/modes"), "2");
    assert.equal(await c.get("/modes"), "2");
    assert.equal(await c.get("/modes", { cache: "reload" }), "3");
    assert.equal(await c.get("/modes"), "3");
    assert.equal(await c.get("/modes", { cache: "no-cache" }), "4");
    assert.equal(origin.requests("/modes")[3]!.headers["if-none-match"], '"3"');
    clock.advance(3_600_000);
    assert.equal(await c.get("/modes", { cache: "force-cache" }), "4");
    assert.equal(
      await c.get("/modes", { cache: { maxStale: 7_200 } }),
      "4",
    );
    assert.equal(origin.calls("/modes"), 4);
  });

  it("sends the cache mode's directives to the origin as fetch does, leaving the caller's own and the cache key alone", async () => {
    // Varying on the very fields a mode adds: a reloaded entry still serves
    // a plain request, as its caller sent neither.
    origin.route("/wire", (req) => ({
      body: String(req.n),
      headers: { "cache-control": "max-age=60", vary: "cache-control, pragma" },
    }));
    origin.route("/plain", { body: "x" });
    const c = client();
    const sent = (path: string, n: number): (string | undefined)[] => {
      const { headers } = origin.requests(path)[n]!;
      return [headers["cache-control"], headers["pragma"]];
    };
    assert.equal(await c.get("/wire", { cache: "reload" }), "1");
    assert.deepEqual(sent("/wire", 0), ["no-cache", "no-cache"]);
    assert.equal(await c.get("/wire"), "1");
    assert.equal(origin.calls("/wire"), 1);
    assert.equal(await c.get("/wire", { cache: "no-cache" }), "2");
    assert.deepEqual(sent("/wire", 1), ["max-age=0", undefined]);
    assert.equal(await c.get("/wire", { cache: "no-store" }), "3");
    assert.deepEqual(sent("/wire", 2), ["no-cache", "no-cache"]);
    assert.equal(await c.get("/wire"), "2");
    assert.equal(origin.calls("/wire"), 3);

    await c.get("/plain");
    await c.get("/plain", { cache: "force-cache" });
    await c.get("/plain", { cache: { mode: "default", maxAge: 5 } });
    assert.equal(
      (await c.fetch("/plain", { cache: "only-if-cached" })).status,
      504,
    );
    await c.get("/plain", {
      cache: "reload",
      headers: { "cache-control": "max-age=5" },
    });
    await c.get("/plain", {
      cache: "no-cache",
      headers: { "cache-control": "no-transform", pragma: "no-cache" },
    });
    await c.fetch("/plain", { method: "POST", cache: "no-store" });
    await c.get("/plain", { cache: { mode: "no-cache", maxStale: 5 } });
    assert.deepEqual(
      origin.requests("/plain").map((_, n) => sent("/plain", n)),
      [
        [undefined, undefined],
        [undefined, undefined],
        [undefined, undefined],
        ["max-age=5", "no-cache"],
        ["no-transform", "no-cache"],
        ["no-cache", "no-cache"],
        ["max-age=0", undefined],
      ],
    );

    const withDefaults = client({
      headers: { "cache-control": "no-transform" },
    });
    await withDefaults.get("/plain", { cache: "reload" });
    assert.deepEqual(sent("/plain", 7), ["no-transform", "no-cache"]);
  });

  it("serves an entry without a validator to a request's max-stale after it goes stale, within cache.staleStorageMs", async () => {
    origin.route("/unvalidated", (req) => ({
      body: String(req.n),
      headers: { "cache-control": "max-age=1", "content-type": "text/plain" },
    }));
    const c = client();
    assert.equal(await c.get("/unvalidated"), "1");
    clock.advance(30_000);
    assert.equal(
      await c.get("/unvalidated", {
        headers: { "cache-control": "max-stale=60" },
      }),
      "1",
    );
    assert.equal(
      await c.get("/unvalidated", { cache: { maxStale: 60 } }),
      "1",
    );
    const any = await c.fetch("/unvalidated", {
      headers: { "cache-control": "max-stale" },
    });
    assert.equal(await any.text(), "1");
    assert.equal(any.headers.get("age"), "30");
    assert.equal(origin.calls("/unvalidated"), 1);
    assert.equal(log.of("cache.hit").length, 3);
    // Never staler than the request allows.
    assert.equal(
      await c.get("/unvalidated", { cache: { maxStale: 10 } }),
      "2",
    );
    clock.advance(2_000);
    assert.equal(await c.get("/unvalidated"), "3");
    assert.equal(origin.calls("/unvalidated"), 3);
    // An unbounded max-stale is served entries kept for staleStorageMs
    // (1 hour by default), no longer.
    clock.advance(3_600_000);
    assert.equal(
      await c.get("/unvalidated", { cache: { maxStale: 7_200 } }),
      "3",
    );
    clock.advance(2_000);
    assert.equal(
      await c.get("/unvalidated", {
        headers: { "cache-control": "max-stale" },
      }),
      "4",
    );
    assert.equal(origin.calls("/unvalidated"), 4);

    const short = client({ cache: { store, staleStorageMs: 10_000 } });
    origin.route("/short", (req) => ({
      body: String(req.n),
      headers: { "cache-control": "max-age=1", "content-type": "text/plain" },
    }));
    assert.equal(await short.get("/short"), "1");
    clock.advance(10_000);
    assert.equal(await short.get("/short", { cache: { maxStale: 60 } }), "1");
    clock.advance(2_000);
    assert.equal(await short.get("/short", { cache: { maxStale: 60 } }), "2");
  });

  it("invalidates the target and a same-origin Location after an unsafe method", async () => {
    origin.route("/items", (req) =>
      req.method === "POST"
        ? {
          status: 201,
          headers: { location: "/items/7" },
          body: { id: 7 },
        }
        : { body: { n: req.n }, headers: { "cache-control": "max-age=60" } });
    origin.route("/items/7", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60" },
    }));
    const c = client();
    await c.get("/items");
    await c.get("/items/7");
    assert.deepEqual(await c.post("/items", { name: "x" }), { id: 7 });
    assert.equal(origin.requests("/items")[1]!.body, '{"name":"x"}');
    await c.get("/items");
    await c.get("/items/7");
    assert.equal(origin.calls("/items"), 3);
    assert.equal(origin.calls("/items/7"), 2);
  });

  it("never stores a redirect's target under the URL that redirected", async () => {
    let target = "/v1";
    origin.route("/latest", () => ({
      status: 302,
      headers: { location: target },
    }));
    for (const version of ["/v1", "/v2"]) {
      origin.route(version, {
        body: version,
        headers: { "cache-control": "max-age=3600", etag: `"${version}"` },
      });
    }
    const c = client();
    const first = await c.fetch("/latest");
    assert.equal(first.url, `${origin.url}/v1`);
    assert.equal(await first.text(), "/v1");
    target = "/v2";
    assert.equal(await c.get("/latest"), "/v2");
    assert.equal(origin.calls("/latest"), 2);
    assert.equal(log.of("cache.stored").length, 0);

    // A stored page that starts redirecting: a 304 from the new target is
    // not about the stored body.
    let moved = false;
    origin.route(
      "/page",
      () =>
        moved ? { status: 301, headers: { location: "/moved" } } : {
          body: "old page",
          headers: { "cache-control": "max-age=1", etag: '"same"' },
        },
    );
    origin.route("/moved", {
      body: "new page",
      headers: { etag: '"same"' },
      conditional: true,
    });
    assert.equal(await c.get("/page"), "old page");
    clock.advance(2_000);
    moved = true;
    assert.equal(await c.get("/page"), "new page");
  });

  it("caches HEAD apart from GET, never answering one with the other", async () => {
    origin.route("/doc", (req) => ({
      body: "document body",
      headers: {
        "cache-control": "max-age=60",
        "x-method": req.method,
        "x-n": String(req.n),
      },
    }));
    const c = client();
    assert.equal(await c.get("/doc"), "document body");
    const head = await c.fetch("/doc", { method: "HEAD" });
    assert.equal(head.headers.get("x-method"), "HEAD");
    assert.equal(head.body, null);
    assert.equal((await c.head("/doc")).get("x-n"), "2");
    const get = await c.fetch("/doc");
    assert.equal(get.headers.get("x-method"), "GET");
    assert.equal(await get.text(), "document body");
    assert.equal(origin.calls("/doc"), 2);
  });

  it("streams a body larger than maxBodyBytes to fetch() and never stores it; get() refuses it", async () => {
    const big = "x".repeat(50_000);
    origin.route("/big", {
      chunks: [big.slice(0, 10_000), big.slice(10_000)],
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
    });
    const c = client({ maxBodyBytes: 1_024 });
    await assert.rejects(c.get<string>("/big"), BodyTooLargeError);
    const response = await c.fetch("/big");
    assert.equal((await response.text()).length, 50_000);
    assert.equal(origin.calls("/big"), 2);
    assert.deepEqual(
      log.of("cache.skipped").map((e) => e.reason),
      ["too-large", "too-large"],
    );
    assert.equal(log.of("cache.stored").length, 0);
  });

  it("reports a value the store refused as cache.skipped, never as cache.stored", async () => {
    origin.route("/refused", (req) => ({
      body: `${req.n}`.repeat(4_000),
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
    }));
    store = new MemoryCacheStore({ clock, maxBytes: 2_000 });
    const c = client();
    assert.equal((await c.get<string>("/refused")).length, 4_000);
    assert.equal(log.of("cache.stored").length, 0);
    const [skipped] = log.of("cache.skipped");
    assert.equal(skipped?.reason, "store-refused");
    assert.equal(skipped?.key, log.of("cache.miss")[0]?.key);
    assert.equal(store.size, 0);
    await c.get("/refused");
    assert.equal(origin.calls("/refused"), 2);
  });

  it("writes no Vary index for a variant the store refused, and reports an index it refused", async () => {
    origin.route("/refused-variant", (req) => ({
      body: `${req.n}`.repeat(4_000),
      headers: {
        "cache-control": "max-age=60",
        "content-type": "text/plain",
        vary: "accept-language",
      },
    }));
    store = new MemoryCacheStore({ clock, maxBytes: 2_000 });
    const c = client();
    const init = { headers: { "accept-language": "en" } };
    await c.get("/refused-variant", init);
    assert.equal(
      store.size,
      0,
      "no index points at a variant that is not there",
    );
    assert.deepEqual(log.of("cache.skipped").map((e) => e.reason), [
      "store-refused",
    ]);

    // A store that keeps the variant but refuses its index.
    log.clear();
    const keeping = new MemoryCacheStore({ clock });
    const picky: CacheStore = {
      get: (key) => keeping.get(key),
      set: async (key, value, ttl) => {
        if ((value as { sluiceVary?: number }).sluiceVary === 1) return false;
        return await keeping.set(key, value, ttl);
      },
      delete: (key) => keeping.delete(key),
      clear: (prefix) => keeping.clear(prefix),
      close: () => keeping.close(),
    };
    const d = client({ cache: { store: picky } });
    await d.get("/refused-variant", init);
    assert.equal(log.of("cache.stored").length, 0);
    assert.deepEqual(log.of("cache.skipped").map((e) => e.reason), [
      "store-refused",
    ]);
    await d.get("/refused-variant", init);
    assert.equal(origin.calls("/refused-variant"), 3);
  });

  it("reports cache.stored for a store that says it kept the value", async () => {
    origin.route("/kept", {
      body: "kept",
      headers: { "cache-control": "max-age=60" },
    });
    const keeping = new MemoryCacheStore({ clock });
    const sure: CacheStore = {
      get: (key) => keeping.get(key),
      set: async (key, value, ttl) => {
        await keeping.set(key, value, ttl);
        return true;
      },
      delete: (key) => keeping.delete(key),
      clear: (prefix) => keeping.clear(prefix),
      close: () => keeping.close(),
    };
    const c = client({ cache: { store: sure } });
    assert.equal(await c.get("/kept"), "kept");
    assert.equal(log.of("cache.stored").length, 1);
    assert.equal(await c.get("/kept"), "kept");
    assert.equal(origin.calls("/kept"), 1);
  });

  it("does not store no-store responses but shares their flight with concurrent callers", async () => {
    origin.route("/nostore", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "no-store" },
      delayMs: 30,
    }));
    const c = client();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => c.get("/nostore")),
    );
    assert.ok(results.every((r) => (r as { n: number }).n === 1));
    assert.equal(origin.calls("/nostore"), 1);
    assert.deepEqual(await c.get("/nostore"), { n: 2 });
    assert.equal(origin.calls("/nostore"), 2);
  });

  it("never shares an entry between two credentials", async () => {
    origin.route("/me", (req) => ({
      body: { user: req.headers.authorization ?? "anonymous" },
      headers: { "cache-control": "private, max-age=60" },
    }));
    const c = client({ credentialHeaders: ["x-api-key"] });
    const alice = { authorization: "Bearer alice" };
    const bob = { authorization: "Bearer bob" };
    assert.deepEqual(await c.get("/me", { headers: alice }), {
      user: "Bearer alice",
    });
    assert.deepEqual(await c.get("/me", { headers: bob }), {
      user: "Bearer bob",
    });
    assert.deepEqual(await c.get("/me"), { user: "anonymous" });
    assert.deepEqual(await c.get("/me", { headers: alice }), {
      user: "Bearer alice",
    });
    await c.get("/me", { headers: { "x-api-key": "k1" } });
    await c.get("/me", { headers: { "x-api-key": "k2" } });
    assert.equal(origin.calls("/me"), 5);
    for (const event of log.events) {
      assert.ok(!JSON.stringify(event).includes("alice"));
    }
  });

  it("fails open when the cache store throws, reporting the error", async () => {
    origin.route("/down", {
      body: "ok",
      headers: { "cache-control": "max-age=60" },
    });
    const broken: CacheStore = {
      get: () => Promise.reject(new Error("get failed")),
      set: () => Promise.reject(new Error("set failed")),
      delete: () => Promise.reject(new Error("delete failed")),
      clear: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const c = client({ cache: { store: broken } });
    assert.equal(await c.get("/down"), "ok");
    assert.equal(await c.get("/down"), "ok");
    assert.equal(origin.calls("/down"), 2);
    const errors = log.of("error");
    assert.ok(errors.length >= 2);
    assert.ok(errors.every((e) => e.stage === "cache" && e.failedOpen));
  });

  it("treats a corrupt entry as a miss and deletes it", async () => {
    origin.route("/corrupt", {
      body: "fine",
      headers: { "cache-control": "max-age=60" },
    });
    const c = client();
    await c.get("/corrupt");
    const key = log.of("cache.stored")[0]!.key;
    await store.set(key, { not: "an entry" }, 60);
    assert.equal(await c.get("/corrupt"), "fine");
    assert.equal(origin.calls("/corrupt"), 2);
    assert.ok(log.of("error").some((e) => e.stage === "cache"));
    assert.equal(await c.get("/corrupt"), "fine");
    assert.equal(origin.calls("/corrupt"), 2);
  });
});

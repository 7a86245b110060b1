// Range and conditional requests through the client: they never share a
// flight with a plain GET, what they are answered is never stored as the
// full entry, and a single byte range is answered from a stored complete
// response.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DedupeStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import {
  type Origin,
  type OriginReply,
  type OriginRequest,
  startOrigin,
} from "../fixtures/origin.ts";
import { EventLog, until } from "./_helpers.ts";

const DOC = "0123456789";
const LAST_MODIFIED = "Tue, 01 Jan 2030 00:00:00 GMT";
const DATE = "Tue, 01 Jan 2030 00:10:00 GMT";

// A promise with its resolver.
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

// An origin for DOC that honours a single `bytes=a-b` range and
// `If-None-Match`, like a plain file server.
function document(
  headers: Record<string, string> = {},
  hold?: (request: OriginRequest) => Promise<void> | undefined,
): (request: OriginRequest) => Promise<OriginReply> {
  return async (request) => {
    await hold?.(request);
    const all = {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      etag: '"v1"',
      ...headers,
    };
    if (request.headers["if-none-match"] === all.etag) {
      return { status: 304, headers: all };
    }
    const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
    if (match !== null) {
      const first = Number(match[1]);
      const last = Math.min(Number(match[2]), DOC.length - 1);
      return {
        status: 206,
        headers: { ...all, "content-range": `bytes ${first}-${last}/10` },
        body: DOC.slice(first, last + 1),
      };
    }
    return { headers: all, body: DOC };
  };
}

// A view of a store with some methods replaced; the rest reach the store.
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(store, name) {
      if (Object.hasOwn(overrides, name)) {
        return overrides[name as keyof T];
      }
      const value = Reflect.get(store, name, store);
      return typeof value === "function" ? value.bind(store) : value;
    },
  });
}

describe("HttpClient with Range and conditional requests", () => {
  let origin: Origin;
  let clock: ManualClock;
  let store: MemoryCacheStore;
  let log: EventLog;
  const clients: HttpClient[] = [];
  const stores: { close(): Promise<void> }[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "range",
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

  // Starts a request once the one before it reached the origin, and
  // resolves when the new one has looked up the cache: it has then joined a
  // flight or started its own. (Wrapped: an async function would wait for
  // the request itself.)
  const second = async <T>(
    path: string,
    send: () => Promise<T>,
  ): Promise<{ pending: Promise<T> }> => {
    await until(() => origin.calls(path) === 1);
    const misses = log.of("cache.miss").length;
    const pending = send();
    await until(() => log.of("cache.miss").length > misses);
    return { pending };
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
    clock = new ManualClock(Date.now());
    store = new MemoryCacheStore({ clock });
    stores.push(store);
    log = new EventLog();
  });

  describe("in flights", () => {
    it("gives a plain GET the full 200 while a Range GET of the same URL is in flight", async () => {
      const held = gate();
      origin.route(
        "/first-range",
        document({}, (req) => req.n === 1 ? held.promise : undefined),
      );
      const c = client();
      const ranged = c.fetch("/first-range", {
        headers: { range: "bytes=0-3" },
      });
      const { pending: plain } = await second(
        "/first-range",
        () => c.fetch("/first-range"),
      );
      held.open();
      const [part, full] = await Promise.all([ranged, plain]);
      assert.equal(part.status, 206);
      assert.equal(await part.text(), "0123");
      assert.equal(full.status, 200);
      assert.equal(await full.text(), DOC);
      // What the cache kept is the full response, never the 206.
      const again = await c.fetch("/first-range");
      assert.equal(again.status, 200);
      assert.equal(await again.text(), DOC);
      assert.equal(origin.calls("/first-range"), 2);
    });

    it("gives a Range GET its 206 while a plain GET of the same URL is in flight", async () => {
      const held = gate();
      origin.route(
        "/first-plain",
        document({}, (req) => req.n === 1 ? held.promise : undefined),
      );
      const c = client();
      const plain = c.fetch("/first-plain");
      const { pending: ranged } = await second(
        "/first-plain",
        () => c.fetch("/first-plain", { headers: { range: "bytes=2-4" } }),
      );
      held.open();
      const [full, part] = await Promise.all([plain, ranged]);
      assert.equal(full.status, 200);
      assert.equal(await full.text(), DOC);
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), "bytes 2-4/10");
      assert.equal(await part.text(), "234");
    });

    it("gives a plain GET the full 200 while the caller's own If-None-Match GET is in flight", async () => {
      const held = gate();
      origin.route(
        "/first-conditional",
        document({}, (req) => req.n === 1 ? held.promise : undefined),
      );
      const c = client();
      const conditional = c.fetch("/first-conditional", {
        headers: { "if-none-match": '"v1"' },
      });
      const { pending: plain } = await second(
        "/first-conditional",
        () => c.fetch("/first-conditional"),
      );
      held.open();
      const [notModified, full] = await Promise.all([conditional, plain]);
      assert.equal(notModified.status, 304);
      assert.equal(await notModified.text(), "");
      assert.equal(full.status, 200);
      assert.equal(await full.text(), DOC);
      const again = await c.fetch("/first-conditional");
      assert.equal(again.status, 200);
      assert.equal(await again.text(), DOC);
    });

    it("gives a plain GET the full 200 while another process's Range GET owns the distributed flight", async () => {
      const held = gate();
      origin.route(
        "/distributed-range",
        document({}, (req) => req.n === 1 ? held.promise : undefined),
      );
      const shared = new MemoryDedupeStore({ clock, jobTimeoutMs: 10_000 });
      stores.push(shared);
      let registered = 0;
      const counted: DedupeStore<unknown> = overriding(shared, {
        registerOrJoin: async (key: string) => {
          const registration = await shared.registerOrJoin(key);
          registered++;
          return registration;
        },
      });
      // Two clients stand for two processes: they share only the store.
      const a = client({ dedupe: { store: shared } });
      const b = client({ dedupe: { store: counted } });
      const ranged = a.fetch("/distributed-range", {
        headers: { range: "bytes=0-3" },
      });
      await until(() => origin.calls("/distributed-range") === 1);
      const plain = b.fetch("/distributed-range");
      await until(() => registered === 1);
      held.open();
      const [part, full] = await Promise.all([ranged, plain]);
      assert.equal(part.status, 206);
      assert.equal(await part.text(), "0123");
      assert.equal(full.status, 200);
      assert.equal(await full.text(), DOC);
    });

    it("hands its 206 to another process's identical Range GET that joined its distributed flight", async () => {
      const held = gate();
      origin.route(
        "/distributed-same",
        document(
          { "cache-control": "max-age=1" },
          (req) => req.n === 2 ? held.promise : undefined,
        ),
      );
      const shared = new MemoryDedupeStore({ clock, jobTimeoutMs: 10_000 });
      stores.push(shared);
      let registered = 0;
      const counted: DedupeStore<unknown> = overriding(shared, {
        registerOrJoin: async (key: string) => {
          const registration = await shared.registerOrJoin(key);
          registered++;
          return registration;
        },
      });
      const a = client({ dedupe: { store: shared } });
      const b = client({ dedupe: { store: counted } });
      await (await a.fetch("/distributed-same")).text();
      clock.advance(2_000);
      const headers = { range: "bytes=3-4" };
      const fromA = a.fetch("/distributed-same", { headers });
      await until(() => origin.calls("/distributed-same") === 2);
      const fromB = b.fetch("/distributed-same", { headers });
      await until(() => registered === 1);
      held.open();
      for (const response of await Promise.all([fromA, fromB])) {
        assert.equal(response.status, 206);
        assert.equal(response.headers.get("content-range"), "bytes 3-4/10");
        assert.equal(await response.text(), "34");
      }
      assert.equal(origin.calls("/distributed-same"), 2);
    });

    it("shares one origin call between identical concurrent Range GETs", async () => {
      const held = gate();
      origin.route(
        "/same-range",
        document({}, (req) => req.n === 1 ? held.promise : undefined),
      );
      const c = client();
      const first = c.fetch("/same-range", { headers: { range: "bytes=1-2" } });
      const { pending: other } = await second(
        "/same-range",
        () => c.fetch("/same-range", { headers: { range: "bytes=1-2" } }),
      );
      held.open();
      const texts = await Promise.all(
        (await Promise.all([first, other])).map((r) => r.text()),
      );
      assert.deepEqual(texts, ["12", "12"]);
      assert.equal(origin.calls("/same-range"), 1);
    });
  });

  describe("what is stored", () => {
    it("never stores the caller's 412 as the entry of the URL", async () => {
      origin.route(
        "/precondition",
        (req) =>
          req.headers["if-match"] === undefined
            ? { body: DOC, headers: { "cache-control": "max-age=60" } }
            : { status: 412, headers: { "cache-control": "max-age=60" } },
      );
      const c = client();
      const failed = await c.fetch("/precondition", {
        headers: { "if-match": '"v0"' },
      });
      assert.equal(failed.status, 412);
      const plain = await c.fetch("/precondition");
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), DOC);
    });

    it("never stores a 416 answered to a Range request as the entry of the URL", async () => {
      origin.route(
        "/not-satisfiable",
        (req) =>
          req.headers.range === undefined
            ? { body: DOC, headers: { "cache-control": "max-age=60" } }
            : {
              status: 416,
              headers: {
                "cache-control": "max-age=60",
                "content-range": "bytes */10",
              },
            },
      );
      const c = client();
      const refused = await c.fetch("/not-satisfiable", {
        headers: { range: "bytes=20-30" },
      });
      assert.equal(refused.status, 416);
      const plain = await c.fetch("/not-satisfiable");
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), DOC);
    });

    it("sends the caller's If-None-Match to the origin when the entry is stale, and leaves the entry untouched by the 304", async () => {
      origin.route("/etagged", document({ "cache-control": "max-age=1" }));
      const c = client();
      assert.equal(await (await c.fetch("/etagged")).text(), DOC);
      clock.advance(5_000);
      const response = await c.fetch("/etagged", {
        headers: { "if-none-match": '"v1"' },
      });
      assert.equal(response.status, 304);
      assert.equal(origin.calls("/etagged"), 2);
      assert.equal(
        origin.requests("/etagged")[1]!.headers["if-none-match"],
        '"v1"',
      );
      // The caller's 304 neither refreshed nor replaced the entry: a plain
      // GET revalidates it and gets the stored body.
      const plain = await c.fetch("/etagged");
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), DOC);
      assert.equal(origin.calls("/etagged"), 3);
    });
  });

  it("keeps a stale entry whose revalidation the origin answers with a 206", async () => {
    origin.route(
      "/partial",
      (request) =>
        request.n === 1
          ? {
            headers: { "cache-control": "max-age=1", etag: '"v1"' },
            body: DOC,
          }
          : {
            status: 206,
            headers: { "content-range": "bytes 0-1/10" },
            body: DOC.slice(0, 2),
          },
    );
    const c = client();
    assert.equal(await (await c.fetch("/partial")).text(), DOC);
    clock.advance(5_000);
    const partial = await c.fetch("/partial");
    assert.equal(partial.status, 206);
    await partial.body?.cancel();
    assert.equal(origin.calls("/partial"), 2);
    // The complete response is still stored, stale, for a request that
    // accepts it.
    const stored = await c.fetch("/partial", { cache: "force-cache" });
    assert.equal(stored.status, 200);
    assert.equal(await stored.text(), DOC);
    assert.equal(origin.calls("/partial"), 2);
  });

  describe("answered from the cache", () => {
    it("answers bytes=a-b, bytes=a- and bytes=-n from a fresh entry with a 206", async () => {
      origin.route("/doc", document({ "last-modified": LAST_MODIFIED }));
      const c = client();
      assert.equal(await (await c.fetch("/doc")).text(), DOC);
      clock.advance(5_000);
      const cases: [string, string, string][] = [
        ["bytes=2-5", "bytes 2-5/10", "2345"],
        ["bytes=7-", "bytes 7-9/10", "789"],
        ["bytes=-3", "bytes 7-9/10", "789"],
        ["bytes=8-100", "bytes 8-9/10", "89"],
        ["bytes=-20", "bytes 0-9/10", DOC],
        ["BYTES=0-0", "bytes 0-0/10", "0"],
      ];
      for (const [range, contentRange, body] of cases) {
        const response = await c.fetch("/doc", { headers: { range } });
        assert.equal(response.status, 206, range);
        assert.equal(response.headers.get("content-range"), contentRange);
        assert.equal(
          response.headers.get("content-length"),
          String(body.length),
        );
        assert.equal(response.headers.get("content-type"), "text/plain");
        assert.equal(response.headers.get("etag"), '"v1"');
        assert.equal(response.headers.get("last-modified"), LAST_MODIFIED);
        assert.equal(response.headers.get("age"), "5");
        assert.equal(await response.text(), body);
      }
      assert.equal(origin.calls("/doc"), 1);
      assert.equal(log.of("cache.hit").length, cases.length);
      assert.deepEqual(
        log.of("response").slice(1).map((e) => [e.status, e.source]),
        cases.map(() => [206, "cache"]),
      );
    });

    it("answers a range that starts past the end with a 416 and the length", async () => {
      origin.route("/short", document());
      const c = client();
      await (await c.fetch("/short")).text();
      const response = await c.fetch("/short", {
        headers: { range: "bytes=10-" },
      });
      assert.equal(response.status, 416);
      assert.equal(response.headers.get("content-range"), "bytes */10");
      assert.equal(await response.text(), "");
      assert.equal(origin.calls("/short"), 1);
      assert.equal(log.of("cache.hit").length, 1);
    });

    it("answers a Range request whose If-Range matches the stored validator", async () => {
      origin.route(
        "/if-range",
        document({ "last-modified": LAST_MODIFIED, date: DATE }),
      );
      const c = client();
      await (await c.fetch("/if-range")).text();
      for (const ifRange of ['"v1"', LAST_MODIFIED]) {
        const response = await c.fetch("/if-range", {
          headers: { range: "bytes=0-1", "if-range": ifRange },
        });
        assert.equal(response.status, 206, ifRange);
        assert.equal(await response.text(), "01");
      }
      assert.equal(origin.calls("/if-range"), 1);
    });

    it("sends to the origin, and never stores the 206 of, a range the entry cannot answer", async () => {
      origin.route("/unanswerable", document());
      const c = client();
      await (await c.fetch("/unanswerable")).text();
      const sent: Record<string, string>[] = [
        { range: "bytes=0-1,5-6" },
        { range: "items=0-1" },
        { range: "bytes=5-2" },
        { range: "bytes=x-1" },
        { range: "bytes=0-1", "if-range": '"v0"' },
        { range: "bytes=0-1", "if-range": 'W/"v1"' },
      ];
      for (const headers of sent) {
        await (await c.fetch("/unanswerable", { headers })).text();
      }
      assert.equal(origin.calls("/unanswerable"), 1 + sent.length);
      assert.deepEqual(
        log.of("cache.miss").map((e) => e.reason),
        ["absent", ...sent.map(() => "range")],
      );
      assert.deepEqual(
        origin.requests("/unanswerable").slice(1).map((r) => r.headers.range),
        sent.map((h) => h.range),
      );
      // A 206 the origin sent (for the mismatched If-Range) replaced nothing.
      const plain = await c.fetch("/unanswerable");
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), DOC);
      assert.equal(origin.calls("/unanswerable"), 1 + sent.length);
    });

    it("sends to the origin a range of an entry whose body was content-encoded", async () => {
      const gzipped = new Uint8Array(
        await new Response(
          new Blob([DOC]).stream().pipeThrough(new CompressionStream("gzip")),
        ).arrayBuffer(),
      );
      origin.route("/encoded", (req) =>
        req.headers.range === undefined
          ? {
            body: gzipped,
            headers: {
              "cache-control": "max-age=60",
              "content-encoding": "gzip",
            },
          }
          : { status: 416, headers: { "content-range": "bytes */1" } });
      const c = client();
      assert.equal(await (await c.fetch("/encoded")).text(), DOC);
      const response = await c.fetch("/encoded", {
        headers: { range: "bytes=0-1" },
      });
      assert.equal(response.status, 416);
      assert.equal(origin.calls("/encoded"), 2);
    });

    it("revalidates a stale entry for a Range request and answers the range from the confirmed entry", async () => {
      origin.route("/stale-range", document({ "cache-control": "max-age=1" }));
      const c = client();
      await (await c.fetch("/stale-range")).text();
      clock.advance(2_000);
      const response = await c.fetch("/stale-range", {
        headers: { range: "bytes=3-4" },
      });
      assert.equal(response.status, 206);
      assert.equal(response.headers.get("content-range"), "bytes 3-4/10");
      assert.equal(await response.text(), "34");
      const revalidation = origin.requests("/stale-range")[1]!;
      assert.equal(revalidation.headers["if-none-match"], '"v1"');
      assert.deepEqual(
        log.of("response").map((e) => [e.status, e.source]),
        [[200, "network"], [206, "revalidated"]],
      );
    });

    it("serves a range of a stale-while-revalidate entry and revalidates the full entry", async () => {
      let version = "old";
      origin.route("/swr-range", () => ({
        body: `${version}-${DOC}`,
        headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
      }));
      const c = client();
      await (await c.fetch("/swr-range")).text();
      version = "new";
      clock.advance(2_000);
      const response = await c.fetch("/swr-range", {
        headers: { range: "bytes=0-2" },
      });
      assert.equal(response.status, 206);
      assert.equal(await response.text(), "old");
      await until(() => log.of("cache.stored").length === 2);
      assert.equal(origin.requests("/swr-range")[1]!.headers.range, undefined);
      assert.equal(await (await c.fetch("/swr-range")).text(), `new-${DOC}`);
      assert.equal(origin.calls("/swr-range"), 2);
    });

    it("gives get() the data of the range", async () => {
      origin.route("/text", document());
      const c = client();
      assert.equal(await c.get("/text"), DOC);
      assert.equal(
        await c.get("/text", { headers: { range: "bytes=4-6" } }),
        "456",
      );
      assert.equal(origin.calls("/text"), 1);
    });
  });

  describe("the caller's own validators, from a fresh entry", () => {
    it("answers a matching If-None-Match with a 304 carrying the stored validators and caching fields, and a different one with the stored 200", async () => {
      origin.route("/v", document({ "last-modified": LAST_MODIFIED }));
      const c = client();
      assert.equal(await (await c.fetch("/v")).text(), DOC);
      clock.advance(5_000);
      for (const tag of ['"v1"', 'W/"v1"', '"v0", "v1"', "*"]) {
        const response = await c.fetch("/v", {
          headers: { "if-none-match": tag },
        });
        assert.equal(response.status, 304, tag);
        assert.equal(await response.text(), "");
        assert.equal(response.headers.get("etag"), '"v1"');
        assert.equal(response.headers.get("cache-control"), "max-age=60");
        assert.equal(response.headers.get("last-modified"), LAST_MODIFIED);
        assert.equal(response.headers.get("age"), "5");
        assert.equal(response.headers.get("content-type"), null);
      }
      const changed = await c.fetch("/v", {
        headers: { "if-none-match": '"v0"' },
      });
      assert.equal(changed.status, 200);
      assert.equal(await changed.text(), DOC);
      assert.equal(origin.calls("/v"), 1);
    });

    it("answers If-Modified-Since by the stored Last-Modified, and ignores it next to an If-None-Match", async () => {
      origin.route("/d", document({ "last-modified": LAST_MODIFIED }));
      const c = client();
      assert.equal(await (await c.fetch("/d")).text(), DOC);
      const since = async (date: string, etag?: string): Promise<number> => {
        const headers: Record<string, string> = { "if-modified-since": date };
        if (etag !== undefined) headers["if-none-match"] = etag;
        const response = await c.fetch("/d", { headers });
        await response.body?.cancel();
        return response.status;
      };
      assert.equal(await since(LAST_MODIFIED), 304);
      assert.equal(await since(DATE), 304);
      assert.equal(await since("Mon, 31 Dec 2029 23:59:59 GMT"), 200);
      // A date that does not parse is ignored: the stored 200.
      assert.equal(await since("yesterday"), 200);
      // If-None-Match decides alone.
      assert.equal(await since(DATE, '"v0"'), 200);
      assert.equal(origin.calls("/d"), 1);
    });

    it("sends to the origin what it cannot evaluate: a malformed If-None-Match, or If-Match beside it", async () => {
      origin.route("/o", document());
      const c = client();
      assert.equal(await (await c.fetch("/o")).text(), DOC);
      const malformed = await c.fetch("/o", {
        headers: { "if-none-match": "v1" },
      });
      assert.equal(malformed.status, 200);
      await malformed.body?.cancel();
      const both = await c.fetch("/o", {
        headers: { "if-none-match": '"v1"', "if-match": '"v1"' },
      });
      assert.equal(both.status, 304);
      assert.equal(origin.calls("/o"), 3);
      assert.equal(origin.requests("/o")[1]!.headers["if-none-match"], "v1");
    });

    it("leaves the entry as it was: a plain GET after a 304 gets the whole stored body", async () => {
      origin.route("/kept", document());
      const c = client();
      assert.equal(await (await c.fetch("/kept")).text(), DOC);
      const conditional = await c.fetch("/kept", {
        headers: { "if-none-match": '"v1"' },
      });
      assert.equal(conditional.status, 304);
      const plain = await c.fetch("/kept");
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), DOC);
      assert.equal(origin.calls("/kept"), 1);
    });
  });
});

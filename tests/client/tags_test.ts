// Cache tags through HttpClient, on a real loopback origin whose arrival
// counts are the ground truth: what invalidateTags drops, what it leaves,
// scopes, Vary, refreshes, a response racing an invalidation, bad tags,
// stores without tag support, and a store that is down.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheStore,
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  StoreError,
} from "../../mod.ts";
import { UpstashCacheStore } from "../../adapters/upstash/mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog, until } from "./_helpers.ts";

/** A cache store written against the contract before tags existed. */
function untaggedStore(): CacheStore<unknown> {
  const inner = new MemoryCacheStore();
  return {
    get: (hash) => inner.get(hash),
    set: (hash, value, ttl) => inner.set(hash, value, ttl),
    delete: (hash) => inner.delete(hash),
    clear: (prefix) => inner.clear(prefix),
    close: () => inner.close(),
  };
}

describe("HttpClient cache tags", () => {
  let origin: Origin;
  let clock: ManualClock;
  let log: EventLog;
  let store: MemoryCacheStore;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "tags",
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
    for (const path of ["/users/42", "/users/7", "/list", "/other"]) {
      origin.route(path, (req) => ({
        body: { path, n: req.n },
        headers: { "cache-control": "max-age=60" },
      }));
    }
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    log = new EventLog();
    store = new MemoryCacheStore({ clock });
  });

  it("invalidateTags() drops every entry stored with one of the tags: their next get reaches the origin, others stay cached", async () => {
    const c = client();
    await c.get("/users/42", { tags: ["user:42"] });
    await c.get("/users/7", { tags: ["user:7"] });
    await c.get("/list", { tags: ["user:42", "list"] });
    await c.get("/other");
    assert.equal(origin.calls(), 4);
    assert.equal(await c.invalidateTags(["user:42"]), 2);
    assert.deepEqual(await c.get("/users/42"), { path: "/users/42", n: 2 });
    assert.deepEqual(await c.get("/list"), { path: "/list", n: 2 });
    assert.deepEqual(await c.get("/users/7"), { path: "/users/7", n: 1 });
    assert.deepEqual(await c.get("/other"), { path: "/other", n: 1 });
    assert.equal(origin.calls("/users/42"), 2);
    assert.equal(origin.calls("/users/7"), 1);
    assert.equal(origin.calls("/other"), 1);
    assert.equal(await c.invalidateTags(["user:42"]), 0, "already dropped");
    assert.equal(await c.invalidateTags(["nobody"]), 0);
  });

  it("client.fetch takes tags in its init, and never sends them to the origin", async () => {
    const c = client();
    const response = await c.fetch("/users/42", { tags: ["user:42"] });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.equal(origin.requests("/users/42")[0]!.headers["tags"], undefined);
    assert.equal(await c.invalidateTags(["user:42"]), 1);
    await (await c.fetch("/users/42")).arrayBuffer();
    assert.equal(origin.calls("/users/42"), 2);
  });

  it("tags are per scope: a scope's invalidateTags drops only its own entries, the root's only the root's", async () => {
    const root = client();
    const a = root.scope("tenant", "a");
    const b = root.scope("tenant", "b");
    for (const c of [root, a, b]) {
      await c.get("/users/42", { tags: ["user:42"] });
    }
    assert.equal(origin.calls("/users/42"), 3);
    assert.equal(await a.invalidateTags(["user:42"]), 1);
    await a.get("/users/42");
    await b.get("/users/42");
    await root.get("/users/42");
    assert.equal(origin.calls("/users/42"), 4, "only scope a refetched");
    assert.equal(await root.invalidateTags(["user:42"]), 1);
    await root.get("/users/42");
    await b.get("/users/42");
    assert.equal(origin.calls("/users/42"), 5, "only the root refetched");
  });

  it("every Vary variant stored with a tag is dropped; the Vary index stays and misses", async () => {
    origin.route("/greeting", (req) => ({
      body: `${req.headers["accept-language"]}:${req.n}`,
      headers: {
        "cache-control": "max-age=60",
        vary: "Accept-Language",
        "content-type": "text/plain",
      },
    }));
    const c = client();
    const fr = { "accept-language": "fr" };
    const en = { "accept-language": "en" };
    await c.get("/greeting", { headers: fr, tags: ["greeting"] });
    await c.get("/greeting", { headers: en, tags: ["greeting"] });
    assert.equal(await c.get("/greeting", { headers: fr }), "fr:1");
    assert.equal(origin.calls("/greeting"), 2);
    assert.equal(await c.invalidateTags(["greeting"]), 2);
    assert.equal(await c.get("/greeting", { headers: fr }), "fr:3");
    assert.equal(await c.get("/greeting", { headers: en }), "en:4");
    assert.equal(origin.calls("/greeting"), 4);
  });

  it("a 304 refresh keeps the entry's tags and adds the refreshing request's", async () => {
    origin.route("/etag", (req) => ({
      body: { v: req.n },
      headers: { "cache-control": "max-age=5", etag: '"v1"' },
      conditional: true,
    }));
    const c = client();
    await c.get("/etag", { tags: ["a"] });
    clock.advance(6_000);
    // Refreshed by a request with another tag: a 304.
    await c.get("/etag", { tags: ["b"] });
    assert.equal(origin.calls("/etag"), 2);
    assert.equal(log.of("cache.revalidated")[0]?.status, 304);
    clock.advance(6_000);
    // Refreshed by an untagged request.
    await c.get("/etag");
    assert.equal(origin.calls("/etag"), 3);
    assert.equal(await c.invalidateTags(["a"]), 1, "the first tag held");
    await c.get("/etag", { tags: ["b"] });
    assert.equal(origin.calls("/etag"), 4);
    assert.equal(await c.invalidateTags(["b"]), 1, "the added tag held");
  });

  it("a background revalidation keeps the entry's tags", async () => {
    origin.route("/swr", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
    }));
    const c = client();
    await c.get("/swr", { tags: ["feed"] });
    clock.advance(5_000);
    assert.deepEqual(await c.get("/swr"), { n: 1 }, "served stale");
    await until(() => log.of("cache.revalidated").length === 1);
    assert.deepEqual(await c.get("/swr"), { n: 2 }, "the revalidated entry");
    assert.equal(await c.invalidateTags(["feed"]), 1);
    assert.deepEqual(await c.get("/swr"), { n: 3 });
    assert.equal(origin.calls("/swr"), 3);
  });

  it("a response fetched before invalidateTags() is not stored after it", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    origin.route("/slow", async (req) => {
      if (req.n === 1) await gate;
      return { body: { n: req.n }, headers: { "cache-control": "max-age=60" } };
    });
    const c = client();
    const first = c.get("/slow", { tags: ["slow"] });
    await until(() => origin.calls("/slow") === 1);
    clock.advance(10);
    assert.equal(await c.invalidateTags(["slow"]), 0, "nothing stored yet");
    release();
    assert.deepEqual(await first, { n: 1 }, "the caller still gets its answer");
    assert.equal(log.of("cache.skipped")[0]?.reason, "store-refused");
    assert.deepEqual(await c.get("/slow", { tags: ["slow"] }), { n: 2 });
    assert.deepEqual(await c.get("/slow"), { n: 2 }, "a later one is cached");
    assert.equal(origin.calls("/slow"), 2);
  });

  it("cache.stored tells how many tags the entry has, and never the tags", async () => {
    const c = client();
    await c.get("/users/42", { tags: ["user:42", "user:42", "secret-label"] });
    await c.get("/users/7");
    const stored = log.of("cache.stored");
    assert.equal(stored[0]?.tagCount, 2, "duplicates count once");
    assert.equal(stored[1]?.tagCount, undefined);
    assert.ok(!JSON.stringify(log.events).includes("secret-label"));
  });

  it("unsafe methods still invalidate tagged entries, and clearCache() forgets the tags with the entries", async () => {
    origin.route("/posts/1", (req) =>
      req.method === "GET"
        ? {
          body: { n: req.n },
          headers: { "cache-control": "max-age=60" },
        }
        : { status: 204 });
    const c = client();
    await c.get("/posts/1", { tags: ["post:1"] });
    await c.delete("/posts/1");
    await c.get("/posts/1", { tags: ["post:1"] });
    assert.equal(
      origin.requests("/posts/1").filter((r) => r.method === "GET").length,
      2,
    );
    await c.clearCache();
    assert.equal(await c.invalidateTags(["post:1"]), 0);
    assert.equal((await store.getStats()).tagIndexEntries, 0);
  });

  it("refuses malformed tags with a ConfigError, before anything is sent", async () => {
    const c = client();
    const bad: unknown[] = [
      "user:42",
      [""],
      [42],
      ["x".repeat(257)],
      Array.from({ length: 65 }, (_, i) => `t${i}`),
      null,
    ];
    for (const tags of bad) {
      await assert.rejects(
        c.get("/users/42", { tags: tags as string[] }),
        (error) => error instanceof ConfigError && error.option === "tags",
        `tags ${JSON.stringify(tags)}`,
      );
      await assert.rejects(
        c.fetch("/users/42", { tags: tags as string[] }),
        ConfigError,
      );
      if (!Array.isArray(tags) || tags.length <= 64) {
        await assert.rejects(
          c.invalidateTags(tags as string[]),
          ConfigError,
        );
      }
    }
    await assert.rejects(
      c.invalidateTags(Array.from({ length: 1_001 }, (_, i) => `t${i}`)),
      ConfigError,
      "at most 1 000 tags per invalidation",
    );
    // A misspelled option is refused like any other.
    await assert.rejects(
      c.get("/users/42", { tag: ["x"] } as never),
      (error) =>
        error instanceof ConfigError &&
        /did you mean 'tags'/.test(error.message),
    );
    assert.equal(origin.calls(), 0);
    // 64 tags, and 256 code units, are fine.
    await c.get("/users/42", {
      tags: [
        "x".repeat(256),
        ...Array.from({ length: 63 }, (_, i) => `t${i}`),
      ],
    });
    assert.equal(await c.invalidateTags(["x".repeat(256)]), 1);
  });

  it("with a cache store without tag support, tags and invalidateTags() fail with a ConfigError naming the store", async () => {
    class LegacyStore {
      readonly #inner = untaggedStore();
      get(hash: string) {
        return this.#inner.get(hash);
      }
      set(hash: string, value: unknown, ttl: number) {
        return this.#inner.set(hash, value, ttl);
      }
      delete(hash: string) {
        return this.#inner.delete(hash);
      }
      clear(prefix?: string) {
        return this.#inner.clear(prefix);
      }
      close() {
        return this.#inner.close();
      }
    }
    const c = client({ cache: { store: new LegacyStore() } });
    await assert.rejects(
      c.get("/users/42", { tags: ["user:42"] }),
      (error) =>
        error instanceof ConfigError && error.option === "cache.store" &&
        /LegacyStore/.test(error.message) && /tag support/.test(error.message),
    );
    await assert.rejects(c.invalidateTags(["user:42"]), ConfigError);
    assert.equal(origin.calls(), 0, "a tagged request is not stored untagged");
    await c.get("/users/42");
    await c.get("/users/42");
    assert.equal(origin.calls(), 1, "untagged requests are cached as before");
    // No tags ask nothing of the store.
    await c.get("/users/42", { tags: [] });
    await c.fetch("/users/42", { tags: [] });
    assert.equal(origin.calls(), 1);
    assert.equal(await c.invalidateTags([]), 0);
  });

  it("a tag whose stored form is too long for a store (under a long scope id) is a ConfigError, before anything is sent", async () => {
    const root = client();
    const scoped = root.scope("tenant", "t".repeat(2_040));
    const isTooLong = (error: unknown) =>
      error instanceof ConfigError && error.option === "tags" &&
      /shorter tag or scope id/.test(error.message);
    await assert.rejects(
      scoped.get("/users/42", { tags: ["user:42"] }),
      isTooLong,
    );
    await assert.rejects(scoped.invalidateTags(["user:42"]), isTooLong);
    assert.equal(origin.calls(), 0);
    // The same scope without tags works, and so does a short one with them.
    await scoped.get("/users/42");
    const short = root.scope("tenant", "t");
    await short.get("/users/42", { tags: ["user:42"] });
    assert.equal(await short.invalidateTags(["user:42"]), 1);
    assert.equal(origin.calls(), 2);
  });

  it("without a cache, tags are accepted and invalidateTags() resolves 0", async () => {
    const c = new HttpClient({ name: "tags", baseUrl: origin.url, clock });
    clients.push(c);
    await c.get("/users/42", { tags: ["user:42"] });
    assert.equal(await c.invalidateTags(["user:42"]), 0);
    await assert.rejects(c.invalidateTags([""]), ConfigError);
  });

  it("a cache store that is down during invalidateTags() gives a StoreError, and requests still fail open", async () => {
    // A real Upstash client aimed at a loopback port where nothing listens.
    const closed = await startOrigin();
    const url = closed.url;
    await closed.close();
    const down = new UpstashCacheStore({ url, token: "t", timeoutMs: 2_000 });
    const c = client({ cache: { store: down } });
    await assert.rejects(
      c.invalidateTags(["user:42"]),
      (error) =>
        error instanceof StoreError && error.operation === "invalidateTags",
    );
    assert.deepEqual(await c.get("/users/42", { tags: ["user:42"] }), {
      path: "/users/42",
      n: 1,
    });
    await down.close();
  });
});

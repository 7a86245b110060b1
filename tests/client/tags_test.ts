import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheStore,
  ConfigError,
  HttpClient,
  MemoryCacheStore,
  StoreError,
  TieredCacheStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";

/** A third-party store: the contract without tags. */
class PlainStore implements CacheStore<unknown> {
  readonly #map = new Map<string, unknown>();
  get(hash: string): Promise<unknown> {
    return Promise.resolve(this.#map.get(hash));
  }
  set(hash: string, value: unknown): Promise<void> {
    this.#map.set(hash, value);
    return Promise.resolve();
  }
  delete(hash: string): Promise<void> {
    this.#map.delete(hash);
    return Promise.resolve();
  }
  clear(): Promise<void> {
    this.#map.clear();
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe("HttpClient cache tags", () => {
  let origin: Origin;
  let clock: ManualClock;
  let store: MemoryCacheStore;
  let client: HttpClient;

  before(async () => {
    origin = await startOrigin();
    for (const path of ["/users/42", "/users/43", "/posts"]) {
      origin.route(path, (req) => ({
        body: { path, n: req.n },
        headers: { "cache-control": "max-age=600" },
      }));
    }
  });
  after(async () => {
    await client.close();
    await origin.close();
  });
  beforeEach(async () => {
    await client?.close();
    origin.resetCounts();
    clock = new ManualClock(Date.now());
    store = new MemoryCacheStore({ clock });
    client = new HttpClient({
      name: "tags",
      baseUrl: origin.url,
      cache: { store },
      clock,
    });
  });

  it("invalidateTags() makes the next request of a tagged entry reach the origin, and keeps other tags", async () => {
    await client.get("/users/42", { tags: ["user:42", "users"] });
    await client.get("/users/43", { tags: ["user:43", "users"] });
    await client.get("/posts", { tags: ["posts"] });
    await client.get("/users/42");
    assert.equal(origin.calls(), 3, "served from the cache before");

    assert.equal(await client.invalidateTags(["user:42"]), 1);
    assert.deepEqual(await client.get("/users/42"), {
      path: "/users/42",
      n: 2,
    });
    assert.deepEqual(await client.get("/users/43"), {
      path: "/users/43",
      n: 1,
    });
    assert.deepEqual(await client.get("/posts"), { path: "/posts", n: 1 });
    assert.equal(origin.calls(), 4);

    assert.equal(await client.invalidateTags(["users", "nothing"]), 1);
    await client.get("/users/43");
    await client.get("/posts");
    assert.equal(origin.calls("/users/43"), 2);
    assert.equal(origin.calls("/posts"), 1);
  });

  it("client.fetch() takes tags in its init", async () => {
    const first = await client.fetch("/posts", { tags: ["posts"] });
    await first.arrayBuffer();
    assert.equal(await client.invalidateTags(["posts"]), 1);
    const second = await client.fetch("/posts");
    assert.deepEqual(await second.json(), { path: "/posts", n: 2 });
  });

  it("a scope's invalidateTags() drops only that scope's entries, and the root's only the root's", async () => {
    const a = client.scope("tenant", "a");
    const b = client.scope("tenant", "b");
    await client.get("/posts", { tags: ["posts"] });
    await a.get("/posts", { tags: ["posts"] });
    await b.get("/posts", { tags: ["posts"] });
    assert.equal(origin.calls("/posts"), 3);

    assert.equal(await a.invalidateTags(["posts"]), 1);
    await client.get("/posts");
    await a.get("/posts");
    await b.get("/posts");
    assert.equal(origin.calls("/posts"), 4, "only tenant a went to the origin");

    assert.equal(await client.invalidateTags(["posts"]), 1);
    await a.get("/posts");
    await b.get("/posts");
    assert.equal(origin.calls("/posts"), 4, "the scopes kept theirs");
    await client.get("/posts");
    assert.equal(origin.calls("/posts"), 5);
  });

  it("invalidating a tag drops every variant of a Vary response stored with it", async () => {
    origin.route("/greeting", (req) => ({
      body: `${req.headers["accept-language"]} ${req.n}`,
      headers: {
        "cache-control": "max-age=600",
        vary: "Accept-Language",
        "content-type": "text/plain",
      },
    }));
    const fr = { "accept-language": "fr" };
    const en = { "accept-language": "en" };
    const de = { "accept-language": "de" };
    await client.get("/greeting", { headers: fr, tags: ["greeting"] });
    await client.get("/greeting", { headers: en, tags: ["greeting"] });
    await client.get("/greeting", { headers: de, tags: ["other"] });
    assert.equal(await client.invalidateTags(["greeting"]), 2);
    assert.equal(await client.get("/greeting", { headers: fr }), "fr 4");
    assert.equal(await client.get("/greeting", { headers: en }), "en 5");
    assert.equal(await client.get("/greeting", { headers: de }), "de 3");
  });

  it("a 304 refresh keeps the entry's tags and adds the refreshing request's", async () => {
    origin.route("/doc", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=1", etag: '"v1"' },
      conditional: true,
    }));
    await client.get("/doc", { tags: ["first"] });
    clock.advance(2_000);
    await client.get("/doc", { tags: ["second"] });
    assert.equal(origin.requests("/doc")[1]?.headers["if-none-match"], '"v1"');
    await client.get("/doc");
    assert.equal(origin.calls("/doc"), 2, "fresh again after the 304");

    assert.equal(await client.invalidateTags(["first"]), 1);
    assert.deepEqual(await client.get("/doc", { tags: ["third"] }), { n: 3 });
    assert.equal(origin.calls("/doc"), 3);

    clock.advance(2_000);
    await client.get("/doc");
    assert.equal(origin.calls("/doc"), 4, "the untagged refresh revalidated");
    assert.equal(await client.invalidateTags(["third"]), 1);
    await client.get("/doc");
    assert.equal(origin.calls("/doc"), 5);
  });

  it("clearCache() also forgets the tags of that client", async () => {
    await client.get("/posts", { tags: ["posts"] });
    await client.clearCache();
    await client.get("/posts");
    assert.equal(await client.invalidateTags(["posts"]), 0);
    await client.get("/posts");
    assert.equal(origin.calls("/posts"), 2);
  });

  it("refuses bad tags with a ConfigError before anything is sent", async () => {
    const bad: unknown[] = [
      "user:42",
      [""],
      ["x".repeat(257)],
      Array.from({ length: 65 }, (_, i) => `t${i}`),
      [42],
      [null],
      {},
    ];
    for (const tags of bad) {
      await assert.rejects(
        () => client.get("/posts", { tags: tags as string[] }),
        (error: unknown) =>
          error instanceof ConfigError && error.option === "tags",
        JSON.stringify(tags),
      );
      await assert.rejects(
        () => client.invalidateTags(tags as string[]),
        ConfigError,
      );
    }
    await assert.rejects(
      () => client.get("/posts", { tag: ["x"] } as never),
      ConfigError,
    );
    assert.equal(origin.calls(), 0);
    // The limits themselves are allowed; duplicates are ignored.
    await client.get("/posts", { tags: ["x".repeat(256), "d", "d"] });
    await client.get("/users/42", {
      tags: Array.from({ length: 64 }, (_, i) => `t${i}`),
    });
    assert.equal(await client.invalidateTags(["d"]), 1);
    assert.equal(await client.invalidateTags(["t63"]), 1);
  });

  it("a store without tag support, or no cache, makes tags a ConfigError naming it", async () => {
    const plain = new HttpClient({
      name: "plain",
      baseUrl: origin.url,
      cache: { store: new PlainStore() },
    });
    const none = new HttpClient({ name: "none", baseUrl: origin.url });
    const tiered = new HttpClient({
      name: "tiered",
      baseUrl: origin.url,
      cache: {
        store: new TieredCacheStore({
          l1: new MemoryCacheStore(),
          l2: new PlainStore(),
        }),
      },
    });
    try {
      for (const c of [plain, tiered]) {
        await assert.rejects(
          () => c.get("/posts", { tags: ["posts"] }),
          (error: unknown) =>
            error instanceof ConfigError &&
            /(PlainStore|TieredCacheStore) does not/.test(error.message),
        );
        await assert.rejects(
          () => c.invalidateTags(["posts"]),
          (error: unknown) =>
            error instanceof ConfigError &&
            /(PlainStore|TieredCacheStore) does not/.test(error.message),
        );
      }
      await assert.rejects(
        () => none.get("/posts", { tags: ["posts"] }),
        (error: unknown) =>
          error instanceof ConfigError && /cache/.test(error.message),
      );
      await assert.rejects(() => none.invalidateTags(["posts"]), ConfigError);
      assert.equal(origin.calls(), 0);
      // Untagged requests still work on such a store.
      await plain.get("/posts");
      assert.equal(origin.calls(), 1);
    } finally {
      await plain.close();
      await none.close();
      await tiered.close();
    }
  });

  it("a store that fails during invalidateTags() rejects with a StoreError, and the client keeps working", async () => {
    class Failing extends MemoryCacheStore {
      override invalidateTags(): Promise<number> {
        return Promise.reject(new Error("connection reset"));
      }
    }
    const failing = new HttpClient({
      name: "failing",
      baseUrl: origin.url,
      cache: { store: new Failing() },
    });
    try {
      await failing.get("/posts", { tags: ["posts"] });
      await assert.rejects(
        () => failing.invalidateTags(["posts"]),
        (error: unknown) =>
          error instanceof StoreError &&
          error.operation === "invalidateTags" &&
          /connection reset/.test(error.message),
      );
      await failing.get("/posts", { tags: ["posts"] });
      assert.equal(origin.calls("/posts"), 1);
    } finally {
      await failing.close();
    }
    const closed = new MemoryCacheStore();
    const down = new HttpClient({
      name: "down",
      baseUrl: origin.url,
      cache: { store: closed },
    });
    await closed.close();
    try {
      await assert.rejects(() => down.invalidateTags(["posts"]), StoreError);
    } finally {
      await down.close();
    }
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
} from "../../mod.ts";
import { LibsqlCacheStore } from "../../adapters/libsql/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

type Entry = Record<string, unknown> & {
  headers: [string, string][];
  policy: Record<string, unknown>;
};

// What a store may hand back in place of a response the client stored.
const corruptEntries: [string, (good: Entry) => unknown][] = [
  ["a number", () => 42],
  ["null", () => null],
  ["a string", () => "garbage"],
  ["an array", () => []],
  ["an object missing every field but url", (good) => ({ url: good.url })],
  ["a status of the wrong type", (good) => ({ ...good, status: "200" })],
  ["a body that is not bytes", (good) => ({ ...good, body: [104, 105] })],
  ["no policy", ({ policy: _, ...rest }) => rest],
  ["a negative initial age", (good) => ({ ...good, initialAgeMs: -1 })],
  [
    "a policy field of the wrong type",
    (good) => ({
      ...good,
      policy: { ...good.policy, freshnessLifetimeMs: "60000" },
    }),
  ],
  [
    "a header name that is not a token",
    (good) => ({ ...good, headers: [...good.headers, ["foo bar", "x"]] }),
  ],
  [
    "a header value with a line break",
    (good) => ({ ...good, headers: [...good.headers, ["x-a", "a\r\nb"]] }),
  ],
  [
    "a header value outside Latin-1",
    (good) => ({ ...good, headers: [...good.headers, ["x-a", "\u20ac"]] }),
  ],
  [
    "a header pair of three strings",
    (good) => ({ ...good, headers: [...good.headers, ["x-a", "b", "c"]] }),
  ],
  [
    "a Vary selection on an invalid name",
    (good) => ({ ...good, varyHeaders: { "a=b": null } }),
  ],
  [
    "a status text that is not a reason phrase",
    (good) => ({ ...good, statusText: "OK\nX-Injected: 1" }),
  ],
];

// What a store may hand back in place of a Vary index.
const corruptIndexes: [string, unknown][] = [
  ["a name with a space", { sluiceVary: 1, names: ["foo bar"] }],
  ["a name with '='", { sluiceVary: 1, names: ["accept-language", "a=b"] }],
  ["a non-ASCII name", { sluiceVary: 1, names: ["\u00e9"] }],
  ["an empty name", { sluiceVary: 1, names: [""] }],
  ["no names", { sluiceVary: 1, names: [] }],
  ["names that are not a list", { sluiceVary: 1, names: "accept-language" }],
  ["a name that is not a string", { sluiceVary: 1, names: [7] }],
  ["no names field", { sluiceVary: 1 }],
];

const backends: [string, () => CacheStore][] = [
  ["MemoryCacheStore", () => new MemoryCacheStore()],
  ["LibsqlCacheStore", () => new LibsqlCacheStore({ url: ":memory:" })],
];

describe("HttpClient with a cache store that hands back a corrupt value", () => {
  let origin: Origin;
  let log: EventLog;
  let route = 0;
  const clients: HttpClient[] = [];
  const stores: CacheStore[] = [];

  const client = (
    store: CacheStore,
    options: Partial<HttpClientOptions> = {},
  ): HttpClient => {
    const c = new HttpClient({
      name: "corrupt",
      baseUrl: origin.url,
      cache: { store },
      onEvent: log.listener,
      retry: false,
      ...options,
    });
    clients.push(c);
    return c;
  };

  // A path whose first answer is cached; later answers are not, so that
  // what the store holds afterwards shows whether the client deleted it.
  const path = (headers: Record<string, string> = {}): string => {
    const p = `/r${++route}`;
    origin.route(p, (req) =>
      req.n === 1
        ? {
          body: "first",
          headers: { "cache-control": "max-age=60", ...headers },
        }
        : { body: "second", headers: { "cache-control": "no-store" } });
    return p;
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
    log = new EventLog();
  });

  // Asserts what a user sees of a request that met a corrupt value under
  // `key`: the origin's answer, a miss that says why, and a failed-open
  // cache error.
  const assertMissedAsCorrupt = async (
    c: HttpClient,
    p: string,
    mainKey: string,
    init?: RequestInit,
  ): Promise<void> => {
    const response = await c.fetch(p, init);
    assert.equal(await response.text(), "second");
    assert.equal(origin.calls(p), 2);
    assert.deepEqual(
      log.of("cache.miss").map((e) => [e.key, e.reason]),
      [[mainKey, "corrupt"]],
    );
    const errors = log.of("error");
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.stage === "cache" && e.failedOpen));
  };

  for (const [backend, create] of backends) {
    describe(backend, () => {
      let store: CacheStore;
      beforeEach(() => {
        store = create();
        stores.push(store);
      });

      it("goes to the origin past any corrupt entry, and deletes it", async () => {
        for (const [what, corrupt] of corruptEntries) {
          const c = client(store);
          const p = path();
          await (await c.fetch(p)).text();
          const key = log.of("cache.stored")[0]!.key;
          const good = await store.get(key) as Entry;
          await store.set(key, corrupt(structuredClone(good)), 60);
          log.clear();
          await assertMissedAsCorrupt(c, p, key).catch((error) => {
            throw new Error(`${what}: ${error.message}`, { cause: error });
          });
          assert.equal(await store.get(key), undefined, what);
          log.clear();
        }
      });

      it("serves an entry stored by sluice 0.1, which kept its initial age and validators in its policy", async () => {
        const c = client(store);
        const p = path({ etag: '"v1"' });
        await (await c.fetch(p)).text();
        const key = log.of("cache.stored")[0]!.key;
        const { initialAgeMs, ...current } = await store.get(key) as Entry;
        const old = {
          ...current,
          body: new TextEncoder().encode("first"),
          policy: {
            ...current.policy,
            initialAgeMs,
            etag: '"v1"',
            lastModified: "",
          },
        };
        await store.set(key, old, 60);
        log.clear();
        const response = await c.fetch(p);
        assert.equal(await response.text(), "first");
        assert.equal(response.headers.get("etag"), '"v1"');
        assert.equal(origin.calls(p), 1);
        assert.deepEqual(log.of("cache.hit").map((e) => e.key), [key]);
        assert.equal(log.of("error").length, 0);
      });

      it("checks an entry changed in place and written back before serving it", async () => {
        const c = client(store);
        const p = path();
        await (await c.fetch(p)).text();
        const key = log.of("cache.stored")[0]!.key;
        const entry = await store.get(key) as Entry;
        entry.statusText = "OK\nX-Injected: 1";
        await store.set(key, entry, 60);
        log.clear();
        await assertMissedAsCorrupt(c, p, key);
        assert.equal(await store.get(key), undefined);
      });

      it("goes to the origin past a Vary index whose names are not header names, and deletes it", async () => {
        for (const [what, index] of corruptIndexes) {
          const c = client(store);
          const p = path({ vary: "accept-language" });
          const init = { headers: { "accept-language": "en" } };
          await (await c.fetch(p, init)).text();
          const mainKey = log.of("cache.miss")[0]!.key;
          const variantKey = log.of("cache.stored")[0]!.key;
          assert.notEqual(mainKey, variantKey);
          await store.set(mainKey, index, 60);
          log.clear();
          await assertMissedAsCorrupt(c, p, mainKey, init).catch((error) => {
            throw new Error(`${what}: ${error.message}`, { cause: error });
          });
          assert.equal(await store.get(mainKey), undefined, what);
          log.clear();
        }
      });

      it("goes to the origin past a corrupt variant behind a sound Vary index, and deletes the variant", async () => {
        const c = client(store);
        const p = path({ vary: "accept-language" });
        const init = { headers: { "accept-language": "en" } };
        await (await c.fetch(p, init)).text();
        const mainKey = log.of("cache.miss")[0]!.key;
        const variantKey = log.of("cache.stored")[0]!.key;
        const good = await store.get(variantKey) as Entry;
        await store.set(
          variantKey,
          { ...good, headers: [["bad name", "x"]] },
          60,
        );
        log.clear();
        await assertMissedAsCorrupt(c, p, mainKey, init);
        assert.equal(await store.get(variantKey), undefined);
      });
    });
  }

  it("still answers when deleting the corrupt entry fails", async () => {
    const memory = new MemoryCacheStore();
    stores.push(memory);
    const store: CacheStore = {
      get: (key) => memory.get(key),
      set: (key, value, ttl) => memory.set(key, value, ttl),
      delete: () => Promise.reject(new Error("delete failed")),
      clear: (prefix) => memory.clear(prefix),
      close: () => Promise.resolve(),
    };
    const c = client(store);
    const p = path();
    await (await c.fetch(p)).text();
    const key = log.of("cache.stored")[0]!.key;
    await memory.set(key, { sluiceVary: 1, names: ["foo bar"] }, 60);
    log.clear();
    await assertMissedAsCorrupt(c, p, key);
    assert.ok(
      log.of("error").some((e) =>
        (e.error as Error).message === "delete failed"
      ),
    );
  });
});

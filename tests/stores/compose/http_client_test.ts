// HttpClient over decorated Upstash stores: what a user sees (the same data
// from a hit as from the origin) and what Redis holds (none of it in the
// clear).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  UpstashCacheStore,
  UpstashDedupeStore,
} from "../../../adapters/upstash/mod.ts";
import {
  EncryptedCacheStore,
  EncryptedDedupeStore,
  HttpClient,
  MemoryCacheStore,
  TieredCacheStore,
} from "../../../mod.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { backends, showsPlaintext, upstashEnv } from "./_backends.ts";

const upstash = backends.find((backend) => backend.name === "Upstash")!;
const key = crypto.getRandomValues(new Uint8Array(32));
const users = Array.from({ length: 200 }, (_, id) => ({
  id,
  login: `user-${id}`,
  note: "BODY-MARKER-5e1d",
}));

/** Every key under `prefix`, and what Redis holds there (a hash's fields joined). */
async function held(prefix: string): Promise<Map<string, string>> {
  const redis = upstashEnv().client();
  const out = new Map<string, string>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, {
      match: `${prefix}*`,
      count: 100,
    });
    for (const name of keys) {
      const type = await redis.type(name);
      if (type === "string") {
        out.set(name, (await redis.get<string>(name)) ?? "");
      } else if (type === "hash") {
        const fields = await redis.hgetall<Record<string, string>>(name);
        out.set(name, Object.values(fields ?? {}).join("\n"));
      }
    }
    cursor = String(next);
  } while (cursor !== "0");
  return out;
}

function stores(prefix: string, keys = { k1: key }) {
  const redis = upstashEnv().client();
  return {
    cache: new EncryptedCacheStore(
      new UpstashCacheStore({ redis, keyPrefix: prefix }),
      { keys, compress: true },
    ),
    dedupe: new EncryptedDedupeStore(
      new UpstashDedupeStore({ redis, keyPrefix: prefix }),
      { keys },
    ),
  };
}

describe("HttpClient over encrypted Upstash stores", () => {
  upstash.hooks();
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
    origin.route("/users", {
      body: users,
      headers: {
        "cache-control": "max-age=60",
        "x-account": "HEADER-MARKER-a93b",
        etag: '"v1"',
      },
    });
  });
  after(async () => {
    await origin.close();
  });

  it("serves hits with the origin's data, in this process and another, while Redis holds none of it in the clear", async () => {
    const prefix = upstashEnv().prefix();
    const url = `${origin.url}/users`;
    const first = stores(prefix);
    const client = new HttpClient({
      name: "github",
      cache: { store: first.cache },
      dedupe: { store: first.dedupe },
    });
    const miss = await client.fetch(url);
    const missBody = await miss.text();
    const hit = await client.fetch(url);
    assert.equal(await hit.text(), missBody);
    assert.deepStrictEqual(JSON.parse(missBody), users);
    assert.equal(hit.headers.get("x-account"), "HEADER-MARKER-a93b");
    assert.equal(hit.headers.get("etag"), '"v1"');
    assert.deepStrictEqual(await client.get(url), users);
    assert.equal(origin.calls("/users"), 1);

    // Another process: its own stores on the same prefix, the same key.
    const second = stores(prefix);
    const other = new HttpClient({
      name: "github",
      cache: { store: second.cache },
      dedupe: { store: second.dedupe },
    });
    assert.deepStrictEqual(await other.get(url), users);
    assert.equal(origin.calls("/users"), 1, "served from the shared cache");

    const values = await held(prefix);
    assert.ok(
      [...values.keys()].some((name) => name.startsWith(`${prefix}cache:`)),
      "the entry is in Redis",
    );
    assert.ok(
      [...values.keys()].some((name) => name.startsWith(`${prefix}dedupe:`)),
      "the flight's result is in Redis",
    );
    for (const [name, value] of values) {
      assert.equal(showsPlaintext(value, "BODY-MARKER-5e1d"), false, name);
      assert.equal(showsPlaintext(value, "HEADER-MARKER-a93b"), false, name);
      assert.equal(showsPlaintext(value, "user-17"), false, name);
    }

    // A process with another key misses, fetches, and is served correctly.
    const foreign = stores(prefix, {
      k1: crypto.getRandomValues(new Uint8Array(32)),
    });
    const stranger = new HttpClient({
      name: "github",
      cache: { store: foreign.cache },
    });
    assert.deepStrictEqual(await stranger.get(url), users);
    assert.equal(origin.calls("/users"), 2);

    await client.close();
    await other.close();
    await stranger.close();
    for (const s of [first, second, foreign]) {
      await s.cache.close();
      await s.dedupe.close();
    }
  });

  it("with an in-process tier in front, a fresh hit makes no request to Redis", async () => {
    origin.resetCounts();
    const prefix = upstashEnv().prefix();
    const url = `${origin.url}/users`;
    const { cache: remote } = stores(prefix);
    const cache = new TieredCacheStore({
      l1: new MemoryCacheStore(),
      l2: remote,
      l1MaxTtlSeconds: 5,
    });
    const client = new HttpClient({ name: "github", cache: { store: cache } });
    assert.deepStrictEqual(await client.get(url), users);
    const bridge = upstashEnv().bridge;
    const before = bridge.requests();
    for (let i = 0; i < 5; i++) {
      assert.deepStrictEqual(await client.get(url), users);
    }
    assert.equal(bridge.requests(), before);
    assert.equal(origin.calls("/users"), 1);
    await client.close();
    await cache.close();
  });
});

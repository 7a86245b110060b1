import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("HttpClient.scope()", () => {
  let origin: Origin;
  let client: HttpClient;
  let store: MemoryCacheStore;
  let log: EventLog;

  before(async () => {
    origin = await startOrigin();
    origin.route("/data", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60" },
      delayMs: 20,
    }));
  });
  after(async () => {
    await client.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    store = new MemoryCacheStore();
    log = new EventLog();
    client = new HttpClient({
      name: "api:v1",
      baseUrl: origin.url,
      cache: { store },
      onEvent: log.listener,
    });
  });

  it("prefixes keys with escaped key=id parts and chains", () => {
    const tenant = client.scope("tenant", "t:42");
    const user = tenant.scope("user", 7);
    assert.equal(client.keyPrefix, "api%3Av1");
    assert.equal(tenant.keyPrefix, "api%3Av1:tenant=t%3A42");
    assert.equal(user.keyPrefix, "api%3Av1:tenant=t%3A42:user=7");
    assert.throws(() => client.scope("", "x"), TypeError);
    assert.ok(Object.isFrozen(tenant));
    assert.throws(() => {
      (tenant as { fetch: unknown }).fetch = globalThis.fetch;
    }, TypeError);
  });

  it("never serves one tenant another's entry, whatever '=', '%' or ':' their key and id hold", async () => {
    origin.route("/whoami", (req) => ({
      body: { n: req.n },
      headers: { "cache-control": "max-age=60" },
    }));
    const pairs: [string, string][] = [
      ["org", "acme=evil"],
      ["org=acme", "evil"],
      ["org", "acme%3Devil"],
      ["org%3Dacme", "evil"],
      ["org", "acme:evil"],
      ["org:acme", "evil"],
      ["org", "acme%3Aevil"],
      ["org", "acme"],
    ];
    const scopes = pairs.map(([key, id]) => client.scope(key, id));
    const prefixes = scopes.map((s) => s.keyPrefix);
    assert.equal(new Set(prefixes).size, pairs.length, prefixes.join(" "));
    for (const a of prefixes) {
      for (const b of prefixes) {
        if (a !== b) assert.ok(!b.startsWith(`${a}:`), `${a} reaches ${b}`);
      }
    }
    // Chained scopes never meet a single scope either.
    const chained = client.scope("org", "acme").scope("x", "y");
    assert.ok(!prefixes.includes(chained.keyPrefix));
    const seen = [];
    for (const scope of scopes) seen.push(await scope.get("/whoami"));
    assert.deepEqual(seen, pairs.map((_, i) => ({ n: i + 1 })));
    assert.equal(origin.calls("/whoami"), pairs.length);
    await scopes[0]!.clearCache();
    assert.equal(store.size, pairs.length - 1);
  });

  it("keeps an unscoped client's keys as they were, and a client name never reads as a scope", async () => {
    const plain = new HttpClient({ name: "svc=prod", cache: { store } });
    assert.equal(plain.keyPrefix, "svc=prod");
    assert.equal(
      client.scope("tenant", "t_42").keyPrefix,
      "api%3Av1:tenant=t_42",
    );
    const lookalike = new HttpClient({
      name: "api:v1:tenant=a",
      cache: { store },
    });
    assert.notEqual(lookalike.keyPrefix, client.scope("tenant", "a").keyPrefix);
    const limits = new MemoryRateLimitStore({
      defaultConfig: { limit: 10, windowMs: 1_000 },
    });
    const limited = new HttpClient({
      name: "rl",
      rateLimit: { store: limits, resource: (url) => `${url.host}:x=1%` },
    });
    assert.equal(
      limited.rateLimitResource("https://example.com/a"),
      "rl:ratelimit:example.com%3Ax=1%25",
    );
    assert.equal(
      limited.scope("t", "a=b").rateLimitResource("https://example.com/a"),
      "rl:t=a%3Db:ratelimit:example.com%3Ax=1%25",
    );
    await Promise.all([plain.close(), lookalike.close(), limited.close()]);
    await limits.close();
  });

  it("keeps each scope's entries and flights apart while sharing the store", async () => {
    const a = client.scope("tenant", "a");
    const b = client.scope("tenant", "b");
    const [ra, rb] = await Promise.all([a.get("/data"), b.get("/data")]);
    assert.notDeepEqual(ra, rb);
    assert.equal(origin.calls("/data"), 2);
    assert.deepEqual(await a.get("/data"), ra);
    assert.deepEqual(await b.get("/data"), rb);
    assert.equal(origin.calls("/data"), 2);
    assert.equal(store.size, 2);
    const keys = log.of("cache.stored").map((e) => e.key);
    assert.ok(keys.some((k) => k.startsWith("api%3Av1:tenant=a:cache:")));
    assert.ok(keys.some((k) => k.startsWith("api%3Av1:tenant=b:cache:")));
  });

  it("clears only its own entries", async () => {
    const a = client.scope("tenant", "a");
    const ab = a.scope("team", "x");
    const b = client.scope("tenant", "b");
    await Promise.all([
      client.get("/data"),
      a.get("/data"),
      ab.get("/data"),
      b.get("/data"),
    ]);
    assert.equal(store.size, 4);
    await a.clearCache();
    assert.equal(store.size, 3);
    await client.clearCache();
    assert.equal(store.size, 2);
  });

  it("closing a scope leaves the parent open; closing the parent closes scopes", async () => {
    const a = client.scope("tenant", "a");
    await a.close();
    await assert.rejects(a.get("/data"), /is closed/);
    await client.get("/data");
    const b = client.scope("tenant", "b");
    await client.close();
    await assert.rejects(b.get("/data"), /is closed/);
  });
});

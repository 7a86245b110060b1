import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, MemoryCacheStore } from "../../mod.ts";
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

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  HttpError,
  isSluiceError,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";

function configError(options: unknown, option: string): void {
  assert.throws(
    () => new HttpClient(options as HttpClientOptions),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.option, option);
      assert.match(error.message, /^Cannot create HttpClient as '/);
      return true;
    },
  );
}

describe("HttpClient errors", () => {
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    await origin.close();
  });

  it("rejects bad options at construction, naming the option", () => {
    configError({}, "name");
    configError({ name: "" }, "name");
    configError({ name: "a", baseUrl: "not a url" }, "baseUrl");
    configError({ name: "a", baseUrl: "ftp://x.example" }, "baseUrl");
    configError({ name: "a", fetch: "fetch" }, "fetch");
    configError({ name: "a", timeout: -1 }, "timeout");
    configError({ name: "a", timeout: { attemptMs: 0 } }, "timeout.attemptMs");
    configError({ name: "a", timeout: { totalMs: "1" } }, "timeout.totalMs");
    configError({ name: "a", cache: { store: {} } }, "cache.store");
    configError(
      { name: "a", cache: { store: new MemoryCacheStore(), ttl: -5 } },
      "cache.ttl",
    );
    configError(
      { name: "a", cache: { store: new MemoryCacheStore(), shared: "yes" } },
      "cache.shared",
    );
    configError(
      { name: "a", dedupe: { store: { waitFor() {} } } },
      "dedupe.store",
    );
    configError({ name: "a", rateLimit: { store: null } }, "rateLimit.store");
    const store = new MemoryRateLimitStore();
    configError(
      { name: "a", rateLimit: { store, maxWaitMs: -1 } },
      "rateLimit.maxWaitMs",
    );
    configError(
      { name: "a", rateLimit: { store, resource: "origin" } },
      "rateLimit.resource",
    );
    configError(
      { name: "a", rateLimit: { store, failOpen: 1 } },
      "rateLimit.failOpen",
    );
    configError({ name: "a", retry: { attempts: -1 } }, "retry.attempts");
    configError({ name: "a", maxBodyBytes: 1.5 }, "maxBodyBytes");
    configError({ name: "a", storeTimeoutMs: 0 }, "storeTimeoutMs");
    configError({ name: "a", storeTimeoutMs: Infinity }, "storeTimeoutMs");
    configError(
      { name: "a", credentialHeaders: ["bad header"] },
      "credentialHeaders",
    );
    configError({ name: "a", onEvent: {} }, "onEvent");
    configError({ name: "a", clock: {} }, "clock");
    configError({ name: "a", headers: [["x"]] }, "headers");
  });

  it("names the missing methods of a store", () => {
    assert.throws(
      () =>
        new HttpClient({
          name: "a",
          cache: { store: { get() {}, set() {} } as never },
        }),
      /missing delete, clear/,
    );
  });

  it("throws HttpError with status, headers and a body preview outside 2xx", async () => {
    origin.route("/missing", {
      status: 404,
      headers: { "x-request-id": "r1" },
      body: { error: "no such thing" },
    });
    const client = new HttpClient({ name: "e", baseUrl: origin.url });
    await assert.rejects(client.get("/missing"), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.ok(isSluiceError(error));
      assert.equal(error.status, 404);
      assert.equal(error.headers.get("x-request-id"), "r1");
      assert.equal(error.bodyPreview, '{"error":"no such thing"}');
      assert.equal(error.method, "GET");
      assert.equal(error.url, `${origin.url}/missing`);
      return true;
    });
    // fetch() is a drop-in: it never throws on a status.
    assert.equal((await client.fetch("/missing")).status, 404);
    await client.close();
  });

  it("throws the same HttpError for a cached error response as for the origin's", async () => {
    origin.route("/gone-cached", {
      status: 404,
      headers: { "cache-control": "max-age=60" },
      body: { error: "gone" },
    });
    const client = new HttpClient({
      name: "e",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
    });
    const previews: string[] = [];
    for (let i = 0; i < 2; i++) {
      await assert.rejects(client.get("/gone-cached"), (error: unknown) => {
        assert.ok(error instanceof HttpError);
        assert.equal(error.status, 404);
        previews.push(error.bodyPreview);
        return true;
      });
    }
    assert.deepEqual(previews, ['{"error":"gone"}', '{"error":"gone"}']);
    assert.equal(origin.calls("/gone-cached"), 1);
    await client.close();
  });

  it("rejects with a clear error on a body that claims JSON but is not", async () => {
    origin.route("/broken-json", {
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    const client = new HttpClient({ name: "e", baseUrl: origin.url });
    await assert.rejects(client.get("/broken-json"), (error: unknown) => {
      assert.ok(isSluiceError(error));
      assert.match(error.message, /Cannot parse the JSON body of GET/);
      return true;
    });
    await client.close();
  });

  it("rejects a relative URL without baseUrl as fetch does", async () => {
    const client = new HttpClient({ name: "e" });
    await assert.rejects(client.get("/relative"), TypeError);
    await assert.rejects(
      client.get(`${origin.url}/x`, { priority: "urgent" as never }),
      TypeError,
    );
    await client.close();
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, HttpClient, MemoryCacheStore } from "../../mod.ts";
import { ManualClock } from "../../src/testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("HttpClient revalidation", () => {
  let origin: Origin;
  let client: HttpClient;
  let clock: ManualClock;
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
    clock = new ManualClock(Date.now());
    log = new EventLog();
    client = new HttpClient({
      name: "validation",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
    });
  });

  it("revalidates with If-Modified-Since and merges the 304's headers", async () => {
    const lastModified = new Date(Date.now() - 86_400_000).toUTCString();
    origin.route(
      "/lm",
      (req) =>
        req.headers["if-modified-since"] === lastModified
          ? {
            status: 304,
            headers: { "cache-control": "max-age=120", "x-version": "2" },
          }
          : {
            body: { body: "original" },
            headers: {
              "cache-control": "max-age=1",
              "last-modified": lastModified,
              "x-version": "1",
            },
          },
    );
    await client.get("/lm");
    clock.advance(2_000);
    const response = await client.fetch("/lm");
    assert.equal(response.headers.get("x-version"), "2");
    assert.deepEqual(await response.json(), { body: "original" });
    assert.equal(
      origin.requests("/lm")[1]!.headers["if-modified-since"],
      lastModified,
    );
    clock.advance(100_000);
    await client.get("/lm");
    assert.equal(origin.calls("/lm"), 2);
  });

  it("replaces the entry when the origin answers a conditional request with a new body", async () => {
    origin.route("/changing", (req) => ({
      body: { version: req.n },
      headers: { "cache-control": "max-age=1", etag: `"${req.n}"` },
      conditional: true,
    }));
    assert.deepEqual(await client.get("/changing"), { version: 1 });
    clock.advance(2_000);
    assert.deepEqual(await client.get("/changing"), { version: 2 });
    assert.equal(log.of("cache.revalidated")[0]?.status, 200);
    assert.deepEqual(await client.get("/changing"), { version: 2 });
    assert.equal(origin.calls("/changing"), 2);
  });

  it("revalidates on every use a response marked no-cache", async () => {
    origin.route("/nocache", {
      body: "same",
      headers: { "cache-control": "no-cache", etag: '"same"' },
      conditional: true,
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(await client.get("/nocache"), "same");
    }
    const requests = origin.requests("/nocache");
    assert.equal(requests.length, 3);
    assert.equal(requests[0]!.headers["if-none-match"], undefined);
    assert.equal(requests[2]!.headers["if-none-match"], '"same"');
    assert.equal(log.of("cache.revalidated").length, 2);
  });

  it("refetches in full when a 304 describes another representation", async () => {
    origin.route(
      "/mismatch",
      (req) =>
        req.headers["if-none-match"] !== undefined
          ? { status: 304, headers: { etag: '"other"' } }
          : {
            body: { full: req.n },
            headers: { "cache-control": "max-age=1", etag: '"mine"' },
          },
    );
    await client.get("/mismatch");
    clock.advance(2_000);
    assert.deepEqual(await client.get("/mismatch"), { full: 3 });
    assert.equal(origin.calls("/mismatch"), 3);
  });
});

// Asserts that `create` throws a ConfigError naming `option`, whose message
// matches `message`.
function rejects(create: () => unknown, option: string, message: RegExp): void {
  assert.throws(create, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.option, option);
    assert.match(error.message, message);
    return true;
  });
}

describe("HttpClient option validation", () => {
  it("throws ConfigError saying a name is required when given no options object", () => {
    const Client = HttpClient as unknown as new (options?: unknown) => unknown;
    for (const options of [undefined, null, 5, "api", true, []]) {
      rejects(
        () => new Client(options),
        "options",
        /^Cannot create HttpClient as 'options' must be an object with a non-empty string 'name'/,
      );
    }
    rejects(
      () => new Client(),
      "options",
      /'options' must be an object with a non-empty string 'name'.*: received undefined$/,
    );
  });

  it("names 'cache.ttl' for a ttl too large to be a lifetime", () => {
    const store = new MemoryCacheStore();
    for (const ttl of [1e16, Number.MAX_VALUE]) {
      rejects(
        () => new HttpClient({ name: "a", cache: { store, ttl } }),
        "cache.ttl",
        /^Cannot create HttpClient as 'cache\.ttl' must be at most \d+ seconds: received /,
      );
    }
  });
});

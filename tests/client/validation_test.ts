import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
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
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
    origin.route("/ok", { body: "ok" });
  });
  after(async () => {
    await origin.close();
  });

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

  it("rejects a misspelled option key, naming its path and the real key", () => {
    const cacheStore = new MemoryCacheStore();
    const rateStore = new MemoryRateLimitStore();
    const dedupeStore = new MemoryDedupeStore();
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ timeouts: 1_000 }, "timeouts", "timeout"],
      [{ baseURL: origin.url }, "baseURL", "baseUrl"],
      [{ nmae: "a" }, "nmae", "name"],
      [{ maxBodySize: 10 }, "maxBodySize", "maxBodyBytes"],
      [{ storeTimeout: 10 }, "storeTimeout", "storeTimeoutMs"],
      [{ onEvents: () => {} }, "onEvents", "onEvent"],
      [{ retry: { attempt: 3 } }, "retry.attempt", "retry.attempts"],
      [{ retry: { baseDelay: 5 } }, "retry.baseDelay", "retry.baseDelayMs"],
      [
        { cache: { store: cacheStore, ttlSeconds: 60 } },
        "cache.ttlSeconds",
        "cache.ttl",
      ],
      [
        { cache: { store: cacheStore, overrides: { ignoreNoStor: true } } },
        "cache.overrides.ignoreNoStor",
        "cache.overrides.ignoreNoStore",
      ],
      [
        { rateLimit: { store: rateStore, maxWait: 10 } },
        "rateLimit.maxWait",
        "rateLimit.maxWaitMs",
      ],
      [
        { rateLimit: { store: rateStore, fail_open: false } },
        "rateLimit.fail_open",
        "rateLimit.failOpen",
      ],
      [
        { dedupe: { store: dedupeStore, stores: dedupeStore } },
        "dedupe.stores",
        "dedupe.store",
      ],
      [
        { timeout: { attemptMS: 10 } },
        "timeout.attemptMS",
        "timeout.attemptMs",
      ],
      [{ timeout: { total: 10 } }, "timeout.total", "timeout.totalMs"],
    ];
    for (const [extra, option, suggestion] of cases) {
      rejects(
        () => new HttpClient({ name: "a", ...extra } as HttpClientOptions),
        option,
        new RegExp(
          `^Cannot create HttpClient as '${
            option.replaceAll(".", "\\.")
          }' must be a known option \\(did you mean '${
            suggestion.replaceAll(".", "\\.")
          }'\\?\\)`,
        ),
      );
    }
  });

  it("lists the known options for an unknown key that resembles none", () => {
    rejects(
      () => new HttpClient({ name: "a", retry: { jitter: true } } as never),
      "retry.jitter",
      /^Cannot create HttpClient as 'retry\.jitter' must be a known option \(retry\.attempts, retry\.baseDelayMs, retry\.maxDelayMs, retry\.methods or retry\.statuses\): received true$/,
    );
    assert.throws(
      () => new HttpClient({ name: "a", store: {} } as never),
      (error: unknown) =>
        error instanceof ConfigError && error.option === "store" &&
        !error.message.includes("did you mean"),
    );
  });

  it("checks the keys of its own option objects but not of user values", async () => {
    const store = new MemoryCacheStore();
    // A user's store, clock, transport and headers may carry any keys,
    // even ones that look like options.
    const userStore = {
      get: store.get.bind(store),
      set: store.set.bind(store),
      delete: store.delete.bind(store),
      clear: store.clear.bind(store),
      close: store.close.bind(store),
      ttl: 5,
      label: "mine",
    };
    const transport = Object.assign(
      (input: string | URL | Request, init?: RequestInit) =>
        globalThis.fetch(input, init),
      { retries: 1 },
    );
    const client = new HttpClient({
      name: "a",
      baseUrl: origin.url,
      headers: { "x-trace": "1", timeout: "5" },
      fetch: transport,
      cache: { store: userStore, ttl: 60 },
      clock: Object.assign(new ManualClock(Date.now()), { zone: "UTC" }),
    });
    assert.equal(await client.get("/ok"), "ok");
    await client.close();
    rejects(
      () =>
        new HttpClient({
          name: "a",
          cache: { store: userStore, ttlSecond: 60 },
        } as never),
      "cache.ttlSecond",
      /did you mean 'cache\.ttl'\?/,
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

  it("rejects a misspelled key of a request's cache or timeout options, sending nothing", async () => {
    origin.resetCounts();
    const client = new HttpClient({ name: "a", baseUrl: origin.url });
    const misspelled: Array<[Record<string, unknown>, string, string]> = [
      [{ cache: { maxage: 5 } }, "cache.maxage", "cache.maxAge"],
      [
        { cache: { mode: "reload", minfresh: 1 } },
        "cache.minfresh",
        "cache.minFresh",
      ],
      [
        { timeout: { attemptMS: 50 } },
        "timeout.attemptMS",
        "timeout.attemptMs",
      ],
    ];
    for (const [init, option, suggestion] of misspelled) {
      const check = (error: unknown): boolean => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.option, option);
        assert.ok(
          error.message.includes(`did you mean '${suggestion}'?`),
          error.message,
        );
        return true;
      };
      await assert.rejects(client.fetch("/ok", init as never), check);
      await assert.rejects(client.get("/ok", init as never), check);
    }
    // A helper's own options are a fixed set too.
    for (
      const [options, option, suggestion] of [
        [{ timout: 50 }, "timout", "timeout"],
        [{ header: { a: "1" } }, "header", "headers"],
        [{ priorty: "user" }, "priorty", "priority"],
      ] as const
    ) {
      await assert.rejects(
        client.get("/ok", options as never),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.option, option);
          assert.ok(
            error.message.includes(`did you mean '${suggestion}'?`),
            error.message,
          );
          return true;
        },
      );
    }
    await assert.rejects(client.get("/ok", "fast" as never), ConfigError);
    assert.equal(origin.calls(), 0);
    // Standard RequestInit keys are never taken for misspelled options.
    const response = await client.fetch("/ok", {
      method: "GET",
      cache: "no-store",
      credentials: "same-origin",
      redirect: "follow",
      referrerPolicy: "no-referrer",
      keepalive: false,
    });
    assert.equal(await response.text(), "ok");
    await client.close();
  });
});

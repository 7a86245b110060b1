import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, SteppedClock } from "./_helpers.ts";

/** A cache store that keeps a copy of everything written to it, as text. */
class RecordingStore extends MemoryCacheStore<unknown> {
  readonly written: string[] = [];
  override set(key: string, value: unknown, ttl: number): Promise<boolean> {
    this.written.push(
      JSON.stringify(
        value,
        (_, v) => v instanceof Uint8Array ? new TextDecoder().decode(v) : v,
      ),
    );
    return super.set(key, value, ttl);
  }
}

describe("HttpClient privacy", () => {
  let origin: Origin;
  let clock: SteppedClock;
  let log: EventLog;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "privacy",
      baseUrl: origin.url,
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
    origin.route("/welcome", (req) => ({
      body: { n: req.n },
      headers: {
        "cache-control": "max-age=60",
        "set-cookie": `session=s${req.n}; HttpOnly`,
      },
      delayMs: 20,
    }));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock(Date.now());
    log = new EventLog();
  });

  it("never stores a Set-Cookie nor replays it from the cache", async () => {
    const store = new RecordingStore({ clock });
    const c = client({ cache: { store: store as CacheStore<unknown> } });
    const first = await c.fetch("/welcome");
    assert.equal(first.headers.get("set-cookie"), "session=s1; HttpOnly");
    await first.body?.cancel();
    const hit = await c.fetch("/welcome");
    assert.equal(hit.headers.get("set-cookie"), null);
    assert.deepEqual(await hit.json(), { n: 1 });
    assert.equal(origin.calls("/welcome"), 1);
    assert.ok(store.written.length > 0);
    for (const text of store.written) assert.ok(!text.includes("session="));
  });

  it("hands a Set-Cookie only to the caller whose request reached the origin", async () => {
    const c = client({ cache: { store: new MemoryCacheStore({ clock }) } });
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => c.fetch("/welcome")),
    );
    const cookies = responses.map((r) => r.headers.get("set-cookie"));
    assert.equal(cookies.filter((v) => v !== null).length, 1);
    assert.equal(origin.calls("/welcome"), 1);
  });

  it("never passes a Set-Cookie to another process through a dedupe store", async () => {
    const dedupe = new MemoryDedupeStore();
    const a = client({ dedupe: { store: dedupe } });
    const b = client({ dedupe: { store: dedupe } });
    const [first, second] = await Promise.all([
      a.fetch("/welcome"),
      b.fetch("/welcome"),
    ]);
    assert.equal(origin.calls("/welcome"), 1);
    const cookies = [first, second].map((r) => r.headers.get("set-cookie"));
    assert.equal(cookies.filter((v) => v !== null).length, 1);
    await dedupe.close();
  });

  it("keeps nothing derived from a credential in a Vary selection it stores or shares", async () => {
    origin.route("/profile", (req) => ({
      body: { n: req.n },
      headers: {
        "cache-control": "max-age=60",
        vary: "X-Api-Key, Authorization, Accept",
      },
    }));
    const cache = new RecordingStore({ clock });
    const dedupe = new MemoryDedupeStore();
    const shared: string[] = [];
    const recordingDedupe = new Proxy(dedupe, {
      get(target, name) {
        if (name === "complete") {
          return (key: string, value: unknown) => {
            shared.push(
              JSON.stringify(value, (_, v) => v instanceof Uint8Array ? "" : v),
            );
            return target.complete(key, value);
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const c = client({
      cache: { store: cache as CacheStore<unknown> },
      dedupe: { store: recordingDedupe },
      credentialHeaders: ["x-api-key"],
    });
    const users = [
      { "x-api-key": "key-of-alice", authorization: "Bearer token-of-alice" },
      { "x-api-key": "key-of-bob", authorization: "Bearer token-of-bob" },
    ];
    for (const [i, headers] of users.entries()) {
      const request = { headers: { ...headers, accept: "application/json" } };
      assert.deepEqual(await c.get("/profile", request), { n: i + 1 });
      // Served from the stored variant.
      assert.deepEqual(await c.get("/profile", request), { n: i + 1 });
    }
    assert.equal(origin.calls("/profile"), 2);
    const written = [...cache.written, ...shared];
    assert.ok(written.length >= 4);
    for (const text of written) {
      assert.ok(!/alice|bob/.test(text), text);
    }
    // What is stored for one user cannot tell them from another.
    const selections = cache.written
      .map((text) => JSON.parse(text).varyHeaders)
      .filter((v) => v !== undefined);
    assert.equal(selections.length, 2);
    assert.deepEqual(selections[0], selections[1]);
    await dedupe.close();
  });

  it("never puts a credential in an event, a store key or an error", async () => {
    const secrets = ["alice-token-1234", "cookie-value-5678", "api-key-9012"];
    const keys: string[] = [];
    const recording = <T extends object>(store: T): T =>
      new Proxy(store, {
        get(target, name) {
          const value = Reflect.get(target, name, target);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            for (const arg of args) if (typeof arg === "string") keys.push(arg);
            return value.apply(target, args);
          };
        },
      });
    const failing = {
      get: () => Promise.reject(new Error("cache down")),
      set: () => Promise.reject(new Error("cache down")),
      delete: () => Promise.reject(new Error("cache down")),
      clear: () => Promise.resolve(),
      close: () => Promise.resolve(),
    } as CacheStore<unknown>;
    origin.route(
      "/limited",
      (req) =>
        req.n === 1
          ? { status: 429, headers: { "retry-after": "0.02" }, body: "slow" }
          : { body: "ok", headers: { "cache-control": "max-age=60" } },
    );
    const errors: unknown[] = [];
    const headers = {
      authorization: `Bearer ${secrets[0]}`,
      cookie: `session=${secrets[1]}`,
      "x-api-key": secrets[2]!,
    };
    for (const cache of [new MemoryCacheStore({ clock }), failing]) {
      origin.resetCounts();
      const c = client({
        headers,
        credentialHeaders: ["X-Api-Key"],
        cache: { store: recording(cache) },
        dedupe: { store: recording(new MemoryDedupeStore()) },
        rateLimit: {
          store: recording(
            new MemoryRateLimitStore({
              defaultConfig: { limit: 2, windowMs: 60_000 },
            }),
          ),
          throwOnLimit: true,
        },
        retry: { attempts: 1, baseDelayMs: 1 },
      });
      const calls = [
        () => c.get("/limited"),
        () => c.get("/limited"),
        () => c.get("/limited"),
        () => c.post("/limited", { a: 1 }),
        () => c.get("/limited", { timeout: 1 }),
      ];
      for (const call of calls) {
        await drive(clock, call().catch((e) => errors.push(e)));
      }
    }
    assert.ok(errors.length > 0 && keys.length > 0);
    const text = JSON.stringify(
      [log.events, keys, errors],
      (_, v) =>
        v instanceof Error
          ? { message: v.message, stack: v.stack, cause: v.cause }
          : v,
    );
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
  });

  it("sends a URL's user info as Basic credentials, and keeps it out of URLs, stores and events", async () => {
    origin.route("/basic", (req) => ({
      status: req.headers.authorization === `Basic ${btoa("cy:third-pw")}`
        ? 500
        : 200,
      body: { authorization: req.headers.authorization ?? null },
      headers: { "cache-control": "max-age=60" },
    }));
    const store = new RecordingStore({ clock });
    const c = client({ cache: { store: store as CacheStore<unknown> } });
    const at = (userinfo: string) =>
      `${origin.url.replace("http://", `http://${userinfo}@`)}/basic`;
    const basic = (text: string) => `Basic ${btoa(text)}`;
    assert.deepEqual(await c.get(at("ann:s3cret-pw")), {
      authorization: basic("ann:s3cret-pw"),
    });
    // Cached for this user only.
    assert.deepEqual(await c.get(at("ann:s3cret-pw")), {
      authorization: basic("ann:s3cret-pw"),
    });
    assert.deepEqual(await c.get(at("ben:other-pw")), {
      authorization: basic("ben:other-pw"),
    });
    const response = await c.fetch(at("ann:s3cret-pw"), { cache: "reload" });
    assert.equal(response.url, `${origin.url}/basic`);
    await response.body?.cancel();
    const error = await c.get(at("cy:third-pw"), { cache: "reload" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error);
    assert.equal(origin.calls("/basic"), 4);
    const text = JSON.stringify(
      [log.events, store.written, error, String(error)],
      (_, v) =>
        v instanceof Error
          ? { message: v.message, url: (v as { url?: string }).url }
          : v,
    );
    for (
      const secret of ["s3cret-pw", "other-pw", "third-pw", "ann:", "ben:"]
    ) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
  });
});

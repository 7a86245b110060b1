// Fault paths that must never leave a promise rejection unhandled: each
// test drives one, then checks that no `unhandledrejection` event (Deno,
// browsers) or `unhandledRejection` process event (Bun, Node) fired.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  BodyTooLargeError,
  type CacheStore,
  type DedupeStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  type RateLimitStore,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { delay, drive, SteppedClock } from "./_helpers.ts";

const unhandled: unknown[] = [];
const onProcess = (reason: unknown): void => {
  unhandled.push(reason);
};
const onEvent = (event: Event): void => {
  unhandled.push((event as PromiseRejectionEvent).reason);
  event.preventDefault();
};

/** Lets pending jobs and short timers run, then reports what leaked. */
async function settled(): Promise<unknown[]> {
  await delay(30);
  return [...unhandled];
}

/** A store whose every method throws synchronously or rejects. */
function broken<T extends object>(
  methods: string[],
  how: "throw" | "reject",
): T {
  const store: Record<string, () => unknown> = {};
  for (const name of methods) {
    store[name] = how === "throw"
      ? () => {
        throw new Error(`${name} threw`);
      }
      : () => Promise.reject(new Error(`${name} rejected`));
  }
  return store as T;
}

const CACHE_METHODS = ["get", "set", "delete", "clear", "close"];
const DEDUPE_METHODS = [
  "register",
  "registerOrJoin",
  "waitFor",
  "complete",
  "fail",
  "isInProgress",
  "close",
];
const RATE_METHODS = [
  "acquire",
  "canProceed",
  "record",
  "getStatus",
  "reset",
  "getWaitTime",
  "setResourceConfig",
  "getResourceConfig",
  "setCooldown",
  "getCooldown",
];

describe("HttpClient leaves no promise rejection unhandled", () => {
  let origin: Origin;
  let clock: SteppedClock;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions>): HttpClient => {
    const c = new HttpClient({
      name: "unhandled",
      baseUrl: origin.url,
      clock,
      retry: false,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
    origin.route("/ok", {
      body: { ok: true },
      headers: { "cache-control": "max-age=1, stale-while-revalidate=60" },
    });
    globalThis.addEventListener?.("unhandledrejection", onEvent);
    process.on("unhandledRejection", onProcess);
  });
  after(async () => {
    globalThis.removeEventListener?.("unhandledrejection", onEvent);
    process.off("unhandledRejection", onProcess);
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock(Date.now());
  });
  // Deno's node:test ignores a failing async afterEach: check in the test.
  const leakless = (name: string, fn: () => Promise<void>): void => {
    it(name, async () => {
      unhandled.length = 0;
      await fn();
      assert.deepEqual(await settled(), []);
    });
  };

  leakless("when the event listener throws or rejects", async () => {
    for (
      const onEvent of [
        () => {
          throw new Error("listener threw");
        },
        () => Promise.reject(new Error("listener rejected")),
        () =>
          ({
            then() {
              throw new Error("thenable threw");
            },
          }) as unknown as Promise<void>,
      ]
    ) {
      const c = client({
        onEvent,
        cache: { store: new MemoryCacheStore({ clock }) },
      });
      assert.deepEqual(await c.get("/ok"), { ok: true });
      await assert.rejects(c.get("/missing"));
    }
  });

  leakless(
    "when every store method throws synchronously or rejects",
    async () => {
      for (const how of ["throw", "reject"] as const) {
        for (const failOpen of [true, false]) {
          const c = client({
            cache: { store: broken<CacheStore>(CACHE_METHODS, how) },
            dedupe: { store: broken<DedupeStore>(DEDUPE_METHODS, how) },
            rateLimit: {
              store: broken<RateLimitStore>(RATE_METHODS, how),
              failOpen,
            },
            onEvent: () => {},
          });
          const results = await Promise.allSettled(
            Array.from({ length: 5 }, () => c.get("/ok")),
          );
          for (const result of results) {
            assert.equal(result.status, failOpen ? "fulfilled" : "rejected");
          }
          await assert.rejects(c.clearCache());
        }
      }
    },
  );

  leakless("when a background revalidation fails after close()", async () => {
    let down = false;
    const c = client({
      cache: { store: new MemoryCacheStore({ clock }) },
      fetch: async (input, init) => {
        if (down) {
          await delay(10);
          throw new TypeError("connection refused");
        }
        return await fetch(input, init);
      },
      onEvent: () => {},
    });
    await c.get("/ok");
    clock.advance(5_000);
    down = true;
    assert.deepEqual(await c.get("/ok"), { ok: true });
    await c.close();
  });

  leakless("when a joiner aborts and the flight later fails", async () => {
    origin.route("/fails-late", { destroy: true, delayMs: 20 });
    const c = client({});
    const controller = new AbortController();
    const owner = c.get("/fails-late");
    const joiner = c.get("/fails-late", { signal: controller.signal });
    controller.abort(new Error("joiner left"));
    await assert.rejects(joiner, /joiner left/);
    await assert.rejects(owner, TypeError);
  });

  leakless("when every caller of a flight leaves before it fails", async () => {
    origin.route("/abandoned", { destroy: true, delayMs: 20 });
    const c = client({ dedupe: { store: new MemoryDedupeStore() } });
    const controller = new AbortController();
    const callers = Array.from(
      { length: 3 },
      () => c.get("/abandoned", { signal: controller.signal }),
    );
    await delay(5);
    controller.abort(new Error("all left"));
    for (const caller of callers) await assert.rejects(caller, /all left/);
    await delay(40);
  });

  leakless("when a body fails mid-read, buffered or streamed", async () => {
    for (const maxBodyBytes of [1 << 20, 10]) {
      const c = client({
        maxBodyBytes,
        fetch: () => {
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent++ < 2) {
                controller.enqueue(new TextEncoder().encode("0123456789"));
              } else controller.error(new TypeError("connection reset"));
            },
          });
          return Promise.resolve(new Response(body));
        },
      });
      await assert.rejects(async () => {
        const response = await c.fetch("/reset");
        await response.text();
      }, /connection reset/);
      // Past maxBodyBytes, the helpers refuse the body before it fails.
      await assert.rejects(
        c.get("/reset"),
        maxBodyBytes === 10 ? BodyTooLargeError : /connection reset/,
      );
    }
  });

  leakless("when fetch throws synchronously", async () => {
    const c = client({
      fetch: () => {
        throw new TypeError("sync failure");
      },
      retry: { attempts: 2, baseDelayMs: 1 },
      onEvent: () => {},
    });
    await assert.rejects(drive(clock, c.get("/x")), /sync failure/);
    await assert.rejects(drive(clock, c.post("/x", "body")), /sync failure/);
  });

  leakless("on malformed caching, retry and rate-limit fields", async () => {
    const malformed: Record<string, string>[] = [
      { "cache-control": 'max-age="abc", s-maxage=-1, no-cache="' },
      { "cache-control": "max-age=99999999999999999999999" },
      { expires: "yesterday at noon" },
      { expires: "0", "last-modified": "not a date", etag: "unquoted" },
      { "retry-after": "soon" },
      { "retry-after": "-5" },
      { "retry-after": "Wed, 99 Foo 2024 99:99:99 GMT" },
      { "content-length": "abc" },
      { "content-length": "-1" },
      { "content-length": "99999999999999999999" },
      { "ratelimit-reset": "NaN", "ratelimit-remaining": "-1" },
      { ratelimit: 'limit=abc, remaining="0", reset=' },
      { vary: ",,, ,*" },
      { age: "-3" },
      { date: "garbage" },
    ];
    for (const headers of malformed) {
      for (const status of [200, 429, 503]) {
        const c = client({
          cache: { store: new MemoryCacheStore({ clock }) },
          rateLimit: { store: new MemoryRateLimitStore({ clock }) },
          retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 5 },
          fetch: () =>
            Promise.resolve(new Response("body", { status, headers })),
        });
        const response = await drive(clock, c.fetch("/malformed"));
        assert.equal(response.status, status);
        await response.text();
        await c.fetch("/malformed", { cache: "only-if-cached" }).then((r) =>
          r.body?.cancel()
        );
        await c.close();
      }
    }
  });

  leakless("when a body larger than maxBodyBytes is never read", async () => {
    origin.route("/large", { body: "y".repeat(10_000) });
    const c = client({ maxBodyBytes: 100, timeout: 50 });
    const response = await c.fetch("/large");
    assert.equal(response.status, 200);
    // The total deadline passes with the body unread.
    await clock.advanceAsync(50);
    await assert.rejects(
      response.text(),
      (error) => error instanceof TimeoutError && error.phase === "total",
    );
    const cancelled = await c.fetch("/large");
    await cancelled.body?.cancel();
  });

  leakless(
    "when the helpers refuse a body larger than maxBodyBytes, to a flight's owner and its joiners",
    async () => {
      origin.route("/huge", {
        headers: {
          "cache-control": "max-age=60",
          "content-type": "text/plain",
        },
        chunks: ["z".repeat(5_000), "z".repeat(5_000)],
      });
      const c = client({
        maxBodyBytes: 1_000,
        cache: { store: new MemoryCacheStore({ clock }) },
        dedupe: { store: new MemoryDedupeStore({ clock }) },
      });
      const settled = await Promise.allSettled([
        c.get("/huge"),
        c.get("/huge"),
        c.fetch("/huge").then((r) => r.text()),
        c.post("/huge", "q"),
      ]);
      assert.deepEqual(settled.map((r) => r.status), [
        "rejected",
        "rejected",
        "fulfilled",
        "rejected",
      ]);
      for (const result of [settled[0], settled[1], settled[3]]) {
        assert.ok(
          (result as PromiseRejectedResult).reason instanceof BodyTooLargeError,
        );
      }
    },
  );

  leakless("on responses without a body: 204, 304 and HEAD", async () => {
    for (const status of [204, 304]) {
      const c = client({
        cache: { store: new MemoryCacheStore({ clock }) },
        fetch: () =>
          Promise.resolve(
            new Response(null, {
              status,
              headers: { "cache-control": "max-age=60" },
            }),
          ),
      });
      const response = await c.fetch("/empty");
      assert.equal(response.status, status);
      assert.equal(await response.text(), "");
      if (status === 204) assert.equal(await c.get("/empty"), undefined);
    }
    const c = client({ cache: { store: new MemoryCacheStore({ clock }) } });
    const headers = await c.head("/ok");
    assert.equal(headers.get("content-type"), "application/json");
    assert.equal((await c.fetch("/ok", { method: "HEAD" })).body, null);
  });
});

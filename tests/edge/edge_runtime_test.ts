// sluice in Vercel's edge runtime (the `edge-runtime` package): workers
// bundled as a user bundles them, with their HttpClient and stores built at
// module scope, serving concurrent `fetch` events and handing background work
// to each event's waitUntil.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  bundleWorker,
  type EdgeRuntimeWorker,
  startEdgeRuntime,
} from "../fixtures/edge.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import {
  type RedisServer,
  startRedisServer,
} from "../fixtures/redis_server.ts";
import { type SqldServer, startSqld } from "../fixtures/sqld.ts";
import {
  startUpstashBridge,
  type UpstashBridge,
} from "../fixtures/upstash_bridge.ts";
import { eventually, gate, settles } from "./_helpers.ts";

let origin: Origin;
let redis: RedisServer;
let bridge: UpstashBridge;
let sqld: SqldServer;
let memory: EdgeRuntimeWorker;
let upstash: EdgeRuntimeWorker;
let libsql: EdgeRuntimeWorker;

// The handler of every worker: the event's own waitUntil for each request.
const LISTEN = `
addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request, (promise) => event.waitUntil(promise)));
});
`;

const MEMORY = `
import { MemoryCacheStore } from "@root/mod.ts";
import { edgeApp } from "@root/tests/fixtures/edge_app.ts";

const handle = edgeApp({ cache: new MemoryCacheStore() });
${LISTEN}`;

const upstashWorker = (config: Record<string, unknown>) => `
import { Redis } from "@upstash/redis";
import { createUpstashStores } from "@root/adapters/upstash/mod.ts";
import { edgeApp } from "@root/tests/fixtures/edge_app.ts";

const config = ${JSON.stringify(config)};
const stores = createUpstashStores({
  keyPrefix: config.keyPrefix,
  redis: new Redis({
    url: config.url,
    token: config.token,
    automaticDeserialization: false,
    enableTelemetry: false,
  }),
});
const handle = edgeApp({ cache: stores.cache, dedupe: stores.dedupe });
${LISTEN}`;

const libsqlWorker = (url: string) => `
import {
  LibsqlCacheStore,
  LibsqlDedupeStore,
} from "@root/adapters/libsql/mod.ts";
import { edgeApp } from "@root/tests/fixtures/edge_app.ts";

const url = ${JSON.stringify(url)};
const handle = edgeApp({
  cache: new LibsqlCacheStore({ url }),
  dedupe: new LibsqlDedupeStore({ url }),
});
${LISTEN}`;

/** `/call` of `path` at the origin, with more query parameters. */
function call(path: string, query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ url: `${origin.url}${path}`, ...query });
  return `/call?${params}`;
}

async function stats(
  worker: EdgeRuntimeWorker,
): Promise<Record<string, number>> {
  return (await worker.call("/stats")).counts ?? {};
}

describe("sluice in Vercel's edge runtime", () => {
  before(async () => {
    [origin, redis, sqld] = await Promise.all([
      startOrigin(),
      startRedisServer(),
      startSqld(),
    ]);
    bridge = await startUpstashBridge({ redisPort: redis.port });
    const [memoryScript, upstashScript, libsqlScript] = await Promise.all([
      bundleWorker(MEMORY),
      bundleWorker(upstashWorker({
        url: bridge.url,
        token: bridge.token,
        keyPrefix: `edge-${crypto.randomUUID().slice(0, 8)}:`,
      })),
      bundleWorker(libsqlWorker(sqld.url), { web: true }),
    ]);
    memory = startEdgeRuntime(memoryScript);
    upstash = startEdgeRuntime(upstashScript);
    libsql = startEdgeRuntime(libsqlScript);
  });
  after(async () => {
    await bridge?.close();
    await Promise.all([origin?.close(), redis?.close(), sqld?.stop()]);
  });
  beforeEach(() => origin.resetCounts());

  it("runs a module-scope HttpClient in a runtime without AbortSignal.any", async () => {
    assert.equal(memory.evaluate("typeof AbortSignal.any"), "undefined");
    origin.route("/hello", { body: { hello: "edge" } });
    assert.deepEqual(await memory.call(call("/hello")), {
      status: "ok",
      data: { hello: "edge" },
    });
  });

  it("makes one origin call for identical concurrent requests, and serves the next from the cache", async () => {
    const open = gate();
    origin.route("/shared", async (request) => {
      await open.promise;
      return {
        body: { n: request.n },
        headers: { "cache-control": "max-age=600" },
      };
    });
    const before = await stats(memory);
    const replies = Array.from(
      { length: 6 },
      () => memory.call(call("/shared", { timeout: "60000" })),
    );
    await eventually(async () =>
      (await stats(memory)).request === (before.request ?? 0) + 6 &&
      origin.calls("/shared") === 1
    );
    open.resolve();
    for (const reply of await settles(Promise.all(replies))) {
      assert.deepEqual(reply, { status: "ok", data: { n: 1 } });
    }
    assert.deepEqual(await memory.call(call("/shared")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.equal(origin.calls("/shared"), 1);
  });

  it("hands a stale-while-revalidate revalidation to the event's waitUntil, which settles once the new response is stored", async () => {
    const second = gate();
    origin.route("/swr", async (request) => {
      if (request.n === 2) await second.promise;
      return {
        body: { version: request.n },
        headers: { "cache-control": "max-age=0, stale-while-revalidate=600" },
      };
    });
    assert.deepEqual(await memory.call(call("/swr")), {
      status: "ok",
      data: { version: 1 },
    });
    const stale = await memory.dispatch(call("/swr"));
    assert.deepEqual(stale.reply, { status: "ok", data: { version: 1 } });
    let settled = false;
    const background = stale.waitUntil.then(() => {
      settled = true;
    });
    await eventually(() => Promise.resolve(origin.calls("/swr") === 2));
    // The revalidation waits at the origin: so does the event.
    assert.equal(settled, false);
    second.resolve();
    await settles(background);
    assert.deepEqual(await memory.call(call("/swr")), {
      status: "ok",
      data: { version: 2 },
    });
  });

  it("caches and de-duplicates through the Upstash stores built at module scope", async () => {
    const open = gate();
    origin.route("/upstash", async (request) => {
      await open.promise;
      return {
        body: { n: request.n },
        headers: { "cache-control": "max-age=600" },
      };
    });
    const replies = [
      upstash.call(call("/upstash")),
      upstash.call(call("/upstash")),
    ];
    await eventually(async () =>
      (await stats(upstash)).request === 2 && origin.calls("/upstash") === 1
    );
    open.resolve();
    assert.deepEqual(await settles(Promise.all(replies)), [
      { status: "ok", data: { n: 1 } },
      { status: "ok", data: { n: 1 } },
    ]);
    assert.deepEqual(await upstash.call(call("/upstash")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.equal(origin.calls("/upstash"), 1);
    assert.deepEqual((await upstash.call("/stats")).errors, []);
  });

  it("caches across requests in libSQL over HTTP with the web client", async () => {
    origin.route("/libsql", (request) => ({
      body: { n: request.n },
      headers: { "cache-control": "max-age=600" },
    }));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await libsql.call(call("/libsql")), {
        status: "ok",
        data: { n: 1 },
      });
    }
    assert.equal(origin.calls("/libsql"), 1);
    assert.deepEqual((await libsql.call("/stats")).errors, []);
  });
});

// sluice on Cloudflare Workers: workers bundled as a user bundles them, run
// by workerd (through miniflare), each with its HttpClient and stores built
// at module scope and serving concurrent incoming requests. Every worker
// shares one workerd, started once for the file.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
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
import {
  bundleWorker,
  type EdgeWorker,
  startWorkerd,
  type Workerd,
} from "../fixtures/edge.ts";
import { eventually, gate, settles } from "./_helpers.ts";

let origin: Origin;
let redis: RedisServer;
let bridge: UpstashBridge;
let sqld: SqldServer;
let workerd: Workerd;
let main: EdgeWorker;
let limited: EdgeWorker;

const MAIN = `
import { waitUntil } from "cloudflare:workers";
import { MemoryCacheStore } from "@root/mod.ts";
import { edgeApp } from "@root/tests/fixtures/edge_app.ts";

const handle = edgeApp({
  cache: new MemoryCacheStore(),
  platformWaitUntil: waitUntil,
});
export default {
  fetch: (request, env, ctx) => handle(request, (promise) => ctx.waitUntil(promise)),
};
`;

const LIMITED = `
import { MemoryRateLimitStore } from "@root/mod.ts";
import { edgeApp, WorkerClock } from "@root/tests/fixtures/edge_app.ts";

const clock = new WorkerClock();
const handle = edgeApp({
  clock,
  rateLimit: new MemoryRateLimitStore({
    clock,
    defaultConfig: { limit: 1, windowMs: 1_000 },
  }),
});
export default {
  fetch: (request, env, ctx) => handle(request, (promise) => ctx.waitUntil(promise)),
};
`;

// Two workers (two isolates, as two locations would be) on one Upstash
// database: one with an @upstash/redis client, one with a URL and token.
const upstash = (config: Record<string, unknown>, redisClient: boolean) => `
import { Redis } from "@upstash/redis";
import { createUpstashStores } from "@root/adapters/upstash/mod.ts";
import { edgeApp } from "@root/tests/fixtures/edge_app.ts";

const config = ${JSON.stringify(config)};
const stores = createUpstashStores(${
  redisClient
    ? `{
  keyPrefix: config.keyPrefix,
  redis: new Redis({
    url: config.url,
    token: config.token,
    automaticDeserialization: false,
    enableTelemetry: false,
  }),
}`
    : "config"
});
const handle = edgeApp({ cache: stores.cache, dedupe: stores.dedupe });
export default {
  fetch: (request, env, ctx) => handle(request, (promise) => ctx.waitUntil(promise)),
};
`;

const libsql = (url: string) => `
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
export default {
  fetch: (request, env, ctx) => handle(request, (promise) => ctx.waitUntil(promise)),
};
`;

// Every entry imported in full, and every store built at module scope, with
// one client on each kind: none may do I/O, set a timer or draw a random
// value before a request comes.
const everything = (upstashUrl: string, token: string, libsqlUrl: string) => `
import * as core from "@root/mod.ts";
import * as upstash from "@root/adapters/upstash/mod.ts";
import * as libsql from "@root/adapters/libsql/mod.ts";
import * as dashboard from "@root/dashboard/mod.ts";

const budget = { defaultConfig: { limit: 100, windowMs: 60_000 } };
const remote = { url: ${JSON.stringify(upstashUrl)}, token: ${
  JSON.stringify(token)
} };
const file = { url: ${JSON.stringify(libsqlUrl)} };
const sets = [
  {
    cache: new core.MemoryCacheStore(),
    dedupe: new core.MemoryDedupeStore(),
    rateLimit: new core.MemoryRateLimitStore(budget),
    adaptive: new core.MemoryAdaptiveRateLimitStore(budget),
  },
  {
    cache: new upstash.UpstashCacheStore(remote),
    dedupe: new upstash.UpstashDedupeStore(remote),
    rateLimit: new upstash.UpstashRateLimitStore({ ...remote, ...budget }),
    adaptive: new upstash.UpstashAdaptiveRateLimitStore({ ...remote, ...budget }),
  },
  {
    ...upstash.createUpstashStores({ ...remote, rateLimit: budget, adaptive: true }),
    adaptive: undefined,
  },
  {
    cache: new libsql.LibsqlCacheStore(file),
    dedupe: new libsql.LibsqlDedupeStore(file),
    rateLimit: new libsql.LibsqlRateLimitStore({ ...file, ...budget }),
    adaptive: new libsql.LibsqlAdaptiveRateLimitStore({ ...file, ...budget }),
  },
];
const clients = sets.flatMap((set, i) => [
  new core.HttpClient({
    name: "all-" + i,
    cache: { store: set.cache },
    dedupe: { store: set.dedupe },
    rateLimit: { store: set.rateLimit },
  }),
  ...(set.adaptive === undefined ? [] : [
    new core.HttpClient({ name: "adaptive-" + i, rateLimit: { store: set.adaptive } }),
  ]),
]);
const scoped = clients.map((client) => client.scope("tenant", "t1"));
const metrics = core.createMetrics();
const token = "edge-dashboard-token-0123456789";
const board = dashboard.createDashboard({ clients: scoped, metrics, token });

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/dashboard") {
      // The dashboard, answering inside the worker.
      const page = await board(new Request("http://worker.test/ops/"));
      const json = await board(
        new Request("http://worker.test/ops/api/status", {
          headers: { authorization: "Bearer " + token },
        }),
      );
      const denied = await board(new Request("http://worker.test/ops/api/status"));
      const body = await json.json();
      return Response.json({
        status: "ok",
        data: {
          page: page.status,
          hashed: /script-src 'sha256-[^']+'/.test(page.headers.get("content-security-policy") ?? ""),
          json: json.status,
          denied: denied.status,
          clients: body.clients.length,
        },
      });
    }
    return Response.json({
      status: "ok",
      data: {
        exports: [core, upstash, libsql, dashboard].map((entry) => Object.keys(entry).length),
        clients: scoped.length,
      },
    });
  },
};
`;

/** `/call` of `path` at the origin, with more query parameters. */
function call(path: string, query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ url: `${origin.url}${path}`, ...query });
  return `/call?${params}`;
}

async function stats(worker: EdgeWorker): Promise<Record<string, number>> {
  return (await worker.call("/stats")).counts ?? {};
}

describe("sluice on Cloudflare Workers (workerd)", () => {
  before(async () => {
    [origin, redis, sqld] = await Promise.all([
      startOrigin(),
      startRedisServer(),
      startSqld(),
    ]);
    bridge = await startUpstashBridge({ redisPort: redis.port });
    const upstashConfig = {
      url: bridge.url,
      token: bridge.token,
      keyPrefix: `edge-${crypto.randomUUID().slice(0, 8)}:`,
    };
    const [
      mainScript,
      limitedScript,
      upstashA,
      upstashB,
      libsqlScript,
      everythingScript,
    ] = await Promise.all([
      bundleWorker(MAIN),
      bundleWorker(LIMITED),
      bundleWorker(upstash(upstashConfig, true)),
      bundleWorker(upstash(upstashConfig, false)),
      bundleWorker(libsql(sqld.url), { web: true }),
      bundleWorker(everything(bridge.url, bridge.token, sqld.url), {
        web: true,
      }),
    ]);
    workerd = await startWorkerd({
      main: mainScript,
      limited: limitedScript,
      upstashA,
      upstashB,
      libsql: libsqlScript,
      everything: everythingScript,
    });
    main = workerd.workers.main!;
    limited = workerd.workers.limited!;
  });
  after(async () => {
    await workerd?.close();
    await bridge?.close();
    await Promise.all([origin?.close(), redis?.close(), sqld?.stop()]);
  });
  beforeEach(() => origin.resetCounts());

  it("starts a worker that builds its HttpClient and memory stores at module scope", async () => {
    origin.route("/hello", { body: { hello: "edge" } });
    assert.deepEqual(await main.call(call("/hello")), {
      status: "ok",
      data: { hello: "edge" },
    });
  });

  it("loads every entry and builds every store and client at module scope", async () => {
    const reply = await workerd.workers.everything!.call("/");
    assert.equal(reply.status, "ok");
    const { exports, clients } = reply.data as {
      exports: number[];
      clients: number;
    };
    assert.equal(exports.length, 4);
    assert.ok(exports.every((count) => count > 0));
    assert.equal(clients, 7);
  });

  it("serves the dashboard from a worker: the page, and the JSON with the token only", async () => {
    const reply = await workerd.workers.everything!.call("/dashboard");
    assert.deepEqual(reply, {
      status: "ok",
      data: { page: 200, hashed: true, json: 200, denied: 401, clients: 7 },
    });
  });

  it("makes one origin call for identical requests that arrive in different incoming requests", async () => {
    const open = gate();
    origin.route("/shared", async () => {
      await open.promise;
      return { body: { n: 1 } };
    });
    const before = await stats(main);
    // A deadline gives each caller a signal, and the flight one of its own.
    const replies = Array.from(
      { length: 6 },
      () => main.call(call("/shared", { timeout: "60000" })),
    );
    await eventually(async () =>
      (await stats(main)).request === (before.request ?? 0) + 6 &&
      origin.calls("/shared") === 1
    );
    open.resolve();
    for (const reply of await settles(Promise.all(replies))) {
      assert.deepEqual(reply, { status: "ok", data: { n: 1 } });
    }
    assert.equal(origin.calls("/shared"), 1);
    const after = await stats(main);
    assert.equal(after["dedupe.joined"]! - (before["dedupe.joined"] ?? 0), 5);
  });

  it("serves a later request from the cache another request stored", async () => {
    origin.route("/cached", (request) => ({
      body: { n: request.n },
      headers: { "cache-control": "max-age=600" },
    }));
    assert.deepEqual(await main.call(call("/cached")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.deepEqual(await main.call(call("/cached")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.equal(origin.calls("/cached"), 1);
  });

  for (
    const [name, query] of [
      ["the request's waitUntil", {}],
      ["the client's waitUntil from cloudflare:workers", {
        client: "platform",
      }],
    ] as const
  ) {
    it(`completes a stale-while-revalidate revalidation after the response was returned, through ${name}`, async () => {
      const path = `/swr-${query.client ?? "request"}`;
      const second = gate();
      origin.route(path, async (request) => {
        if (request.n === 2) await second.promise;
        return {
          body: { version: request.n },
          headers: { "cache-control": "max-age=0, stale-while-revalidate=600" },
        };
      });
      assert.deepEqual(await main.call(call(path, query)), {
        status: "ok",
        data: { version: 1 },
      });
      const before = await stats(main);
      // Served stale at once; the revalidation waits at the origin.
      assert.deepEqual(await main.call(call(path, query)), {
        status: "ok",
        data: { version: 1 },
      });
      await eventually(() => Promise.resolve(origin.calls(path) === 2));
      second.resolve();
      // The platform ended nothing: the origin sent its answer in full, and
      // the client stored it.
      assert.equal(await settles(origin.requests(path)[1]!.closed), true);
      await eventually(async () =>
        (await stats(main))["cache.revalidated"] ===
          (before["cache.revalidated"] ?? 0) + 1
      );
      const third = await main.call(call(path, query));
      assert.deepEqual(third, { status: "ok", data: { version: 2 } });
    });
  }

  it("lets the callers of a flight leave from their own requests, and a later request starts afresh", async () => {
    const held = gate();
    origin.route("/abandoned", async (request) => {
      if (request.n === 1) await held.promise;
      return { body: { n: request.n } };
    });
    const [leaveA, leaveB] = [gate(), gate()];
    origin.route("/leave-a", async () => {
      await leaveA.promise;
      return { body: "go" };
    });
    origin.route("/leave-b", async () => {
      await leaveB.promise;
      return { body: "go" };
    });
    const owner = main.call(
      call("/abandoned", { leave: `${origin.url}/leave-a` }),
    );
    await eventually(() => Promise.resolve(origin.calls("/leave-a") === 1));
    const joiner = main.call(
      call("/abandoned", { leave: `${origin.url}/leave-b` }),
    );
    await eventually(() => Promise.resolve(origin.calls("/leave-b") === 1));
    assert.equal(origin.calls("/abandoned"), 1);
    leaveA.resolve();
    assert.deepEqual(await settles(owner), { status: "left" });
    // The last caller leaves: the flight's request is aborted, in the
    // request that sent it.
    leaveB.resolve();
    assert.deepEqual(await settles(joiner), { status: "left" });
    assert.equal(
      await settles(origin.requests("/abandoned")[0]!.closed),
      false,
    );
    assert.deepEqual(await settles(main.call(call("/abandoned"))), {
      status: "ok",
      data: { n: 2 },
    });
    held.resolve();
  });

  it("keeps a flight running through waitUntil when its caller does not wait, so that a later identical request joins it", async () => {
    const open = gate();
    origin.route("/detached", async () => {
      await open.promise;
      return { body: { warmed: true } };
    });
    assert.deepEqual(await main.call(call("/detached", { detach: "1" })), {
      status: "started",
    });
    await eventually(() => Promise.resolve(origin.calls("/detached") === 1));
    const before = await stats(main);
    const joiner = main.call(call("/detached"));
    await eventually(async () =>
      (await stats(main)).request === before.request! + 1
    );
    open.resolve();
    assert.deepEqual(await settles(joiner), {
      status: "ok",
      data: { warmed: true },
    });
    assert.equal(origin.calls("/detached"), 1);
  });

  it("without waitUntil, never joins a flight whose caller has gone: it sends its own request", async () => {
    const held = gate();
    origin.route("/orphan", async (request) => {
      if (request.n === 1) await held.promise;
      return { body: { n: request.n } };
    });
    const [leaveA, leaveB] = [gate(), gate()];
    origin.route("/orphan-leave-a", async () => {
      await leaveA.promise;
      return { body: "go" };
    });
    origin.route("/orphan-leave-b", async () => {
      await leaveB.promise;
      return { body: "go" };
    });
    const owner = main.call(call("/orphan", {
      wait: "none",
      leave: `${origin.url}/orphan-leave-a`,
    }));
    await eventually(() =>
      Promise.resolve(origin.calls("/orphan-leave-a") === 1)
    );
    const joiner = main.call(call("/orphan", {
      wait: "none",
      leave: `${origin.url}/orphan-leave-b`,
    }));
    await eventually(() =>
      Promise.resolve(origin.calls("/orphan-leave-b") === 1)
    );
    leaveA.resolve();
    assert.deepEqual(await settles(owner), { status: "left" });
    // The owner's request has ended, and with it, on Workers, its flight.
    const later = await settles(main.call(call("/orphan", { wait: "none" })));
    assert.deepEqual(later, { status: "ok", data: { n: 2 } });
    leaveB.resolve();
    assert.deepEqual(await settles(joiner), { status: "left" });
    held.resolve();
  });

  it("hands the rate-limit turn from one incoming request to the next", async () => {
    origin.route("/r1", { body: "r1" });
    origin.route("/r2", { body: "r2" });
    origin.route("/r3", { body: "r3" });
    assert.deepEqual(await limited.call(call("/r1")), {
      status: "ok",
      data: "r1",
    });
    const waiting = [limited.call(call("/r2")), limited.call(call("/r3"))];
    await eventually(async () =>
      (await stats(limited))["ratelimit.wait"] === 2
    );
    // Past the window the first in line is admitted, and gives the turn to
    // the other, which waits for the next window.
    await limited.call("/advance?ms=5000");
    await eventually(async () =>
      (await stats(limited))["ratelimit.wait"] === 3
    );
    await limited.call("/advance?ms=5000");
    const replies = await settles(Promise.all(waiting));
    assert.deepEqual(replies, [
      { status: "ok", data: "r2" },
      { status: "ok", data: "r3" },
    ]);
    assert.equal(origin.calls(), 3);
  });

  it("shares one origin call and one cache between two workers through the Upstash stores", async () => {
    const open = gate();
    origin.route("/upstash", async (request) => {
      await open.promise;
      return {
        body: { n: request.n },
        headers: { "cache-control": "max-age=600" },
      };
    });
    const a = workerd.workers.upstashA!;
    const b = workerd.workers.upstashB!;
    const first = a.call(call("/upstash"));
    await eventually(() => Promise.resolve(origin.calls("/upstash") === 1));
    const second = b.call(call("/upstash"));
    // The second worker waits for the first's job in the store.
    await eventually(async () => (await stats(b))["request"] === 1);
    open.resolve();
    assert.deepEqual(await settles(Promise.all([first, second])), [
      { status: "ok", data: { n: 1 } },
      { status: "ok", data: { n: 1 } },
    ]);
    assert.deepEqual(await b.call(call("/upstash")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.equal(origin.calls("/upstash"), 1);
    assert.equal((await stats(b))["dedupe.joined"], 1);
  });

  it("caches across requests in libSQL over HTTP with the web client", async () => {
    origin.route("/libsql", (request) => ({
      body: { n: request.n },
      headers: { "cache-control": "max-age=600" },
    }));
    const worker = workerd.workers.libsql!;
    assert.deepEqual(await worker.call(call("/libsql")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.deepEqual(await worker.call(call("/libsql")), {
      status: "ok",
      data: { n: 1 },
    });
    assert.equal(origin.calls("/libsql"), 1);
    assert.deepEqual((await worker.call("/stats")).errors, []);
  });
});

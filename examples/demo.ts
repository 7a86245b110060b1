// sluice demo: one HttpClient in front of a slow, rate-limited API.
//
//   npm run demo                      (runs this file under Deno with -A)
//   npm run demo -- --dashboard       the same, with the dashboard served on
//                                     127.0.0.1 while it runs, and after it
//                                     until Ctrl-C
//     --port N                        the dashboard's port (default: a free one)
//     --dashboard-seconds N           stop serving N seconds after the burst
//
// It starts a local origin that behaves like a typical third-party API:
// 30-80 ms latency, slow report endpoints, `Cache-Control` and `ETag` on
// item pages, and a hard limit of 20 requests per second that answers 429
// with `Retry-After`. Then it fires bursts of interactive ("user") and
// prefetch ("background") requests, full of duplicates, through one client
// with memory stores, and prints what reached the origin.
//
// Exit code 0 when the origin never had to answer 429, 1 otherwise.
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import { createDashboard, toNodeListener } from "../dashboard/mod.ts";
import {
  createMetrics,
  HttpClient,
  MemoryAdaptiveRateLimitStore,
  MemoryCacheStore,
  MemoryDedupeStore,
  type Priority,
  type SluiceEvent,
} from "../mod.ts";

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    dashboard: { type: "boolean", default: false },
    port: { type: "string" },
    "dashboard-seconds": { type: "string" },
  },
});
const dashboardPort = Number(flags.port ?? 0);
const dashboardSeconds = flags["dashboard-seconds"] === undefined
  ? undefined
  : Number(flags["dashboard-seconds"]);
if (!Number.isInteger(dashboardPort) || dashboardPort < 0) {
  throw new TypeError(`--port must be a port number: received ${flags.port}`);
}
if (
  dashboardSeconds !== undefined &&
  !(Number.isFinite(dashboardSeconds) && dashboardSeconds >= 0)
) {
  throw new TypeError(
    `--dashboard-seconds must be a number of seconds: received ${
      flags["dashboard-seconds"]
    }`,
  );
}

const ORIGIN_LIMIT = 20;
const ORIGIN_WINDOW_MS = 1_000;

// ---------------------------------------------------------------- origin

const originStats = { calls: 0, tooMany: 0, notModified: 0 };
const arrivals: number[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://origin");
  const now = performance.now();
  originStats.calls++;
  while (arrivals.length > 0 && arrivals[0]! <= now - ORIGIN_WINDOW_MS) {
    arrivals.shift();
  }
  if (arrivals.length >= ORIGIN_LIMIT) {
    originStats.tooMany++;
    res.writeHead(429, { "retry-after": "1", "content-type": "text/plain" });
    res.end("rate limit exceeded");
    return;
  }
  arrivals.push(now);

  const [, kind, id] = url.pathname.split("/");
  if (kind === "items" && id !== undefined) {
    await sleep(30 + (Number(id) * 7) % 50);
    const etag = `"item-${id}-v1"`;
    const headers = {
      "cache-control": "max-age=2, stale-while-revalidate=2",
      etag,
    };
    if (req.headers["if-none-match"] === etag) {
      originStats.notModified++;
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "application/json" });
    res.end(JSON.stringify({ id: Number(id), name: `Item ${id}`, price: 10 }));
  } else if (kind === "reports") {
    await sleep(600);
    res.writeHead(200, {
      "cache-control": "max-age=30",
      "content-type": "application/json",
    });
    res.end(JSON.stringify({ report: id, rows: 1_000 }));
  } else if (kind === "search") {
    await sleep(150);
    res.writeHead(200, {
      "cache-control": "no-store",
      "content-type": "application/json",
    });
    res.end(JSON.stringify({ q: url.searchParams.get("q"), hits: 3 }));
  } else {
    res.writeHead(404).end();
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => res.destroy());
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

// ---------------------------------------------------------------- client

const counts: Partial<Record<SluiceEvent["type"], number>> = {};
let servedStale = 0;
// With --dashboard, the same events also feed the dashboard's metrics.
const metrics = flags.dashboard ? createMetrics() : undefined;
const client = new HttpClient({
  name: "demo-api",
  baseUrl: origin,
  cache: { store: new MemoryCacheStore() },
  dedupe: { store: new MemoryDedupeStore() },
  rateLimit: {
    // The origin's budget. The window is 100 ms longer than the origin's:
    // the client counts when it sends, the origin when a request arrives.
    store: new MemoryAdaptiveRateLimitStore({
      defaultConfig: { limit: ORIGIN_LIMIT, windowMs: ORIGIN_WINDOW_MS + 100 },
      adaptiveConfig: {
        monitoringWindowMs: 3_000,
        sustainedInactivityThresholdMs: 5_000,
        recalculationIntervalMs: 250,
        backgroundPauseOnIncreasingTrend: false,
      },
    }),
    maxWaitMs: 15_000,
  },
  onEvent: (event) => {
    metrics?.onEvent(event);
    counts[event.type] = (counts[event.type] ?? 0) + 1;
    if (event.type === "cache.stale" && event.action !== "revalidate") {
      servedStale++;
    }
  },
});

// ---------------------------------------------------------------- dashboard

let dashboard: ReturnType<typeof createServer> | undefined;
if (metrics !== undefined) {
  const token = crypto.randomUUID();
  dashboard = createServer(toNodeListener(createDashboard({
    clients: [client],
    metrics,
    token,
    pollMs: 500,
    title: "sluice demo",
  })));
  await new Promise<void>((resolve) =>
    dashboard!.listen(dashboardPort, "127.0.0.1", resolve)
  );
  const { port } = dashboard.address() as AddressInfo;
  console.log(`dashboard: http://127.0.0.1:${port}/#token=${token}`);
}

// ---------------------------------------------------------------- traffic

// A small deterministic generator, so every run sends the same traffic.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

const latencies: Record<Priority, number[]> = { user: [], background: [] };
const failures: unknown[] = [];

function call(path: string, priority: Priority): Promise<void> {
  const started = performance.now();
  return client.get(path, { priority }).then(
    () => {
      latencies[priority].push(performance.now() - started);
    },
    (error) => {
      failures.push(error);
    },
  );
}

function wave(): Promise<void>[] {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 25; i++) {
    // Users look at a few popular items, and search.
    const hot = 1 + Math.floor(random() ** 2 * 8);
    pending.push(
      call(
        random() < 0.8 ? `items/${hot}` : `search?q=${hot % 3}`,
        "user",
      ),
    );
  }
  for (let i = 0; i < 15; i++) {
    // A background job prefetches the catalogue and builds reports.
    const path = random() < 0.8
      ? `items/${1 + Math.floor(random() * 40)}`
      : `reports/${["daily", "weekly", "monthly"][Math.floor(random() * 3)]}`;
    pending.push(call(path, "background"));
  }
  return pending;
}

const started = performance.now();
const all: Promise<void>[] = [];
for (let i = 0; i < 8; i++) {
  all.push(...wave());
  await sleep(300);
}
await Promise.all(all);
// Items are fresh for 2 s: later waves are served stale while revalidating,
// or revalidated with a cheap conditional request.
await sleep(2_500);
const late: Promise<void>[] = [];
for (let i = 0; i < 3; i++) {
  late.push(...wave());
  await sleep(300);
}
await Promise.all(late);
const elapsed = performance.now() - started;
// The dashboard keeps showing the client: it is closed once serving ends.
if (dashboard === undefined) await client.close();
server.close();
server.closeAllConnections?.();

// ---------------------------------------------------------------- report

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;
const clientCalls = latencies.user.length + latencies.background.length +
  failures.length;
const rows: [string, string][] = [
  [
    "client calls",
    `${clientCalls} (user ${latencies.user.length}, background ${latencies.background.length})`,
  ],
  ["origin calls", String(originStats.calls)],
  ["  of which 304 Not Modified", String(originStats.notModified)],
  ["cache hits (fresh)", String(counts["cache.hit"] ?? 0)],
  ["served stale while revalidating", String(servedStale)],
  ["de-duplicated joins", String(counts["dedupe.joined"] ?? 0)],
  ["rate-limit waits", String(counts["ratelimit.wait"] ?? 0)],
  ["429s received (target 0)", String(originStats.tooMany)],
  ["failed calls", String(failures.length)],
  [
    "latency user p50 / p95",
    `${ms(percentile(latencies.user, 0.5))} / ${
      ms(percentile(latencies.user, 0.95))
    }`,
  ],
  [
    "latency background p50 / p95",
    `${ms(percentile(latencies.background, 0.5))} / ${
      ms(percentile(latencies.background, 0.95))
    }`,
  ],
  ["wall time", ms(elapsed)],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(
  `\nsluice demo: one HttpClient in front of an API limited to ${ORIGIN_LIMIT} requests per ${ORIGIN_WINDOW_MS} ms\n`,
);
for (const [label, value] of rows) {
  console.log(`  ${label.padEnd(width)}  ${value}`);
}
console.log();
if (failures.length > 0) console.log("first failure:", failures[0]);
const ok = originStats.tooMany === 0 && failures.length === 0;
console.log(ok ? "ok: the origin never had to say 429" : "FAILED");
if (dashboard !== undefined) {
  // Listening for Ctrl-C before saying so.
  const stopped = new Promise<void>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = (): void => {
      process.off("SIGINT", stop);
      clearTimeout(timer);
      resolve();
    };
    process.on("SIGINT", stop);
    if (dashboardSeconds !== undefined) {
      timer = setTimeout(stop, dashboardSeconds * 1_000);
    }
  });
  console.log(
    dashboardSeconds === undefined
      ? "dashboard: still serving; Ctrl-C stops it"
      : `dashboard: still serving for ${dashboardSeconds} s; Ctrl-C stops it`,
  );
  await stopped;
  dashboard.close();
  dashboard.closeAllConnections?.();
  await client.close();
  console.log("dashboard: stopped");
}
// An uncaught error makes the process exit with a non-zero code, in every
// runtime, without runtime-specific exit calls.
if (!ok) throw new Error("The demo received 429s or failed calls");

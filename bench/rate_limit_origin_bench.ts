// How well a rate limit holds and how much of it is used, measured where the
// user stands: bursts of concurrent GETs through HttpClient, with every
// store at its default options (no `marginMs`), counted by the origin's own
// clock.
//
//   deno bench --allow-all bench/rate_limit_origin_bench.ts
//
// Before the benchmarks run, the file prints one table. Each row is one
// burst, all requests sent at once to distinct URLs:
//
// - "worst window": the most arrivals at the origin in any half-open window
//   of `windowMs`, against the limit. Above the limit, the origin would have
//   refused a request.
// - "budget use": the time a perfect limiter needs for the arrivals
//   (`ceil(arrived / limit) - 1` windows) over the time from the first
//   arrival to the last. 1 is the whole budget; above 1 the limit was
//   overrun.
// - "refused": `RateLimitError`s; a limiter that keeps up refuses none. An
//   adaptive store may also refuse by its policy: under a burst of user
//   requests it pauses background traffic until it next computes the split
//   (30 s by default), longer than any `maxWaitMs` here.
//
// The bursts at 20 per 1000 ms and 5 per 2000 ms go to a loopback origin
// that answers each request after 0-90 ms at random, with `maxWaitMs:
// 15000` (a perfect limiter needs 9 and 10 s). The bursts at the
// shortest windows a store accepts, 50 and 25 per 50 ms (ideal time 450
// and 950 ms), go to an in-process transport that answers at once, with
// `maxWaitMs: 3000`: a limiter that cannot wait such short waits refuses
// what it could not send by then. (Windows under 50 ms, such as 1 per 1 ms,
// are refused with a ConfigError.) The libSQL store is a local database
// file. One burst per row: the run takes about a minute, mostly the windows
// themselves.
//
// The benchmarks after the table time a burst at 50 per 50 ms against the
// same burst with no rate limit, the client's own cost.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlRateLimitStore,
} from "../adapters/libsql/mod.ts";
import {
  type AdaptiveRateLimitStore,
  HttpClient,
  MemoryAdaptiveRateLimitStore,
  MemoryRateLimitStore,
  type Priority,
  type RateLimitConfig,
  type RateLimitStore,
} from "../mod.ts";
import { startOrigin } from "../tests/fixtures/origin.ts";
import {
  instantTransport,
  originArrivals,
  probe,
} from "../tests/fixtures/origin_probe.ts";

type Store = RateLimitStore | AdaptiveRateLimitStore;

/** A store under test: a name, and a fresh store for a budget. */
interface StoreKind {
  name: string;
  create: (config: RateLimitConfig) => Store | Promise<Store>;
  /** Whether requests alternate between "user" and "background". */
  mixed: boolean;
}

/** One burst. */
interface Burst {
  limit: number;
  windowMs: number;
  requests: number;
  /** A loopback origin answering after 0-90 ms, or an instant transport. */
  to: "origin" | "instant";
  maxWaitMs: number;
}

const dir = mkdtempSync(join(tmpdir(), "sluice-origin-bench-"));
const origin = await startOrigin();
const opened: Store[] = [];
globalThis.addEventListener("unload", () => {
  void origin.close();
  for (const store of opened) void store.close();
  rmSync(dir, { recursive: true, force: true });
});

let databases = 0;
/** A libSQL store on a new local file, its schema made before the burst. */
async function libsql<T extends Store>(
  make: (url: string) => T,
): Promise<T> {
  const store = make(`file:${join(dir, `limits-${databases++}.db`)}`);
  await store.getCooldown("warm-up");
  return store;
}

const memory: StoreKind = {
  name: "memory",
  create: (defaultConfig) => new MemoryRateLimitStore({ defaultConfig }),
  mixed: false,
};
const memoryAdaptive: StoreKind = {
  name: "memory adaptive, user + background",
  create: (defaultConfig) =>
    new MemoryAdaptiveRateLimitStore({ defaultConfig }),
  mixed: true,
};
const libsqlFile: StoreKind = {
  name: "libSQL file",
  create: (defaultConfig) =>
    libsql((url) => new LibsqlRateLimitStore({ url, defaultConfig })),
  mixed: false,
};
const libsqlAdaptive: StoreKind = {
  name: "libSQL file adaptive, user + background",
  create: (defaultConfig) =>
    libsql((url) => new LibsqlAdaptiveRateLimitStore({ url, defaultConfig })),
  mixed: true,
};

const plan: Array<[Burst, StoreKind[]]> = [
  [{
    limit: 20,
    windowMs: 1_000,
    requests: 200,
    to: "origin",
    maxWaitMs: 15_000,
  }, [
    memory,
    memoryAdaptive,
    libsqlFile,
  ]],
  [{
    limit: 5,
    windowMs: 2_000,
    requests: 30,
    to: "origin",
    maxWaitMs: 15_000,
  }, [
    memory,
    libsqlFile,
  ]],
  [
    { limit: 50, windowMs: 50, requests: 500, to: "instant", maxWaitMs: 3_000 },
    [memory, memoryAdaptive, libsqlFile, libsqlAdaptive],
  ],
  [
    { limit: 25, windowMs: 50, requests: 500, to: "instant", maxWaitMs: 3_000 },
    [memory, memoryAdaptive, libsqlFile, libsqlAdaptive],
  ],
];

let burstNumber = 0;
/** Sends one burst through a new client on `store`; one row of the table. */
async function measure(
  burst: Burst,
  kind: StoreKind,
): Promise<Record<string, string | number>> {
  const { limit, windowMs } = burst;
  const store = await kind.create({ limit, windowMs });
  opened.push(store);
  const path = `/burst-${burstNumber++}`;
  const transport = instantTransport();
  if (burst.to === "origin") {
    origin.route(path, () => ({
      delayMs: Math.floor(Math.random() * 91),
      body: "ok",
    }));
  }
  const client = new HttpClient({
    name: "origin-bench",
    retry: false,
    ...(burst.to === "origin"
      ? { baseUrl: origin.url }
      : { baseUrl: "http://instant.test", fetch: transport.fetch }),
    rateLimit: { store, maxWaitMs: burst.maxWaitMs },
  });
  const priorities: Priority[] = ["user", "background"];
  try {
    const result = await probe({
      client,
      requests: Array.from({ length: burst.requests }, (_, i) => ({
        url: `${path}?i=${i}`,
        ...(kind.mixed ? { priority: priorities[i % 2]! } : {}),
      })),
      arrivals: burst.to === "origin"
        ? originArrivals(origin, path)
        : transport.arrivals,
      limit,
      windowMs,
    });
    return {
      store: kind.name,
      burst: `${burst.requests} at ${limit} per ${windowMs} ms${
        burst.to === "instant" ? " (instant)" : ""
      }`,
      arrived: result.arrivals.length,
      refused: result.refused,
      "other errors": result.errors.length,
      "worst window": `${result.worstWindow} / ${limit}`,
      "budget use": Number(result.budgetUse.toFixed(3)),
      "elapsed ms": Math.round(result.elapsedMs),
    };
  } finally {
    await client.close();
  }
}

const rows: Array<Record<string, string | number>> = [];
for (const [burst, kinds] of plan) {
  for (const kind of kinds) rows.push(await measure(burst, kind));
}
console.log(
  "Bursts through HttpClient at default store options, counted at the origin",
);
console.table(rows);

// A burst of 200 at 50 per 50 ms: a perfect limiter sends it in 150 ms.
// The baseline sends the same 200 with no rate limit.
const BURST = 200;
const benchTransport = instantTransport();
const unlimited = new HttpClient({
  name: "unlimited",
  retry: false,
  baseUrl: "http://instant.test",
  fetch: benchTransport.fetch,
});
let round = 0;
const burstOf = (client: HttpClient) => async () => {
  const prefix = `/bench-${round++}`;
  await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      await (await client.fetch(`${prefix}?i=${i}`)).arrayBuffer();
    }),
  );
};
Deno.bench({
  group: `burst of ${BURST} at 50 per 50 ms (ideal 150 ms)`,
  name: "baseline: no rate limit",
  baseline: true,
  n: 20,
  fn: burstOf(unlimited),
});
for (const kind of [memory, memoryAdaptive]) {
  const store = await kind.create({ limit: 50, windowMs: 50 });
  opened.push(store);
  const limited = new HttpClient({
    name: "limited",
    retry: false,
    baseUrl: "http://instant.test",
    fetch: benchTransport.fetch,
    rateLimit: { store },
  });
  Deno.bench({
    group: `burst of ${BURST} at 50 per 50 ms (ideal 150 ms)`,
    // Every request of these bursts has the default priority.
    name: kind.name.replace(", user + background", ""),
    n: 3,
    warmup: 1,
    fn: burstOf(limited),
  });
}

// What HttpClient adds to a request, against baselines doing the least work
// that gives the same result, measured in the same run.
//
//   node scripts/bench.mjs bench/client_bench.ts                   Deno
//   node scripts/bench.mjs --runtime=deno,bun,node bench/client_bench.ts
//
// Under Deno this is `deno bench`; under Bun and Node the same file runs on
// the portable harness in bench/_harness.ts, which prints a table per group
// with each benchmark's ratio to the baseline and its difference from it
// (the "diff" column). Node runs the file compiled by tsc.
//
// The clients under test have every memory store configured:
// MemoryCacheStore, MemoryDedupeStore and MemoryRateLimitStore, with a limit
// that never makes a request wait.
//
// 1. "miss": a cache miss through client.get() vs a direct fetch() + json()
//    of the same URL, from a keep-alive HTTP server on 127.0.0.1. Each
//    iteration asks for a new URL (`?i=N`), so every client call is a miss.
//    The difference is the client's own cost per miss. A client with no
//    stores, and client.fetch(), are there for comparison.
// 2. "get hit": a fresh cache hit through client.get() vs Map.get() +
//    JSON.parse() of the same ~1.5 KB body. Both hand the caller its own
//    mutable copy of the data.
// 3. "fetch hit": a fresh hit through client.fetch() and reading the body as
//    JSON vs Map.get() + new Response() + response.json().
// 4. "1000 concurrent": 1,000 identical concurrent client.get() calls on an
//    empty cache (a new URL each round) vs one direct call of the same
//    transport + json(). The transport is an in-memory fetch that answers
//    after one macrotask, so the difference is the client's own cost of
//    one flight with 999 joiners.
//
// In groups 2 and 3 each iteration runs BATCH sequential operations, on both
// sides, so that a microsecond-scale operation is not swamped by the bench
// harness's own per-iteration cost and timer granularity. Divide by BATCH
// for the cost of one operation; the ratios are unaffected.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../mod.ts";
import { afterAll, bench } from "./_harness.ts";

const record = (i: number) => ({
  id: i,
  login: `user-${i}`,
  node_id: "MDQ6VXNlcjE=",
  avatar_url: `https://avatars.example.com/u/${i}?v=4`,
  url: `https://api.example.com/users/${i}`,
  html_url: `https://example.com/user-${i}`,
  type: "User",
  site_admin: false,
  name: "Monalisa Octocat",
  company: "Example",
  location: "San Francisco",
  bio: "There once was a user who liked to benchmark things.",
  public_repos: 2,
  followers: 20,
  created_at: "2008-01-14T04:33:35Z",
  plan: { name: "Medium", space: 400, private_repos: 20 },
  repos: Array.from({ length: 14 }, (_, j) => ({
    id: j,
    name: `repo-${j}`,
    stars: j * 10,
    private: false,
  })),
});
const body = JSON.stringify(record(1));
if (body.length < 1_000 || body.length > 2_000) {
  throw new Error(`The benchmark body should be 1-2 KB: ${body.length} bytes`);
}

const headers = {
  "content-type": "application/json",
  "cache-control": "max-age=86400",
};

// Every store, none of which makes a request wait.
function stores(): Partial<HttpClientOptions> {
  return {
    cache: { store: new MemoryCacheStore() },
    dedupe: { store: new MemoryDedupeStore() },
    rateLimit: {
      store: new MemoryRateLimitStore({
        defaultConfig: { limit: 1_000_000_000, windowMs: 1_000 },
      }),
    },
  };
}

// A keep-alive origin on loopback that answers every path with the body.
const bodyBytes = new TextEncoder().encode(body);
const server = createServer((_req, res) => {
  res.sendDate = false;
  res.writeHead(200, {
    ...headers,
    "content-length": String(bodyBytes.byteLength),
  });
  res.end(bodyBytes);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) =>
  server.listen(0, "127.0.0.1", () => resolve())
);
const originUrl = `http://127.0.0.1:${
  (server.address() as AddressInfo).port
}/users/1`;

const loopback = new HttpClient({ name: "bench-loopback", ...stores() });
const loopbackBare = new HttpClient({ name: "bench-loopback-bare" });

// An in-memory transport that answers after one macrotask.
const transport = (): Promise<Response> =>
  new Promise((resolve) =>
    setTimeout(() => resolve(new Response(body, { headers })), 0)
  );
const url = "https://api.example.com/users/1";
const client = new HttpClient({
  name: "bench",
  fetch: transport,
  ...stores(),
});
await client.get(url); // fill the cache
// Warm the connection pools before anything is timed.
await (await fetch(`${originUrl}?warm`)).text();
await loopback.get(`${originUrl}?warm`);
await loopbackBare.get(`${originUrl}?warm`);

const map = new Map([[url, body]]);
const BATCH = 100;
let sink: unknown;
let miss = 0;

bench({
  group: "miss",
  name: "baseline: fetch + json(), loopback",
  baseline: true,
  async fn() {
    sink = await (await fetch(`${originUrl}?i=${miss++}`)).json();
  },
});

bench({
  group: "miss",
  name: "client.get, miss (memory cache, dedupe, rate limit)",
  async fn() {
    sink = await loopback.get(`${originUrl}?i=${miss++}`);
  },
});

bench({
  group: "miss",
  name: "client.get, miss (no stores)",
  async fn() {
    sink = await loopbackBare.get(`${originUrl}?i=${miss++}`);
  },
});

bench({
  group: "miss",
  name: "client.fetch + json(), miss (memory stores)",
  async fn() {
    sink = await (await loopback.fetch(`${originUrl}?i=${miss++}`)).json();
  },
});

bench({
  group: "get hit",
  name: `baseline: Map.get + JSON.parse (x${BATCH})`,
  baseline: true,
  fn() {
    for (let i = 0; i < BATCH; i++) sink = JSON.parse(map.get(url)!);
  },
});

bench({
  group: "get hit",
  name: `client.get, fresh hit (x${BATCH})`,
  async fn() {
    for (let i = 0; i < BATCH; i++) sink = await client.get(url);
  },
});

bench({
  group: "fetch hit",
  name: `baseline: Map.get + new Response + json() (x${BATCH})`,
  baseline: true,
  async fn() {
    for (let i = 0; i < BATCH; i++) {
      sink = await new Response(map.get(url)!, { headers }).json();
    }
  },
});

bench({
  group: "fetch hit",
  name: `client.fetch, fresh hit + json() (x${BATCH})`,
  async fn() {
    for (let i = 0; i < BATCH; i++) {
      sink = await (await client.fetch(url)).json();
    }
  },
});

let round = 0;
bench({
  group: "1000 concurrent",
  name: "baseline: 1 direct transport call + json()",
  baseline: true,
  async fn() {
    sink = await (await transport()).json();
  },
});

bench({
  group: "1000 concurrent",
  name: "client.get x1000 (one transport call)",
  async fn() {
    // A new URL each round: every round is a miss.
    const missUrl = `${url}?round=${round++}`;
    sink = await Promise.all(
      Array.from({ length: 1_000 }, () => client.get(missUrl)),
    );
  },
});

afterAll(async () => {
  if (sink === Symbol.for("never")) console.log(sink);
  await Promise.all([client.close(), loopback.close(), loopbackBare.close()]);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// What HttpClient adds to a request, against baselines doing the least work
// that gives the same result.
//
//   node scripts/bench.mjs bench/client_bench.ts
//
// 1. "get hit": a fresh cache hit through client.get() vs Map.get() +
//    JSON.parse() of the same ~1.5 KB body. Both hand the caller its own
//    mutable copy of the data. Target: at most 2x the baseline.
// 2. "fetch hit": a fresh hit through client.fetch() and reading the body as
//    JSON vs Map.get() + new Response() + response.json().
// 3. "1000 concurrent misses": 1,000 identical concurrent client.get() calls
//    on an empty cache vs 1,000 direct calls of the same transport. The
//    transport is an injected in-memory fetch that answers after one
//    macrotask, so the figure is the client's own cost, not the network's.
//
// In groups 1 and 2 each iteration runs BATCH sequential operations, on both
// sides, so that a microsecond-scale operation is not swamped by the bench
// harness's own per-iteration cost and timer granularity. Divide by BATCH
// for the cost of one operation; the ratios are unaffected.
import { HttpClient, MemoryCacheStore } from "../mod.ts";

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
const transport = (): Promise<Response> =>
  new Promise((resolve) =>
    setTimeout(() => resolve(new Response(body, { headers })), 0)
  );
const url = "https://api.example.com/users/1";

const client = new HttpClient({
  name: "bench",
  fetch: transport,
  cache: { store: new MemoryCacheStore() },
});
await client.get(url); // fill the cache

const map = new Map([[url, body]]);
const BATCH = 100;
let sink: unknown;

Deno.bench({
  group: "get hit",
  name: `baseline: Map.get + JSON.parse (x${BATCH})`,
  baseline: true,
  fn() {
    for (let i = 0; i < BATCH; i++) sink = JSON.parse(map.get(url)!);
  },
});

Deno.bench({
  group: "get hit",
  name: `client.get, fresh hit (x${BATCH})`,
  async fn() {
    for (let i = 0; i < BATCH; i++) sink = await client.get(url);
  },
});

Deno.bench({
  group: "fetch hit",
  name: `baseline: Map.get + new Response + json() (x${BATCH})`,
  baseline: true,
  async fn() {
    for (let i = 0; i < BATCH; i++) {
      sink = await new Response(map.get(url)!, { headers }).json();
    }
  },
});

Deno.bench({
  group: "fetch hit",
  name: `client.fetch, fresh hit + json() (x${BATCH})`,
  async fn() {
    for (let i = 0; i < BATCH; i++) {
      sink = await (await client.fetch(url)).json();
    }
  },
});

let round = 0;
Deno.bench({
  group: "1000 concurrent misses",
  name: "baseline: 1000 direct transport calls + json()",
  baseline: true,
  async fn() {
    sink = await Promise.all(
      Array.from({ length: 1_000 }, async () => (await transport()).json()),
    );
  },
});

Deno.bench({
  group: "1000 concurrent misses",
  name: "client.get x1000 (one transport call)",
  async fn() {
    // A new URL each round: every round is a miss.
    const missUrl = `${url}?round=${round++}`;
    sink = await Promise.all(
      Array.from({ length: 1_000 }, () => client.get(missUrl)),
    );
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === Symbol.for("never")) console.log(sink);
});

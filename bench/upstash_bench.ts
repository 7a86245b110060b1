// The Upstash stores through the real @upstash/redis client, a REST bridge
// and a local redis-server, each group against a raw PING through the same
// client: the floor of one HTTP round trip. A store operation that costs
// one round trip should sit close to it.
//
//   node scripts/bench.mjs bench/upstash_bench.ts
//
// Before the benchmarks run, the file prints the HTTP requests per
// operation, counted by the bridge over many operations once every script
// is loaded. The bench starts its own redis-server and bridge on loopback
// ports and stops them when it exits.
import { Redis } from "@upstash/redis";
import {
  UpstashAdaptiveRateLimitStore,
  UpstashCacheStore,
  UpstashDedupeStore,
  UpstashRateLimitStore,
} from "../adapters/upstash/mod.ts";
import { startRedisServer } from "../tests/fixtures/redis_server.ts";
import { startUpstashBridge } from "../tests/fixtures/upstash_bridge.ts";

const server = await startRedisServer();
const bridge = await startUpstashBridge({ redisPort: server.port });
globalThis.addEventListener("unload", () => {
  void bridge.close();
  void server.close();
});

const redis = new Redis({
  url: bridge.url,
  token: bridge.token,
  automaticDeserialization: false,
  enableTelemetry: false,
});
const keyPrefix = "sluice-bench:";
const cache = new UpstashCacheStore({ redis, keyPrefix });
const dedupe = new UpstashDedupeStore({ redis, keyPrefix });
const limits = new UpstashRateLimitStore({
  redis,
  keyPrefix,
  defaultConfig: { limit: 1_000_000_000, windowMs: 1_000 },
});
const adaptive = new UpstashAdaptiveRateLimitStore({
  redis,
  keyPrefix,
  defaultConfig: { limit: 1_000_000_000, windowMs: 1_000 },
});
// A spent budget: every admission is refused, and says how long to wait.
const spent = new UpstashRateLimitStore({
  redis,
  keyPrefix,
  defaultConfig: { limit: 1, windowMs: 3_600_000 },
});

const entry = {
  status: 200,
  headers: [["content-type", "application/json"], ["etag", '"abc"']],
  body: new TextEncoder().encode(JSON.stringify({ data: "x".repeat(900) })),
  storedAt: 0,
};
const largeEntry = { ...entry, body: new Uint8Array(64 * 1024).fill(7) };
await cache.set("hit", entry, 0);

let job = 0;
const operations: Record<string, () => Promise<void>> = {
  "PING": async () => void await redis.ping(),
  "cache get (hit, 1 KiB)": async () => void await cache.get("hit"),
  "cache get (miss)": async () => void await cache.get("missing"),
  "cache set (1 KiB)": async () => void await cache.set("set", entry, 60),
  "cache set (64 KiB binary)": async () =>
    void await cache.set("set-large", largeEntry, 60),
  "acquire": async () => void await limits.acquire("resource"),
  "acquire (adaptive, user)": async () =>
    void await adaptive.acquire("resource", "user"),
  "admit": async () => void await limits.admit("resource"),
  "getCooldown + acquire": async () => {
    await limits.getCooldown("resource");
    await limits.acquire("resource");
  },
  "admit (refused)": async () => void await spent.admit("spent"),
  "acquire + getWaitTime (refused)": async () => {
    await spent.acquire("spent");
    await spent.getWaitTime("spent");
  },
  "registerOrJoin + complete": async () => {
    const key = `job:${job++}`;
    await dedupe.registerOrJoin(key);
    await dedupe.complete(key, entry);
  },
};

// Round trips per operation, once every script is loaded.
const runs = 100;
const table: Record<string, number> = {};
for (const [name, operation] of Object.entries(operations)) {
  await operation();
  bridge.resetCounts();
  for (let i = 0; i < runs; i++) await operation();
  table[name] = bridge.requests() / runs;
}
console.log("HTTP requests per operation:");
for (const [name, perOperation] of Object.entries(table)) {
  console.log(`  ${name.padEnd(32)} ${perOperation}`);
}

// Deno.bench awaits only functions declared `async`: every operation is one.
const ping = operations["PING"]!;
const groups: Array<[string, string[]]> = [
  ["upstash cache get", ["cache get (hit, 1 KiB)", "cache get (miss)"]],
  ["upstash cache set", ["cache set (1 KiB)", "cache set (64 KiB binary)"]],
  ["upstash acquire", ["acquire", "acquire (adaptive, user)"]],
  // What the client's limiter asks per try: one admit, where it used to ask
  // getCooldown and acquire (and getWaitTime when refused).
  ["upstash admission", ["admit", "getCooldown + acquire"]],
  ["upstash refusal", ["admit (refused)", "acquire + getWaitTime (refused)"]],
  ["upstash dedupe", ["registerOrJoin + complete"]],
];
for (const [group, names] of groups) {
  Deno.bench({ group, name: "PING (one round trip)", baseline: true }, ping);
  for (const name of names) {
    Deno.bench({ group, name }, operations[name]!);
  }
}

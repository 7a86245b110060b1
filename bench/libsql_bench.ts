// The libSQL stores on a local database file (native client) and on a real
// sqld server over HTTP (web client). Each group's baseline is a raw
// `SELECT 1` through the same client: the floor of one round trip. A store
// operation that costs one round trip should sit close to it.
//
//   node scripts/bench.mjs bench/libsql_bench.ts
//
// Before the benchmarks run, the file prints the round trips per operation
// (calls of the client's `execute` and `batch`) and the statements they
// carry, counted over many operations once the schema exists. The bench starts its own sqld on a
// loopback port and stops it when it exits.
import { createClient as createNativeClient } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlCacheStore,
  type LibsqlClient,
  LibsqlDedupeStore,
  LibsqlRateLimitStore,
} from "../adapters/libsql/mod.ts";
import { MemoryCacheStore } from "../mod.ts";
import { startSqld } from "../tests/fixtures/sqld.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-libsql-bench-"));
const sqld = await startSqld();
globalThis.addEventListener("unload", () => {
  sqld.stopNow();
  rmSync(dir, { recursive: true, force: true });
});

let roundTrips = 0;
let statements = 0;
/** Counts every round trip a store makes through `inner`, and its statements. */
function counted(inner: LibsqlClient): LibsqlClient {
  return {
    execute: (statement) => {
      roundTrips++;
      statements++;
      return inner.execute(statement);
    },
    batch: (batch, mode) => {
      roundTrips++;
      statements += batch.length;
      return inner.batch(batch, mode);
    },
    transaction: (mode) => inner.transaction(mode),
    close: () => inner.close(),
    get closed() {
      return inner.closed;
    },
    get protocol() {
      return inner.protocol;
    },
  };
}

const entry = {
  status: 200,
  headers: [["content-type", "application/json"], ["etag", '"abc"']],
  body: new TextEncoder().encode(JSON.stringify({ data: "x".repeat(900) })),
  storedAt: 0,
};
const budget = { limit: 1_000_000_000, windowMs: 1_000 };

function operations(client: LibsqlClient): Record<string, () => Promise<void>> {
  const cache = new LibsqlCacheStore({ client });
  const dedupe = new LibsqlDedupeStore({ client });
  const limits = new LibsqlRateLimitStore({ client, defaultConfig: budget });
  const adaptive = new LibsqlAdaptiveRateLimitStore({
    client,
    defaultConfig: budget,
  });
  // A spent budget: every admission is refused, and says how long to wait.
  const spent = new LibsqlRateLimitStore({
    client,
    defaultConfig: { limit: 1, windowMs: 3_600_000 },
  });
  let job = 0;
  let key = 0;
  return {
    "SELECT 1": async () =>
      void await client.execute({ sql: "SELECT 1", args: [] }),
    "cache get (hit, 1 KiB)": async () => void await cache.get("hit"),
    "cache get (miss)": async () => void await cache.get("missing"),
    "cache set (1 KiB)": async () =>
      void await cache.set(`set:${key++ % 1_000}`, entry, 60),
    "cache set with 2 tags (1 KiB)": async () =>
      void await cache.set(`tagged:${key++ % 1_000}`, entry, 60, {
        tags: ["bench:cache:a", `bench:cache:b${key % 10}`],
      }),
    "cache set + invalidateTags of its tag": async () => {
      const n = key++;
      await cache.set(`dropped:${n}`, entry, 60, { tags: [`drop:${n}`] });
      await cache.invalidateTags!([`drop:${n}`]);
    },
    "acquire": async () => void await limits.acquire("resource"),
    "acquire (adaptive, user)": async () =>
      void await adaptive.acquire("resource", "user"),
    "admit (cooldown check + admission)": async () =>
      void await limits.admit("resource"),
    "getCooldown + acquire (as before admit)": async () => {
      await limits.getCooldown("resource");
      await limits.acquire("resource");
    },
    "admit (refused, with the wait)": async () =>
      void await spent.admit("spent"),
    "acquire + getWaitTime (refused, as before admit)": async () => {
      await spent.acquire("spent");
      await spent.getWaitTime("spent");
    },
    "registerOrJoin + complete": async () => {
      const hash = `job:${job++}`;
      await dedupe.registerOrJoin(hash);
      await dedupe.complete(hash, entry);
    },
  };
}

const backends: Record<string, LibsqlClient> = {
  file: counted(
    createNativeClient({
      url: `file:${join(dir, "bench.db")}`,
      timeout: 5_000,
    }),
  ),
  "sqld over HTTP": counted(createWebClient({ url: sqld.url })),
};

const memory = new MemoryCacheStore();
await memory.set("hit", entry, 0);

const table: Record<string, Record<string, number>> = {};
const runs = 200;
for (const [backend, client] of Object.entries(backends)) {
  const ops = operations(client);
  await new LibsqlCacheStore({ client }).set("hit", entry, 0);
  for (const [name, operation] of Object.entries(ops)) {
    await operation();
    roundTrips = 0;
    statements = 0;
    for (let i = 0; i < runs; i++) await operation();
    (table[name] ??= {})[backend] = roundTrips / runs;
    (table[name] ??= {})[`${backend} statements`] = statements / runs;
  }
  const group = `libsql ${backend}`;
  for (const [name, operation] of Object.entries(ops)) {
    Deno.bench({
      name: `${name} (${backend})`,
      group,
      baseline: name === "SELECT 1",
      fn: operation,
    });
  }
  Deno.bench({
    name: `MemoryCacheStore get, for reference (${backend})`,
    group,
    fn: async () => void await memory.get("hit"),
  });
}

console.log(
  "Round trips per operation (execute + batch calls), and statements:",
);
console.table(table);

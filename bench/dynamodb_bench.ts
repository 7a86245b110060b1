// The DynamoDB stores against dynalite (a DynamoDB implementation, in a Node
// child process on loopback), over `fetch` with the stores' own SigV4 and
// through an injected AWS SDK client. Each group's baseline is a raw
// `GetItem` of one small item through the same transport: the floor of
// one signed round trip. A store operation that costs one request should
// sit close to it; one that costs two, near twice it.
//
//   node scripts/bench.mjs --runtime=deno,bun,node bench/dynamodb_bench.ts
//
// Before the benchmarks run, the file prints the DynamoDB requests per
// operation, counted at a proxy in front of dynalite over many operations.
// dynalite is far slower per request than DynamoDB is per byte, and much
// faster in latency than a region away: read the ratios, not the times.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBAdaptiveRateLimitStore,
  DynamoDBCacheStore,
  type DynamoDBConnectionOptions,
  DynamoDBDedupeStore,
  DynamoDBRateLimitStore,
} from "../adapters/dynamodb/mod.ts";
import { _Connection } from "../adapters/dynamodb/_connection.ts";
import {
  startDynalite,
  startDynamoProxy,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../tests/fixtures/dynalite.ts";
import { afterAll, bench } from "./_harness.ts";

const dynalite = await startDynalite();
const tableName = await dynalite.table();
const proxy = await startDynamoProxy(dynalite.url);
const sdks: DynamoDBClient[] = [];
afterAll(async () => {
  for (const sdk of sdks) sdk.destroy();
  await proxy.close();
  await dynalite.stop();
});

function connect(
  form: "fetch" | "sdk",
  url: string,
): DynamoDBConnectionOptions {
  if (form === "fetch") {
    return {
      endpoint: url,
      region: TEST_REGION,
      credentials: TEST_CREDENTIALS,
      tableName,
      keyPrefix: "bench:",
    };
  }
  const client = new DynamoDBClient({
    region: TEST_REGION,
    endpoint: url,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
  sdks.push(client);
  return { client, tableName, keyPrefix: "bench:" };
}

const entry = {
  status: 200,
  headers: [["content-type", "application/json"], ["etag", '"abc"']],
  body: new TextEncoder().encode(JSON.stringify({ data: "x".repeat(900) })),
  storedAt: 0,
};
const largeEntry = { ...entry, body: new Uint8Array(64 * 1024).fill(7) };

/** The operations of one transport, on stores reaching `url`. */
async function operations(
  form: "fetch" | "sdk",
  url: string,
): Promise<Record<string, () => Promise<void>>> {
  const connection = connect(form, url);
  const raw = new _Connection("bench", connection);
  const cache = new DynamoDBCacheStore(connection);
  const dedupe = new DynamoDBDedupeStore(connection);
  const limits = new DynamoDBRateLimitStore({
    ...connection,
    defaultConfig: { limit: 1_000_000_000, windowMs: 1_000 },
  });
  const adaptive = new DynamoDBAdaptiveRateLimitStore({
    ...connection,
    defaultConfig: { limit: 1_000_000_000, windowMs: 1_000 },
  });
  // A spent budget: every admission is refused, and says how long to wait.
  const spent = new DynamoDBRateLimitStore({
    ...connection,
    defaultConfig: { limit: 1, windowMs: 3_600_000 },
  });
  await cache.set("hit", entry, 0);
  await spent.acquire("spent");
  await spent.admit("spent");
  let job = 0;
  return {
    "raw GetItem": async () =>
      void await raw.call("bench", "GetItem", {
        Key: { pk: { S: "bench:cache:hit" }, sk: { S: "c" } },
        ConsistentRead: true,
      }),
    "cache get (hit, 1 KiB)": async () => void await cache.get("hit"),
    "cache get (miss)": async () => void await cache.get("missing"),
    "cache set (1 KiB)": async () => void await cache.set("set", entry, 60),
    "cache set (64 KiB binary)": async () =>
      void await cache.set("set-large", largeEntry, 60),
    "acquire": async () => void await limits.acquire(`resource-${form}`),
    "acquire (adaptive, user)": async () =>
      void await adaptive.acquire(`resource-${form}`, "user"),
    "admit": async () => void await limits.admit(`resource-${form}`),
    "admit (refused)": async () => void await spent.admit("spent"),
    "registerOrJoin + complete": async () => {
      const key = `job:${form}:${job++}`;
      await dedupe.registerOrJoin(key);
      await dedupe.complete(key, entry);
    },
  };
}

// Requests per operation, counted at the proxy.
const runs = 50;
const table: Record<string, Record<string, number>> = {};
for (const form of ["fetch", "sdk"] as const) {
  const counted = await operations(form, proxy.url);
  for (const [name, operation] of Object.entries(counted)) {
    await operation();
    proxy.resetCounts();
    for (let i = 0; i < runs; i++) await operation();
    (table[name] ??= {})[form] = proxy.count() / runs;
  }
}
console.log("DynamoDB requests per operation:");
console.table(table);

const groups: Array<[string, string[]]> = [
  ["cache get", ["cache get (hit, 1 KiB)", "cache get (miss)"]],
  ["cache set", ["cache set (1 KiB)", "cache set (64 KiB binary)"]],
  ["acquire", ["acquire", "acquire (adaptive, user)"]],
  ["admission", ["admit", "admit (refused)"]],
  ["dedupe", ["registerOrJoin + complete"]],
];
// Every store is ready before the first benchmark registers: under Bun and
// Node the harness starts once the module stops registering.
const timed = {
  fetch: await operations("fetch", dynalite.url),
  sdk: await operations("sdk", dynalite.url),
};
for (const form of ["fetch", "sdk"] as const) {
  for (const [group, names] of groups) {
    bench({
      group: `dynamodb ${form}: ${group}`,
      name: `raw GetItem (one round trip, ${form})`,
      baseline: true,
      fn: timed[form]["raw GetItem"]!,
    });
    for (const name of names) {
      bench({
        group: `dynamodb ${form}: ${group}`,
        name: `${name} (${form})`,
        fn: timed[form][name]!,
      });
    }
  }
}

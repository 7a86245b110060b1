// What each store decorator adds to a read and a write of a cached response
// with a 1 KB and a 400 KB JSON body, over a MemoryCacheStore; the baseline
// of each group is the bare MemoryCacheStore doing the same operation. The
// memory store costs next to nothing, so the ratios show the decorators' own
// work (encoding, gzip, AES-GCM) at its largest. For scale, each group also
// measures the codec that every persistent store (libSQL, Upstash) runs on
// the same value anyway: decoding on a read, encoding on a write.
//
//   node scripts/bench.mjs --runtime=deno,bun,node bench/compose_bench.ts
import {
  type CacheStore,
  CompressedCacheStore,
  EncryptedCacheStore,
  FallbackCacheStore,
  MemoryCacheStore,
  MonitoredCacheStore,
  RetryingCacheStore,
  TieredCacheStore,
} from "../mod.ts";
import { createCachedResponse } from "../src/cache/entry.ts";
import { decodeBinary, encodeBinary } from "../src/stores/codec.ts";
import { bench } from "./_harness.ts";

const encoder = new TextEncoder();

function jsonBody(bytes: number): Uint8Array {
  const rows: unknown[] = [];
  let length = 2;
  for (let id = 0; length < bytes; id++) {
    const row = {
      id,
      login: `user-${id}`,
      url: `https://api.example.com/users/${id}`,
      type: "User",
      site_admin: id % 7 === 0,
      score: (id * 7919) % 1000,
    };
    length += JSON.stringify(row).length + 1;
    rows.push(row);
  }
  return encoder.encode(JSON.stringify(rows));
}

function response(bytes: number) {
  return createCachedResponse({
    url: "https://api.example.com/users",
    method: "GET",
    requestHeaders: new Headers(),
    status: 200,
    statusText: "OK",
    headers: new Headers({
      "content-type": "application/json; charset=utf-8",
      "cache-control": "max-age=3600",
      etag: '"abc123"',
    }),
    body: jsonBody(bytes),
    requestTime: Date.now(),
    responseTime: Date.now(),
  }, {});
}

const key = crypto.getRandomValues(new Uint8Array(32));

/** Each decorator over a memory store of its own, by name. */
function decorators(): [string, CacheStore<unknown>][] {
  return [
    [
      "EncryptedCacheStore",
      new EncryptedCacheStore(new MemoryCacheStore(), { keys: { k1: key } }),
    ],
    [
      "EncryptedCacheStore, compress",
      new EncryptedCacheStore(new MemoryCacheStore(), {
        keys: { k1: key },
        compress: true,
      }),
    ],
    ["CompressedCacheStore", new CompressedCacheStore(new MemoryCacheStore())],
    [
      "TieredCacheStore (memory L1 and L2)",
      new TieredCacheStore({
        l1: new MemoryCacheStore(),
        l2: new MemoryCacheStore(),
        l1MaxTtlSeconds: 3_600,
      }),
    ],
    [
      "FallbackCacheStore (two memory stores)",
      new FallbackCacheStore([new MemoryCacheStore(), new MemoryCacheStore()]),
    ],
    ["RetryingCacheStore", new RetryingCacheStore(new MemoryCacheStore())],
    [
      "MonitoredCacheStore",
      new MonitoredCacheStore(new MemoryCacheStore(), () => {}),
    ],
  ];
}

// Every store is filled first: benchmarks must all be registered at once,
// before the harness starts running them.
const sizes = [["1 KB", 1_024], ["400 KB", 409_600]] as const;
const groups = [];
for (const [label, bytes] of sizes) {
  const value = response(bytes);
  const baseline = new MemoryCacheStore();
  await baseline.set("k", value, 3_600);
  const stores = decorators();
  for (const [, store] of stores) await store.set("k", value, 3_600);
  groups.push({ label, value, frame: encodeBinary(value), baseline, stores });
}

// Async functions, so that `deno bench` awaits each call.
for (const { label, value, frame, baseline, stores } of groups) {
  bench({
    group: `get, ${label} body`,
    name: "MemoryCacheStore",
    baseline: true,
    async fn() {
      await baseline.get("k");
    },
  });
  bench({
    group: `get, ${label} body`,
    name: "(for scale: decodeBinary, a persistent store's codec)",
    async fn() {
      await decodeBinary(frame);
    },
  });
  for (const [name, store] of stores) {
    bench({
      group: `get, ${label} body`,
      name,
      async fn() {
        await store.get("k");
      },
    });
  }
  bench({
    group: `set, ${label} body`,
    name: "MemoryCacheStore",
    baseline: true,
    async fn() {
      await baseline.set("k", value, 3_600);
    },
  });
  bench({
    group: `set, ${label} body`,
    name: "(for scale: encodeBinary, a persistent store's codec)",
    async fn() {
      await encodeBinary(value);
    },
  });
  for (const [name, store] of stores) {
    bench({
      group: `set, ${label} body`,
      name,
      async fn() {
        await store.set("k", value, 3_600);
      },
    });
  }
}

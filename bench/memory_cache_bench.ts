// Operations of MemoryCacheStore against a plain Map doing the same work.
//
//   deno bench bench/memory_cache_bench.ts
import { MemoryCacheStore } from "../mod.ts";

const N = 10_000;
const keys = Array.from(
  { length: N * 4 },
  (_, i) => `github:tenant=t_42:cache:${i.toString(16).padStart(16, "0")}`,
);
const body = { status: 200, body: new Uint8Array(1_024) };

// Hits on a full store of N entries.
const map = new Map<string, unknown>();
const store = new MemoryCacheStore({ maxEntries: N });
for (let i = 0; i < N; i++) {
  map.set(keys[i]!, body);
  await store.set(keys[i]!, body, 0);
}
let hit = 0;

Deno.bench({
  group: "get (hit)",
  name: "Map.get",
  baseline: true,
  fn() {
    map.get(keys[hit++ % N]!);
  },
});
Deno.bench({
  group: "get (hit)",
  name: "await Map.get",
  async fn() {
    await map.get(keys[hit++ % N]!);
  },
});
Deno.bench({
  group: "get (hit)",
  name: "MemoryCacheStore.get",
  async fn() {
    await store.get(keys[hit++ % N]!);
  },
});

let miss = 0;
Deno.bench({
  group: "get (miss)",
  name: "Map.get",
  baseline: true,
  fn() {
    map.get(keys[N + (miss++ % N)]!);
  },
});
Deno.bench({
  group: "get (miss)",
  name: "MemoryCacheStore.get",
  async fn() {
    await store.get(keys[N + (miss++ % N)]!);
  },
});

let over = 0;
Deno.bench({
  group: "set (overwrite)",
  name: "Map.set",
  baseline: true,
  fn() {
    map.set(keys[over++ % N]!, body);
  },
});
Deno.bench({
  group: "set (overwrite)",
  name: "MemoryCacheStore.set",
  async fn() {
    await store.set(keys[over++ % N]!, body, 60);
  },
});
// What the client passes with every write to a store with tag support.
Deno.bench({
  group: "set (overwrite)",
  name: "MemoryCacheStore.set, with ageMs",
  async fn() {
    await store.set(keys[over++ % N]!, body, 60, { ageMs: 12 });
  },
});
const tags = ["bench:cache:all", "bench:cache:user%3A42"];
Deno.bench({
  group: "set (overwrite)",
  name: "MemoryCacheStore.set, 2 tags",
  async fn() {
    await store.set(keys[over++ % N]!, body, 60, { tags, ageMs: 12 });
  },
});

// New keys into a full store: every set evicts the least recently used
// entry. The baseline deletes the oldest key it knows, as a FIFO would.
const fifo = new Map<string, unknown>();
const evicting = new MemoryCacheStore({ maxEntries: N });
for (let i = 0; i < N; i++) {
  fifo.set(keys[i]!, body);
  await evicting.set(keys[i]!, body, 0);
}
let fifoNext = N;
let storeNext = N;
Deno.bench({
  group: "set (new key, evicting)",
  name: "Map.set + Map.delete",
  baseline: true,
  fn() {
    const i = fifoNext++;
    fifo.set(keys[i % keys.length]!, body);
    fifo.delete(keys[(i - N) % keys.length]!);
  },
});
Deno.bench({
  group: "set (new key, evicting)",
  name: "MemoryCacheStore.set",
  async fn() {
    await evicting.set(keys[storeNext++ % keys.length]!, body, 60);
  },
});

// The same eviction on a store ten times larger costs the same per set:
// nothing scans or sorts.
const large = new MemoryCacheStore({ maxEntries: N * 10 });
const largeKeys = Array.from({ length: N * 20 }, (_, i) => `large:${i}`);
for (let i = 0; i < N * 10; i++) await large.set(largeKeys[i]!, body, 0);
let largeNext = N * 10;
Deno.bench({
  group: "set (new key, evicting)",
  name: "MemoryCacheStore.set, 10x entries",
  async fn() {
    await large.set(largeKeys[largeNext++ % largeKeys.length]!, body, 60);
  },
});

// Reads that reorder the recency list: alternate between two halves.
let mixed = 0;
Deno.bench({
  group: "get + set (80 % hits)",
  name: "Map",
  baseline: true,
  fn() {
    const i = mixed++;
    if (i % 5 === 0) map.set(keys[(i * 7) % N]!, body);
    else map.get(keys[(i * 13) % N]!);
  },
});
Deno.bench({
  group: "get + set (80 % hits)",
  name: "MemoryCacheStore",
  async fn() {
    const i = mixed++;
    if (i % 5 === 0) await store.set(keys[(i * 7) % N]!, body, 60);
    else await store.get(keys[(i * 13) % N]!);
  },
});

// Measures the memory one cached response costs when HttpClient fills a
// MemoryCacheStore: 100,000 distinct URLs through client.get(), each
// answered by an in-memory transport with a 1 KB JSON body and the headers
// of a typical API response, against the baseline of the same bodies held
// as Uint8Arrays in a Map under the same keys.
//
//   node scripts/bench.mjs bench/client_memory_footprint.ts                  Deno
//   node scripts/bench.mjs --runtime=deno,bun,node bench/client_memory_footprint.ts
//
// Memory is the engine's heap plus external memory (where Uint8Array bodies
// live), measured after a full garbage collection; under Bun, whose
// `heapUsed` already counts external memory, it is `heapUsed` alone. The
// figure per entry is the growth over the empty client, divided by the
// number of entries: everything the client keeps for an entry (the store's
// slot and key, the entry and its body, the client's own bookkeeping)
// counts. A memory store holds a small ASCII body as a string, on the heap,
// where the baseline's bodies are byte arrays outside it: compare totals.
// Set SLUICE_MEMORY_ENTRIES to change the number of entries.
import process from "node:process";
import { HttpClient, MemoryCacheStore } from "../mod.ts";

const ENTRIES = Number(process.env.SLUICE_MEMORY_ENTRIES ?? 100_000);
const BODY_BYTES = 1_024;
const CONCURRENCY = 100;
const runtime = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

const gc = (globalThis as { gc?: () => void }).gc ??
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc.bind(
    undefined,
    true,
  );
if (gc === undefined) {
  console.error(
    "Run with the garbage collector exposed: deno run --v8-flags=--expose-gc, node --expose-gc",
  );
  process.exit(1);
}

interface Usage {
  heap: number;
  external: number;
  total: number;
}

async function used(): Promise<Usage> {
  for (let i = 0; i < 4; i++) {
    gc!();
    // Lets finalizers and freed backing stores settle between passes.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const { heapUsed, external } = process.memoryUsage();
  if (runtime === "bun") {
    return { heap: heapUsed - external, external, total: heapUsed };
  }
  return { heap: heapUsed, external, total: heapUsed + external };
}

// A distinct 1 KB JSON body per URL.
function bodyOf(i: number): string {
  const head = `{"id":${i},"login":"user-${i}","bio":"`;
  const tail = `"}`;
  return head + "x".repeat(BODY_BYTES - head.length - tail.length) + tail;
}

function headersOf(i: number): Record<string, string> {
  return {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(BODY_BYTES),
    "cache-control": "public, max-age=3600",
    etag: `"${(i * 2654435761 >>> 0).toString(16).padStart(8, "0")}"`,
    "last-modified": "Tue, 01 Oct 2024 08:00:00 GMT",
    "x-request-id": `req-${i.toString(36).padStart(8, "0")}`,
  };
}

const transport = (input: string | URL | Request): Promise<Response> => {
  const url = new URL(input instanceof Request ? input.url : input);
  const i = Number(url.searchParams.get("i"));
  return Promise.resolve(new Response(bodyOf(i), { headers: headersOf(i) }));
};

const urlOf = (i: number): string => `https://api.example.com/users?i=${i}`;

function report(label: string, before: Usage, after: Usage): void {
  const per = (a: number, b: number): string =>
    ((a - b) / ENTRIES).toFixed(0).padStart(5);
  console.log(
    `${label.padEnd(40)} ${per(after.total, before.total)} B/entry ` +
      `(heap ${per(after.heap, before.heap)} B, external ${
        per(after.external, before.external)
      } B)`,
  );
}

async function baseline(): Promise<void> {
  const encoder = new TextEncoder();
  const before = await used();
  const map = new Map<string, Uint8Array>();
  for (let i = 0; i < ENTRIES; i++) {
    map.set(
      `memory:cache:${i.toString(36).padStart(22, "0")}`,
      encoder.encode(bodyOf(i)),
    );
  }
  const after = await used();
  report("baseline: Map of key -> 1 KB Uint8Array", before, after);
  map.clear();
}

async function throughClient(): Promise<void> {
  const store = new MemoryCacheStore({
    maxEntries: ENTRIES,
    maxBytes: 1024 * 1024 * 1024,
  });
  const client = new HttpClient({
    name: "memory",
    fetch: transport,
    cache: { store },
  });
  // Warm up on URLs outside the measured range, then empty the cache.
  for (let i = 0; i < 2_000; i++) await client.get(urlOf(ENTRIES + i));
  await store.clear();
  const before = await used();
  for (let start = 0; start < ENTRIES; start += CONCURRENCY) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(ENTRIES, start + CONCURRENCY); i++) {
      batch.push(client.get(urlOf(i)));
    }
    await Promise.all(batch);
  }
  const after = await used();
  if (store.size !== ENTRIES) {
    throw new Error(`Expected ${ENTRIES} entries, found ${store.size}`);
  }
  report("client.get: cached response (1 KB body)", before, after);
  console.log(
    `  store estimate ${(store.bytes / ENTRIES).toFixed(0)} B/entry`,
  );
  await client.close();
  await store.close();
}

console.log(
  `${runtime}: ${ENTRIES} distinct cached responses of ${BODY_BYTES} B bodies`,
);
await baseline();
await throughClient();

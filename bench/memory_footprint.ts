// Measures the memory MemoryCacheStore uses per entry, and how closely
// `maxBytes` bounds real memory once the store is full.
//
//   deno run --v8-flags=--expose-gc bench/memory_footprint.ts
//
// Memory is V8's heap plus external memory (where ArrayBuffer bodies live),
// measured after a full garbage collection.
import { MemoryCacheStore } from "../mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("Run with --v8-flags=--expose-gc");
  Deno.exit(1);
}

function used(): number {
  for (let i = 0; i < 3; i++) gc!();
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

const ENTRIES = 100_000;
const PAYLOAD = 1_024;
const decoder = new TextDecoder();

function stringPayload(i: number): string {
  const bytes = new Uint8Array(PAYLOAD);
  let x = i + 1;
  for (let j = 0; j < PAYLOAD; j++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    bytes[j] = 97 + (x % 26);
  }
  // Decoding gives a flat, distinct one-byte string, as a response body
  // read as text would be.
  return decoder.decode(bytes);
}

function bytesPayload(i: number): Uint8Array {
  return new Uint8Array(PAYLOAD).fill(i & 0xff);
}

function entryPayload(i: number): unknown {
  return {
    status: 200,
    headers: [["content-type", "application/json"], ["etag", `"v${i}"`]],
    storedAt: 1_700_000_000_000 + i,
    body: bytesPayload(i),
  };
}

const keyOf = (i: number): string =>
  `github:tenant=t_42:cache:${i.toString(16).padStart(16, "0")}`;

async function perEntry(
  label: string,
  make: (i: number) => unknown,
): Promise<number> {
  // Payloads are built first so that only the store's own memory is
  // measured on top of them; then the payload's share is added back by
  // measuring the payloads alone.
  const payloads = Array.from({ length: ENTRIES }, (_, i) => make(i));
  const keys = Array.from({ length: ENTRIES }, (_, i) => keyOf(i));
  const before = used();
  const store = new MemoryCacheStore({
    maxEntries: ENTRIES,
    maxBytes: 1024 * 1024 * 1024,
  });
  for (let i = 0; i < ENTRIES; i++) await store.set(keys[i]!, payloads[i], 0);
  const withStore = used();
  const storeOnly = (withStore - before) / ENTRIES;

  await store.close();
  payloads.length = 0;
  keys.length = 0;
  const empty = used();
  const fresh = Array.from({ length: ENTRIES }, (_, i) => make(i));
  const freshKeys = Array.from({ length: ENTRIES }, (_, i) => keyOf(i));
  const payloadOnly = (used() - empty) / ENTRIES;
  fresh.length = 0;
  freshKeys.length = 0;

  const total = storeOnly + payloadOnly;
  console.log(
    `${label.padEnd(34)} ${total.toFixed(0).padStart(5)} B/entry ` +
      `(payload + key ${payloadOnly.toFixed(0)} B, store ${
        storeOnly.toFixed(0)
      } B)`,
  );
  return total;
}

async function bounded(
  label: string,
  maxBytes: number,
  make: (i: number) => unknown,
): Promise<void> {
  const before = used();
  const store = new MemoryCacheStore({ maxEntries: 10_000_000, maxBytes });
  const count = Math.ceil((maxBytes / PAYLOAD) * 3);
  for (let i = 0; i < count; i++) {
    await store.set(keyOf(i), make(i), 0);
  }
  const grown = used() - before;
  const ratio = grown / maxBytes;
  console.log(
    `${label}, maxBytes ${(maxBytes / 1024 / 1024).toFixed(0)} MiB, ` +
      `${count} sets: ` +
      `${store.size} entries, estimate ${
        (store.bytes / 1024 / 1024).toFixed(2)
      } MiB, ` +
      `measured ${(grown / 1024 / 1024).toFixed(2)} MiB ` +
      `(${((ratio - 1) * 100).toFixed(1)} % from maxBytes)`,
  );
  await store.close();
}

console.log(`${ENTRIES} distinct entries of ${PAYLOAD} B, no eviction:`);
await perEntry("1 KB string body", stringPayload);
await perEntry("1 KB Uint8Array body", bytesPayload);
await perEntry("cached response (1 KB body)", entryPayload);
console.log("\nBounded by maxBytes, filled three times over:");
for (const mib of [8, 32]) {
  await bounded("string bodies", mib * 1024 * 1024, stringPayload);
  await bounded("Uint8Array bodies", mib * 1024 * 1024, bytesPayload);
  await bounded("cached responses", mib * 1024 * 1024, entryPayload);
}

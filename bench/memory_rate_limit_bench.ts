// Admission cost of the memory rate-limit stores against a plain Map
// counter, and its independence from the limit: the window log is a ring
// buffer, so neither a large limit nor a full window costs a scan.
//
//   deno bench bench/memory_rate_limit_bench.ts
import {
  MemoryAdaptiveRateLimitStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../mod.ts";
import { ManualClock } from "../src/testing/mod.ts";

const counts = new Map<string, number>();
Deno.bench({
  group: "acquire (admitted)",
  name: "Map counter",
  baseline: true,
  fn() {
    counts.set("r", (counts.get("r") ?? 0) + 1);
  },
});

// The clock advances 1 ms per call, so admissions keep sliding out and every
// acquire is admitted and recorded.
for (const limit of [100, 100_000]) {
  const clock = new ManualClock(0);
  const store = new MemoryRateLimitStore({
    clock,
    defaultConfig: { limit, windowMs: limit },
  });
  Deno.bench({
    group: "acquire (admitted)",
    name: `MemoryRateLimitStore, limit ${limit}`,
    async fn() {
      clock.advance(1);
      await store.acquire("r");
    },
  });
}

for (const priority of ["user", "background"] as const) {
  const clock = new ManualClock(0);
  const store = new MemoryAdaptiveRateLimitStore({
    clock,
    defaultConfig: { limit: 1_000, windowMs: 1_000 },
  });
  Deno.bench({
    group: "acquire (admitted)",
    name: `MemoryAdaptiveRateLimitStore, ${priority}`,
    async fn() {
      clock.advance(1);
      await store.acquire("r", priority);
    },
  });
}

// A full window: every acquire is refused.
for (const limit of [100, 100_000]) {
  const store = new MemoryRateLimitStore({
    defaultConfig: { limit, windowMs: 3_600_000 },
  });
  for (let i = 0; i < limit; i++) await store.acquire("r");
  Deno.bench({
    group: "acquire (refused, full window)",
    name: `MemoryRateLimitStore, limit ${limit}`,
    baseline: limit === 100,
    async fn() {
      await store.acquire("r");
    },
  });
}

const flights = new Map<string, Promise<unknown>>();
const dedupe = new MemoryDedupeStore<number>();
let flight = 0;
Deno.bench({
  group: "single flight (own, then complete)",
  name: "Map of promises",
  baseline: true,
  fn() {
    const key = `k${flight++ % 1_000}`;
    flights.set(key, Promise.resolve(1));
    flights.delete(key);
  },
});
Deno.bench({
  group: "single flight (own, then complete)",
  name: "MemoryDedupeStore",
  async fn() {
    const key = `k${flight++ % 1_000}`;
    await dedupe.registerOrJoin(key);
    await dedupe.complete(key, 1);
  },
});

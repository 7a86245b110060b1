// Admission cost of the memory rate-limit stores against a plain Map
// counter, and its independence from the limit: the window log is a ring
// buffer, so neither a large limit nor a full window costs a scan.
//
// The stores are the shared rate-limit policy over a memory backend. Their
// acquire paths before that (one class per store, the window kept inline)
// are copied below, so that one run compares both on the same machine.
//
//   deno bench bench/memory_rate_limit_bench.ts
import {
  MemoryAdaptiveRateLimitStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  type RateLimitConfig,
} from "../mod.ts";
import {
  activityCutoffs,
  type AdaptiveSplit,
  admitsPriority,
  computeAdaptiveSplit,
  DEFAULT_ADAPTIVE_CONFIG,
} from "../src/rate_limit/adaptive_policy.ts";
import { SweptMap } from "../src/stores/memory/_swept_map.ts";
import { TimestampRing } from "../src/stores/memory/_timestamp_ring.ts";
import { ManualClock } from "../testing/mod.ts";

/** `run()` of the previous memory stores: a closed check, then the body settled. */
function settleBody<T>(closed: boolean, body: () => T): Promise<T> {
  if (closed) return Promise.reject(new Error("closed"));
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The budgets of the previous stores: a default, overrides, a margin. */
class PreviousBudgets {
  readonly #default: RateLimitConfig;
  readonly #overrides = new Map<string, RateLimitConfig>();
  readonly #marginMs = 0;

  constructor(config: RateLimitConfig) {
    this.#default = config;
  }

  get(resource: string): RateLimitConfig {
    return this.#overrides.get(resource) ?? this.#default;
  }

  windowMs(resource: string): number {
    return this.get(resource).windowMs + this.#marginMs;
  }
}

/** The acquire path of the previous `MemoryRateLimitStore`. */
class PreviousMemoryRateLimitStore {
  readonly #clock: ManualClock;
  readonly #configs: PreviousBudgets;
  readonly #buckets: SweptMap<{ log: TimestampRing; cooldownUntil: number }>;
  #closed = false;

  constructor(clock: ManualClock, config: RateLimitConfig) {
    this.#clock = clock;
    this.#configs = new PreviousBudgets(config);
    this.#buckets = new SweptMap(clock, () => false);
  }

  acquire(resource: string): Promise<boolean> {
    return settleBody(this.#closed, () => {
      const now = this.#clock.now();
      const { limit } = this.#configs.get(resource);
      const bucket = this.#buckets.getOrCreate(resource, () => ({
        log: new TimestampRing(this.#configs.get(resource).limit),
        cooldownUntil: -Infinity,
      }));
      bucket.log.dropThrough(now - this.#configs.windowMs(resource));
      if (bucket.log.size >= limit) return false;
      bucket.log.push(now);
      return true;
    });
  }
}

interface _PreviousBucket {
  all: TimestampRing;
  background: TimestampRing;
  users: TimestampRing;
  lastUserAt: number;
  split: AdaptiveSplit | null;
  splitAt: number;
  cooldownUntil: number;
}

/** The acquire path of the previous `MemoryAdaptiveRateLimitStore`. */
class PreviousMemoryAdaptiveRateLimitStore {
  readonly #clock: ManualClock;
  readonly #configs: PreviousBudgets;
  readonly #buckets: SweptMap<_PreviousBucket>;
  #closed = false;

  constructor(clock: ManualClock, config: RateLimitConfig) {
    this.#clock = clock;
    this.#configs = new PreviousBudgets(config);
    this.#buckets = new SweptMap(clock, () => false);
  }

  acquire(resource: string, priority: "user" | "background"): Promise<boolean> {
    return settleBody(this.#closed, () => {
      const now = this.#clock.now();
      const bucket = this.#buckets.getOrCreate(resource, () => {
        const { limit } = this.#configs.get(resource);
        return {
          all: new TimestampRing(limit),
          background: new TimestampRing(limit),
          users: new TimestampRing(Infinity),
          lastUserAt: -Infinity,
          split: null,
          splitAt: -Infinity,
          cooldownUntil: -Infinity,
        };
      });
      const since = now - this.#configs.windowMs(resource);
      bucket.all.dropThrough(since);
      bucket.background.dropThrough(since);
      bucket.users.dropThrough(
        now - DEFAULT_ADAPTIVE_CONFIG.monitoringWindowMs,
      );
      const split = this.#split(bucket, resource, now);
      if (
        !admitsPriority(priority, {
          limit: this.#configs.get(resource).limit,
          totalInWindow: bucket.all.size,
          backgroundInWindow: bucket.background.size,
          backgroundMax: split.backgroundMax,
          backgroundPaused: split.backgroundPaused,
        })
      ) {
        return false;
      }
      bucket.all.push(now);
      if (priority === "user") {
        bucket.users.push(now);
        bucket.lastUserAt = Math.max(bucket.lastUserAt, now);
        if (bucket.split?.regime === "idle") bucket.split = null;
      } else {
        bucket.background.push(now);
      }
      return true;
    });
  }

  #split(
    bucket: _PreviousBucket,
    resource: string,
    now: number,
  ): AdaptiveSplit {
    const config = DEFAULT_ADAPTIVE_CONFIG;
    if (
      bucket.split !== null &&
      now - bucket.splitAt < config.recalculationIntervalMs &&
      now >= bucket.splitAt
    ) {
      return bucket.split;
    }
    const cutoffs = activityCutoffs(now, config);
    const lastThird = bucket.users.countAfter(cutoffs.lastThirdSince);
    const split = computeAdaptiveSplit(this.#configs.get(resource).limit, {
      recent: bucket.users.countAfter(cutoffs.monitoringSince),
      lastThird,
      previousThird: bucket.users.countAfter(cutoffs.previousThirdSince) -
        lastThird,
      idleMs: now - bucket.lastUserAt,
    }, config);
    bucket.split = split;
    bucket.splitAt = now;
    return split;
  }
}

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

// The same admissions through the previous implementation and the new one,
// side by side: each new one against its predecessor.
{
  const oldClock = new ManualClock(0);
  const previous = new PreviousMemoryRateLimitStore(oldClock, {
    limit: 100,
    windowMs: 100,
  });
  Deno.bench({
    group: "acquire, previous implementation (plain)",
    name: "previous MemoryRateLimitStore, limit 100",
    baseline: true,
    async fn() {
      oldClock.advance(1);
      await previous.acquire("r");
    },
  });
  const clock = new ManualClock(0);
  const store = new MemoryRateLimitStore({
    clock,
    defaultConfig: { limit: 100, windowMs: 100 },
  });
  Deno.bench({
    group: "acquire, previous implementation (plain)",
    name: "MemoryRateLimitStore, limit 100",
    async fn() {
      clock.advance(1);
      await store.acquire("r");
    },
  });
}
for (const priority of ["user", "background"] as const) {
  const group = `acquire, previous implementation (adaptive, ${priority})`;
  const oldClock = new ManualClock(0);
  const previous = new PreviousMemoryAdaptiveRateLimitStore(oldClock, {
    limit: 1_000,
    windowMs: 1_000,
  });
  Deno.bench({
    group,
    name: `previous MemoryAdaptiveRateLimitStore, ${priority}`,
    baseline: true,
    async fn() {
      oldClock.advance(1);
      await previous.acquire("r", priority);
    },
  });
  const clock = new ManualClock(0);
  const store = new MemoryAdaptiveRateLimitStore({
    clock,
    defaultConfig: { limit: 1_000, windowMs: 1_000 },
  });
  Deno.bench({
    group,
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
{
  const clock = new ManualClock(0);
  const previous = new PreviousMemoryRateLimitStore(clock, {
    limit: 100,
    windowMs: 3_600_000,
  });
  for (let i = 0; i < 100; i++) await previous.acquire("r");
  Deno.bench({
    group: "acquire (refused, full window)",
    name: "previous MemoryRateLimitStore, limit 100",
    async fn() {
      await previous.acquire("r");
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

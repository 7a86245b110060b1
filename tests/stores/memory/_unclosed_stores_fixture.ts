// Uses every memory store and leaves them open. The process must still exit
// on its own: the stores hold no timers that keep it alive.
import {
  MemoryAdaptiveRateLimitStore,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../../../mod.ts";

const cache = new MemoryCacheStore<string>({ maxEntries: 10 });
for (let i = 0; i < 20; i++) await cache.set(`k${i}`, "v", 3_600);

const dedupe = new MemoryDedupeStore<string>({ jobTimeoutMs: 3_600_000 });
await dedupe.registerOrJoin("finished");
const waiting = dedupe.waitFor("finished");
await dedupe.complete("finished", "value");
await waiting;
await dedupe.registerOrJoin("abandoned");
const controller = new AbortController();
const aborted = dedupe.waitFor("abandoned", { signal: controller.signal })
  .catch(() => "aborted");
controller.abort();
await aborted;

const limiter = new MemoryRateLimitStore({
  defaultConfig: { limit: 2, windowMs: 3_600_000 },
});
for (let i = 0; i < 5; i++) await limiter.acquire("r");
await limiter.setCooldown("r", 3_600_000);

const adaptive = new MemoryAdaptiveRateLimitStore();
await adaptive.acquire("r", "user");
await adaptive.acquire("r", "background");

console.log("done");

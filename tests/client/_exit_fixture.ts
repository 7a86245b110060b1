// Uses a client on every path that arms a timer (total and attempt
// deadlines, retries, rate-limit waits, background revalidation, streamed
// bodies, aborted waits), then closes it without closing its stores. The
// process must then exit on its own: nothing the client started may keep it
// alive.
//
// The clock runs on real timers, ahead of the wall clock by `skew`: with
// `now()` alone (argument "now"), the client arms timers itself; with a
// `sleep()` of its own ("sleep"), every wait goes through that sleep.
import process from "node:process";
import {
  type Clock,
  HttpClient,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  systemClock,
} from "../../mod.ts";

const base = process.argv[2]!;
let skew = 0;
const clock: Clock = process.argv[3] === "sleep"
  ? {
    now: () => Date.now() + skew,
    sleep: (ms, signal) => systemClock.sleep(ms, signal),
  }
  : { now: () => Date.now() + skew };
const client = new HttpClient({
  name: "exit",
  baseUrl: base,
  cache: { store: new MemoryCacheStore({ clock }) },
  dedupe: { store: new MemoryDedupeStore() },
  rateLimit: {
    store: new MemoryRateLimitStore({
      defaultConfig: { limit: 100, windowMs: 3_600_000 },
    }),
  },
  retry: { attempts: 2, baseDelayMs: 1 },
  timeout: { attemptMs: 600_000, totalMs: 3_600_000 },
  maxBodyBytes: 1_000,
  clock,
});

await client.get("/swr");
skew += 5_000;
await client.get("/swr"); // stale: revalidates in the background
await client.get("/fresh");
await client.get("/fresh");
await (await client.fetch("/big")).text();
await client.get("/flaky");
await client.post("/echo", { a: 1 });
await client.fetch("/echo", { method: "DELETE" }); // 204: no body to end
const controller = new AbortController();
const leaving = client.get("/slow", { signal: controller.signal });
setTimeout(() => controller.abort(new Error("left")), 10);
await leaving.catch(() => {});
await client.close();
console.log("done");

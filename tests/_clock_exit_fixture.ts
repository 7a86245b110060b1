// Starts every kind of wait that runs on real timers, each far longer than
// this process may live, and stops each one: by its signal, or because the
// request it bounded was admitted first. The process must then exit on its
// own: no stopped wait may leave a timer behind.
import { systemClock } from "../src/clock.ts";
import { sleepOn } from "../src/_clock_sleep.ts";
import { RateLimiter, sleep } from "../src/rate_limit/limiter.ts";
import type { RateLimitStore } from "../mod.ts";

const HOUR = 3_600_000;

/** Starts `wait` on a signal, aborts it, and checks that it rejected. */
async function stopped(
  wait: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const reason = new Error("stopped");
  const waiting = wait(controller.signal);
  controller.abort(reason);
  const outcome = await waiting.then(() => "resolved", (error) => error);
  if (outcome !== reason) throw new Error(`not stopped: ${String(outcome)}`);
}

await stopped((signal) => systemClock.sleep(HOUR, signal));
await stopped((signal) => systemClock.sleep(2 ** 40, signal));
await stopped((signal) => systemClock.sleep(Infinity, signal));
await stopped((signal) => sleep(HOUR, signal));
await stopped((signal) => sleepOn({ now: () => Date.now() }, HOUR, signal));

// A request that waits an hour for budget, stopped by its signal.
const spent = {
  admit: () =>
    Promise.resolve({ admitted: false, waitMs: HOUR, cooldownMs: 0 }),
  setCooldown: () => Promise.resolve(),
} as unknown as RateLimitStore;
await stopped((signal) =>
  new RateLimiter({ store: spent, maxWaitMs: 2 * HOUR })
    .admit("r", "user", signal)
    .then(() => {})
);

// A request queued behind another, with an hour of maxWaitMs, admitted
// right after it: its maxWaitMs timeout must not outlive it.
let refusals = 2;
const brief = {
  admit: () =>
    Promise.resolve(
      refusals-- > 0
        ? { admitted: false, waitMs: 5, cooldownMs: 0 }
        : { admitted: true, waitMs: 0, cooldownMs: 0 },
    ),
  setCooldown: () => Promise.resolve(),
} as unknown as RateLimitStore;
const limiter = new RateLimiter({ store: brief, maxWaitMs: HOUR });
await Promise.all([limiter.admit("r", "user"), limiter.admit("r", "user")]);

console.log("done");

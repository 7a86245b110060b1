// How soon a joiner in another process learns that the owner completed, on
// libSQL (a local file) and Upstash (the REST bridge in front of a local
// redis-server), with every store at its default options.
//
//   node scripts/bench.mjs bench/dedupe_wakeup_bench.ts
//
// Before the benchmarks run, the file prints one table per backend. The
// owner is a store in this process; the joiner is a store in a child
// process (bench/_dedupe_wakeup_worker.ts). For each trial the owner
// registers a job, the joiner joins it and waits, the owner "calls the
// origin" for the job's length (plus up to 50 ms at random), then
// completes. The delay is the time from the
// start of `complete()` to the moment the joiner's `waitFor` resolved
// (both read the same system clock). Requests per waiting second are the
// joiner's store requests while it waited (the bridge's count, less the
// owner's `complete`, for Upstash; the client's round trips for libSQL),
// divided by the time it waited.
//
// The benchmarks after the tables measure the wake-up within one store:
// `complete()` through the store that holds the waiter.
//
// Set SLUICE_WAKEUP_TRIALS to change the number of trials per job length
// (default 25).
import { createClient } from "@libsql/client";
import { Redis } from "@upstash/redis";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { LibsqlDedupeStore } from "../adapters/libsql/mod.ts";
import { UpstashDedupeStore } from "../adapters/upstash/mod.ts";
import { type DedupeStore, MemoryDedupeStore } from "../mod.ts";
import { startRedisServer } from "../tests/fixtures/redis_server.ts";
import { startUpstashBridge } from "../tests/fixtures/upstash_bridge.ts";

const TRIALS = Number(process.env.SLUICE_WAKEUP_TRIALS ?? 25);
/** How long the owner's origin call takes, per group of trials. */
const JOB_MS = [100, 400, 1_500];
/**
 * Each call takes up to this much longer, at random, so that completions
 * fall anywhere between two checks of the joiner, as they do in real use.
 */
const JITTER_MS = 50;

const dir = mkdtempSync(join(tmpdir(), "sluice-wakeup-bench-"));
const server = await startRedisServer();
const bridge = await startUpstashBridge({ redisPort: server.port });
const children = new Set<ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const child of children) child.kill("SIGKILL");
  void bridge.close();
  void server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallNow = (): number => performance.timeOrigin + performance.now();

/** The joiner process, driven by JSON lines. */
class Joiner {
  readonly #child: ChildProcess;
  readonly #lines: Array<(message: Record<string, unknown>) => void> = [];
  readonly #queued: Record<string, unknown>[] = [];
  #stderr = "";

  constructor(config: Record<string, unknown>) {
    this.#child = spawn(process.execPath, [
      "run",
      "--allow-all",
      new URL("./_dedupe_wakeup_worker.ts", import.meta.url).pathname,
      JSON.stringify(config),
    ], { stdio: ["pipe", "pipe", "pipe"] });
    children.add(this.#child);
    this.#child.stderr!.on("data", (chunk) => (this.#stderr += String(chunk)));
    this.#child.once("exit", (code) => {
      if (code !== 0 && code !== null) {
        console.error(`the joiner exited with ${code}: ${this.#stderr}`);
      }
    });
    let buffered = "";
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        const next = this.#lines.shift();
        if (next !== undefined) next(message);
        else this.#queued.push(message);
      }
    });
  }

  /** The next line the joiner prints. */
  next(): Promise<Record<string, unknown>> {
    const queued = this.#queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.#lines.push(resolve));
  }

  send(message: Record<string, unknown>): void {
    this.#child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    this.#child.stdin!.end();
    children.delete(this.#child);
  }
}

interface Row {
  "job ms": number;
  trials: number;
  "median ms": number;
  "p95 ms": number;
  "max ms": number;
  "requests / waiting s": number;
  "requests / job": number;
}

function quantile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** Runs the trials for one backend and returns one row per job length. */
async function measure(
  owner: DedupeStore<unknown>,
  joiner: Joiner,
  requestsWhileWaiting: (() => number) | undefined,
  resetRequests: () => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  if ((await joiner.next()).ready !== true) throw new Error("joiner not ready");
  let trial = 0;
  for (const jobMs of JOB_MS) {
    const delays: number[] = [];
    let requests = 0;
    let waited = 0;
    const trials = jobMs > 1_000 ? Math.max(3, Math.ceil(TRIALS / 3)) : TRIALS;
    for (let i = 0; i < trials; i++) {
      const key = `wakeup:${jobMs}:${trial++}:${crypto.randomUUID()}`;
      const registration = await owner.registerOrJoin(key);
      if (!registration.isOwner) throw new Error("the owner did not own");
      joiner.send({ key });
      const waiting = await joiner.next();
      if (waiting.isOwner !== false) throw new Error("the joiner owned");
      resetRequests();
      await sleep(jobMs + Math.random() * JITTER_MS);
      const completedAt = wallNow();
      await owner.complete(key, { status: 200, body: "x".repeat(512) });
      const outcome = await joiner.next();
      if (outcome.ok !== true) throw new Error("the joiner got no value");
      delays.push(Number(outcome.resolvedAt) - completedAt);
      // The owner's complete() is one of the requests the bridge counted.
      requests += requestsWhileWaiting === undefined
        ? Number(outcome.polls)
        : requestsWhileWaiting() - 1;
      waited += Number(outcome.waitedMs);
    }
    delays.sort((a, b) => a - b);
    rows.push({
      "job ms": jobMs,
      trials,
      "median ms": Number(quantile(delays, 0.5).toFixed(1)),
      "p95 ms": Number(quantile(delays, 0.95).toFixed(1)),
      "max ms": Number(delays[delays.length - 1]!.toFixed(1)),
      "requests / waiting s": Number((requests / (waited / 1_000)).toFixed(1)),
      "requests / job": Number((requests / trials).toFixed(1)),
    });
  }
  return rows;
}

const libsqlUrl = `file:${join(dir, "wakeup.db")}`;
const libsqlOwner = new LibsqlDedupeStore({
  client: createClient({ url: libsqlUrl, timeout: 5_000 }),
});
await libsqlOwner.isInProgress("warm-up");
const libsqlJoiner = new Joiner({ backend: "libsql", url: libsqlUrl });
const libsqlRows = await measure(
  libsqlOwner,
  libsqlJoiner,
  undefined,
  () => {},
);
libsqlJoiner.close();
console.log(
  "libSQL file, owner and joiner in two processes: complete() to waitFor()",
);
console.table(libsqlRows);

const keyPrefix = "sluice-wakeup:";
const redis = new Redis({
  url: bridge.url,
  token: bridge.token,
  automaticDeserialization: false,
  enableTelemetry: false,
});
const upstashOwner = new UpstashDedupeStore({ redis, keyPrefix });
await upstashOwner.isInProgress("warm-up");
const upstashJoiner = new Joiner({
  backend: "upstash",
  url: bridge.url,
  token: bridge.token,
  keyPrefix,
});
const upstashRows = await measure(
  upstashOwner,
  upstashJoiner,
  () => bridge.requests(),
  () => bridge.resetCounts(),
);
upstashJoiner.close();
console.log(
  "Upstash over the REST bridge, owner and joiner in two processes: complete() to waitFor()",
);
console.table(upstashRows);

// Within one store: a complete() wakes the store's own waiters without a
// poll. Each iteration registers, waits, and completes one job.
const memory = new MemoryDedupeStore();
const local: Record<string, DedupeStore<unknown>> = {
  memory,
  "libSQL file": libsqlOwner,
  Upstash: upstashOwner,
};
let job = 0;
for (const [name, store] of Object.entries(local)) {
  Deno.bench({
    group: `dedupe wake-up within one store (${name})`,
    name: `registerOrJoin + complete (${name})`,
    baseline: true,
    fn: async () => {
      const key = `local:${job++}`;
      await store.registerOrJoin(key);
      await store.complete(key, 1);
    },
  });
  Deno.bench({
    group: `dedupe wake-up within one store (${name})`,
    name: `registerOrJoin + waitFor + complete (${name})`,
    fn: async () => {
      const key = `local:${job++}`;
      await store.registerOrJoin(key);
      const waiting = store.waitFor(key);
      await store.complete(key, 1);
      await waiting;
    },
  });
}

// What createMetrics() costs: its onEvent per event, and a snapshot(),
// against baselines doing the least a listener or a copy can do, measured in
// the same run.
//
//   node scripts/bench.mjs --runtime=deno,bun,node bench/metrics_bench.ts
//
// 1. "onEvent": each iteration hands BATCH events to a listener, cycling
//    through a mix of the events of real calls (a hit; a miss that waited
//    for budget, called the origin and stored the response; a joiner). The
//    baselines are a listener that does nothing and one that pushes the
//    event into an array (emptied every BATCH events). "one client" sends
//    every event from one client; "100 clients" spreads them over 100
//    scopes, each its own series. The metrics read the system clock at
//    every event, as they do in use.
// 2. "snapshot": one snapshot() of metrics that counted the mix, for one
//    client and for 100, against structuredClone() of the snapshot it
//    returns (copying the same plain data, without adding any of it up).
import {
  createMetrics,
  type Metrics,
  type MetricsSnapshot,
  type SluiceEvent,
} from "../mod.ts";
import { bench } from "./_harness.ts";

const BATCH = 1_000;

/** The events of `calls` calls, over `clients` clients. */
function mix(calls: number, clients: number): SluiceEvent[] {
  const events: SluiceEvent[] = [];
  const time = Date.now();
  for (let i = 0; i < calls; i++) {
    const client = clients === 1 ? "github" : `github:tenant=t_${i % clients}`;
    const fields = {
      client,
      time,
      requestId: `b1c2d3e4f5a6-${i.toString(36)}`,
      method: "GET",
      url: `https://api.github.com/repos/o/r${i % 500}?page=REDACTED`,
    };
    const key = `${client}:cache:${i % 500}`;
    const resource = `${client}:rl:api.github.com`;
    events.push({ type: "request", ...fields, priority: "user" });
    switch (i % 3) {
      case 0:
        events.push(
          { type: "cache.hit", ...fields, key, ageMs: 1_200 },
          {
            type: "response",
            ...fields,
            status: 200,
            source: "cache",
            durationMs: 0.08,
            attempts: 0,
          },
        );
        break;
      case 1:
        events.push(
          { type: "cache.miss", ...fields, key, reason: "absent" },
          { type: "dedupe.owner", ...fields, key, scope: "process" },
          {
            type: "ratelimit.wait",
            ...fields,
            resource,
            priority: "user",
            waitMs: 120,
          },
          {
            type: "origin",
            ...fields,
            attempt: 1,
            status: 200,
            durationMs: 85,
            conditional: false,
            background: false,
            resource,
          },
          {
            type: "cache.stored",
            ...fields,
            key,
            ttlSeconds: 60,
            bytes: 1_500,
          },
          {
            type: "response",
            ...fields,
            status: 200,
            source: "network",
            durationMs: 210,
            attempts: 1,
          },
        );
        break;
      default:
        events.push(
          { type: "cache.miss", ...fields, key, reason: "absent" },
          {
            type: "dedupe.joined",
            ...fields,
            key,
            scope: "process",
            waitedMs: 80,
          },
          {
            type: "response",
            ...fields,
            status: 200,
            source: "dedupe",
            durationMs: 81,
            attempts: 0,
          },
        );
    }
  }
  return events;
}

const oneClient = mix(3_000, 1);
const manyClients = mix(3_000, 100);

function run(
  events: SluiceEvent[],
  listener: (event: SluiceEvent) => void,
): () => void {
  let next = 0;
  return () => {
    for (let i = 0; i < BATCH; i++) {
      listener(events[next]!);
      next = next + 1 === events.length ? 0 : next + 1;
    }
  };
}

const kept: SluiceEvent[] = [];
const push = (event: SluiceEvent): void => {
  if (kept.length === BATCH) kept.length = 0;
  kept.push(event);
};
let seen = 0;
const nothing = (event: SluiceEvent): void => {
  if (event === undefined) seen++;
};

bench({
  group: "onEvent",
  name: `empty listener x${BATCH}`,
  baseline: true,
  fn: run(oneClient, nothing),
});
bench({
  group: "onEvent",
  name: `push into an array x${BATCH}`,
  fn: run(oneClient, push),
});
bench({
  group: "onEvent",
  name: `metrics, one client x${BATCH}`,
  fn: run(oneClient, createMetrics().onEvent),
});
bench({
  group: "onEvent",
  name: `metrics, 100 clients x${BATCH}`,
  fn: run(manyClients, createMetrics().onEvent),
});

function counted(events: SluiceEvent[]): Metrics {
  const metrics = createMetrics();
  for (const event of events) metrics.onEvent(event);
  return metrics;
}

const one = counted(oneClient);
const many = counted(manyClients);
const oneShot: MetricsSnapshot = one.snapshot();
const manyShot: MetricsSnapshot = many.snapshot();
if (oneShot.clients.length !== 1 || manyShot.clients.length !== 100) {
  throw new Error("The benchmark metrics should have 1 and 100 series");
}

bench({
  group: "snapshot, one client",
  name: "structuredClone(snapshot)",
  baseline: true,
  fn: () => void structuredClone(oneShot),
});
bench({
  group: "snapshot, one client",
  name: "snapshot()",
  fn: () => void one.snapshot(),
});
bench({
  group: "snapshot, 100 clients",
  name: "structuredClone(snapshot)",
  baseline: true,
  fn: () => void structuredClone(manyShot),
});
bench({
  group: "snapshot, 100 clients",
  name: "snapshot()",
  fn: () => void many.snapshot(),
});

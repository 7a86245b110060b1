// A portable `Deno.bench`: the bench files register their benchmarks with
// `bench()`, which hands them to `Deno.bench` under `deno bench`, and runs
// them itself under Bun and Node (where `Deno.bench` is absent), printing
// one table per group with each benchmark's ratio to the group's baseline.
//
// Without Deno, the benchmarks of a group run in interleaved rounds (each
// one in turn, then again), so that a change in the machine's load affects
// the baseline and the others alike. Set SLUICE_BENCH_MS to change the time
// each benchmark is measured for (default 3000 ms, after a warm-up of a
// tenth of that).
import process from "node:process";

/** One benchmark, as `Deno.bench` takes it. */
export interface BenchDefinition {
  group: string;
  name: string;
  baseline?: boolean;
  fn: () => unknown;
}

interface DenoBench {
  bench(definition: BenchDefinition): void;
}

const deno = (globalThis as { Deno?: DenoBench }).Deno;
const defined: BenchDefinition[] = [];
const cleanups: (() => unknown)[] = [];
let scheduled = false;

/** The runtime running the benchmarks. */
export const runtimeName: string = deno !== undefined
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** Registers a benchmark (see the file's header). */
export function bench(definition: BenchDefinition): void {
  if (deno !== undefined) {
    deno.bench(definition);
    return;
  }
  defined.push(definition);
  if (!scheduled) {
    scheduled = true;
    // A macrotask: the module's remaining top-level code (more benchmarks,
    // `afterAll`) has registered by then, since registrations follow the
    // module's awaited set-up.
    setTimeout(() => void _runAll(), 0);
  }
}

/**
 * Runs `fn` once every benchmark has run: on unload under Deno, after the
 * tables under Bun and Node.
 */
export function afterAll(fn: () => unknown): void {
  if (deno !== undefined) {
    globalThis.addEventListener("unload", () => void fn());
    return;
  }
  cleanups.push(fn);
}

interface Result {
  definition: BenchDefinition;
  samples: number[];
  total: number;
  iterations: number;
}

const ROUNDS = 10;

async function _runAll(): Promise<void> {
  const budgetMs = Number(process.env.SLUICE_BENCH_MS ?? 3_000);
  console.log(
    `runtime: ${runtimeName} ${
      (process.versions as Record<string, string | undefined>).bun ??
        process.versions.node
    }, ${budgetMs} ms per benchmark in ${ROUNDS} interleaved rounds`,
  );
  const groups = new Map<string, BenchDefinition[]>();
  for (const definition of defined) {
    const list = groups.get(definition.group) ?? [];
    list.push(definition);
    groups.set(definition.group, list);
  }
  try {
    for (const [group, definitions] of groups) {
      const results = definitions.map((definition): Result => ({
        definition,
        samples: [],
        total: 0,
        iterations: 0,
      }));
      for (const result of results) {
        await _measure(result, budgetMs / 10, false);
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const result of results) {
          await _measure(result, budgetMs / ROUNDS, true);
        }
      }
      _print(group, results);
    }
  } finally {
    for (const fn of cleanups) await fn();
  }
}

async function _measure(
  result: Result,
  forMs: number,
  keep: boolean,
): Promise<void> {
  const { fn } = result.definition;
  const end = performance.now() + forMs;
  let count = 0;
  for (;;) {
    const started = performance.now();
    const value = fn();
    if (value instanceof Promise) await value;
    const ended = performance.now();
    if (keep) {
      const ms = ended - started;
      result.samples.push(ms);
      result.total += ms;
      result.iterations++;
    }
    count++;
    if (ended >= end && count >= 10) return;
  }
}

function _print(group: string, results: Result[]): void {
  const baseline = results.find((r) => r.definition.baseline === true);
  const baseAvg = baseline === undefined
    ? undefined
    : baseline.total / baseline.iterations;
  console.log(`\ngroup ${group}`);
  const rows = results.map((r) => {
    const sorted = [...r.samples].sort((a, b) => a - b);
    const avg = r.total / r.iterations;
    return [
      r.definition.name,
      _time(avg),
      _time(_percentile(sorted, 0.5)),
      _time(_percentile(sorted, 0.99)),
      String(r.iterations),
      baseAvg === undefined ? "" : `${(avg / baseAvg).toFixed(2)}x`,
      baseAvg === undefined || r === baseline
        ? ""
        : `${avg >= baseAvg ? "+" : "-"}${_time(Math.abs(avg - baseAvg))}`,
    ];
  });
  const header = ["benchmark", "avg", "p50", "p99", "iter", "ratio", "diff"];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]): string =>
    cells.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    ).join("  ");
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

function _percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function _time(ms: number): string {
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(1)} µs`;
}

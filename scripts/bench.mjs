// `npm run bench`: runs benchmarks under the runtimes installed by `npm ci`.
//
//   node scripts/bench.mjs                                every bench/*_bench.ts under Deno
//   node scripts/bench.mjs bench/client_bench.ts          one file under Deno
//   node scripts/bench.mjs --runtime=deno,bun,node bench/client_bench.ts
//   node scripts/bench.mjs --runtime=bun bench/client_memory_footprint.ts
//
// A `*_bench.ts` file runs under `deno bench`, and under Bun and Node as a
// plain script: its benchmarks are registered through bench/_harness.ts,
// which runs them itself where `Deno.bench` is absent. Any other file (a
// measurement script such as bench/memory_footprint.ts) runs as a script,
// with the garbage collector exposed. Node runs the files compiled by tsc
// into .tmp/bench/<pid>/, removed afterwards. Other `--` arguments go to
// `deno bench` or `deno run`.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { bunBin, denoBin, findFiles, root, run } from "./_tools.mjs";

const args = process.argv.slice(2);
const runtimeArg = args.find((a) => a.startsWith("--runtime="));
const runtimes = (runtimeArg?.slice("--runtime=".length) ?? "deno").split(",");
const denoArgs = args.filter((a) => a.startsWith("--") && a !== runtimeArg);
const files = args.filter((a) => !a.startsWith("--"));
const targets = files.length > 0 ? files : findFiles("bench", "_bench.ts");
const isBench = (file) => file.endsWith("_bench.ts");

for (const name of runtimes) {
  if (!["deno", "bun", "node"].includes(name)) {
    console.error(`Unknown runtime '${name}': use deno, bun or node`);
    process.exit(2);
  }
}

let failed = 0;
let nodeDir;

async function runOne(runtime, file) {
  console.log(`\n== ${runtime}: ${file}`);
  switch (runtime) {
    case "deno":
      return await run(
        denoBin(),
        isBench(file)
          ? ["bench", "--allow-all", ...denoArgs, file]
          : ["run", "--allow-all", "--v8-flags=--expose-gc", ...denoArgs, file],
      );
    case "bun":
      return await run(bunBin(), ["run", file]);
    case "node":
      return await run(process.execPath, [
        "--expose-gc",
        join(nodeDir, file.replace(/\.ts$/, ".js")),
      ]);
  }
}

if (runtimes.includes("node")) {
  const { compile, formatDiagnostics, npmCompilerOptions } = await import(
    "./_tsc.mjs"
  );
  nodeDir = join(root, ".tmp", "bench", String(process.pid));
  rmSync(nodeDir, { recursive: true, force: true });
  mkdirSync(nodeDir, { recursive: true });
  const result = compile(
    targets,
    npmCompilerOptions({
      outDir: relative(root, nodeDir),
      types: ["node"],
      declaration: false,
      isolatedDeclarations: false,
      noEmitOnError: false,
    }),
  );
  if (result.diagnostics.length > 0) {
    // The Deno type check is the gate; what tsc says differently is shown.
    console.log(formatDiagnostics(result.diagnostics));
  }
  writeFileSync(
    join(nodeDir, "package.json"),
    `${JSON.stringify({ type: "module", private: true })}\n`,
  );
  symlinkSync(join(root, "node_modules"), join(nodeDir, "node_modules"));
}

try {
  // One runtime after another, so that each file's runs compare.
  for (const file of targets) {
    for (const runtime of runtimes) {
      if ((await runOne(runtime, file)) !== 0) failed++;
    }
  }
} finally {
  if (nodeDir !== undefined) {
    rmSync(nodeDir, { recursive: true, force: true });
  }
}
process.exit(failed === 0 ? 0 : 1);

// Runs every gate and every test suite, then prints one closing line that
// sums all runtimes: `N passed, N failed`.
//
//   node scripts/test.mjs                        everything
//   node scripts/test.mjs --no-gates             tests only
//   node scripts/test.mjs --runtime=deno,bun     some runtimes (deno, bun, node)
//   node scripts/test.mjs tests/stores           only test files under a path
//
// The order:
// 1. Source gates: format, lint, type check, doc lint (each entry point on
//    its own), doc coverage, doc examples (JSDoc and README.md), runtime
//    purity, JSR dry run (with its file list).
// 2. Deno: the suite with --allow-all, then the files in `netOnlyFiles` with
//    --allow-net=127.0.0.1 and nothing else.
// 3. Bun: the suite.
// 4. npm gates: build npm/, export parity (deno.json, jsr.json, npm), publint,
//    attw (every resolution mode, node10 included), and the smoke test of
//    the packed tarball in a fresh folder.
// 5. Node: the suite compiled by tsc, under `node --test`.
//
// Every runtime also runs the edge suites (tests/edge/): workers bundled with
// esbuild, run in workerd (Cloudflare Workers, through miniflare) and in
// Vercel's edge runtime (the `edge-runtime` package).
//
// Reports and the compiled suite go to .tmp/runs/<pid>/, so that runs started
// at the same time in one checkout do not trample each other. The folder is
// removed after a run without failures and kept (and named) otherwise.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  bunBin,
  denoBin,
  entryFiles,
  findFiles,
  root,
  run,
} from "./_tools.mjs";
import { countJunit } from "./_junit.mjs";

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const filters = args.filter((a) => !a.startsWith("--"));
const runtimes = (option("runtime") ?? "deno,bun,node").split(",");
const gates = !flag("no-gates");

/**
 * Test files that run under Deno a second time, on their own, with network
 * access to 127.0.0.1 and no other permission.
 */
const netOnlyFiles = ["tests/purity/core_permissions_test.ts"];

/**
 * Test files that do not run under Node, each with the reason. Keep this
 * list short: a file belongs here only when Node lacks what it tests.
 */
const nodeSkips = new Map([
  // ["tests/example_test.ts", "why Node cannot run it"],
]);

// A hung suite must not hold CI until its own limit.
const SUITE_TIMEOUT_MS = 30 * 60_000;
const GATE_TIMEOUT_MS = 10 * 60_000;

const runsDir = join(root, ".tmp", "runs");
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
};
if (existsSync(runsDir)) {
  for (const name of readdirSync(runsDir)) {
    if (/^\d+$/.test(name) && !alive(Number(name))) {
      rmSync(join(runsDir, name), { recursive: true, force: true });
    }
  }
}
const runDir = join(runsDir, String(process.pid));
const reportDir = join(runDir, "reports");
rmSync(runDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });

const testFiles = findFiles("tests", "_test.ts").filter((file) =>
  filters.length === 0 ||
  filters.some((f) => file.startsWith(f.replace(/^\.\//, "")))
);

const results = [];
const runtimeSeconds = new Map();
const deno = denoBin();
const node = process.execPath;

function record(name, passed, failures, seconds) {
  results.push({
    name,
    passed,
    failed: failures.length,
    seconds,
    failures: failures.map((full) => ({ full })),
  });
}

/** Runs a gate; resolves to whether it passed. */
async function gate(name, command, commandArgs, options = {}) {
  console.log(`\n== gate: ${name}`);
  const started = performance.now();
  const code = await run(command, commandArgs, {
    timeoutMs: GATE_TIMEOUT_MS,
    ...options,
  });
  record(
    `gate ${name}`,
    0,
    code === 0 ? [] : [`${name} exited with ${code}`],
    (performance.now() - started) / 1000,
  );
  return code === 0;
}

function notRun(name, reason) {
  console.log(`\n== gate: ${name}: not run, ${reason}`);
  record(`gate ${name}`, 0, [`${name} not run: ${reason}`], 0);
}

async function suite(name, runtimeName, command, commandArgs, report) {
  console.log(`\n== tests: ${name}`);
  const started = performance.now();
  const code = await run(command, commandArgs, {
    timeoutMs: SUITE_TIMEOUT_MS,
  });
  const counts = countJunit(report);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0 && counts.failed === 0) {
    // The runner failed without a failing test: a crash, a type error, a
    // file that could not load, or a hook that failed. That is a failure,
    // not a pass.
    counts.failed = 1;
    counts.failures.push({ full: `${name} runner exited with ${code}` });
  }
  results.push({ name: `tests ${name}`, ...counts, seconds });
  runtimeSeconds.set(
    runtimeName,
    (runtimeSeconds.get(runtimeName) ?? 0) + seconds,
  );
}

if (gates) {
  const entries = entryFiles();
  await gate("fmt", deno, ["fmt", "--check"]);
  await gate("lint", deno, ["lint"]);
  await gate("check", deno, [
    "check",
    ...entries,
    ...findFiles("tests", ".ts"),
    ...findFiles("bench", ".ts"),
    ...findFiles("examples", ".ts"),
  ]);
  // Each entry point on its own: a user of one entry sees only what it
  // exports, so every type its API names must be exported there too.
  for (const entry of entries) {
    await gate(`doc-lint ${entry}`, deno, ["doc", "--lint", entry]);
  }
  await gate("doc-coverage", node, ["scripts/doc_coverage.mjs"]);
  await gate("doc-examples", node, ["scripts/check_doc_examples.mjs"]);
  await gate("purity", node, ["scripts/check_purity.mjs"]);
  await gate("publish-dry-run", node, ["scripts/check_publish.mjs"]);
}

if (testFiles.length > 0 && runtimes.includes("deno")) {
  const main = testFiles.filter((f) => !netOnlyFiles.includes(f));
  if (main.length > 0) {
    const report = join(reportDir, "deno.xml");
    await suite(`deno (${main.length} files)`, "deno", deno, [
      "test",
      "--allow-all",
      "--reporter=dot",
      `--junit-path=${report}`,
      ...main,
    ], report);
  }
  const netOnly = testFiles.filter((f) => netOnlyFiles.includes(f));
  if (netOnly.length > 0) {
    const report = join(reportDir, "deno-net-only.xml");
    await suite(
      `deno, net to 127.0.0.1 only (${netOnly.length} files)`,
      "deno",
      deno,
      [
        "test",
        "--allow-net=127.0.0.1",
        "--no-prompt",
        "--reporter=dot",
        `--junit-path=${report}`,
        ...netOnly,
      ],
      report,
    );
  }
}

if (testFiles.length > 0 && runtimes.includes("bun")) {
  const report = join(reportDir, "bun.xml");
  await suite(`bun (${testFiles.length} files)`, "bun", bunBin(), [
    "test",
    "--timeout=120000",
    "--reporter=junit",
    `--reporter-outfile=${report}`,
    ...testFiles.map((f) => `./${f}`),
  ], report);
}

if (gates) {
  const built = await gate("build-npm", node, ["scripts/build_npm.mjs"]);
  await gate("export-parity", node, ["scripts/check_exports.mjs"]);
  if (built) {
    await gate("publint", join(root, "node_modules/.bin/publint"), [
      "run",
      "npm",
      "--strict",
    ]);
    // Every resolution mode, node10 included (through the fallbacks of
    // build_npm.mjs). The one rule left out says that require() gets an ES
    // module: the package is ESM only, and the smoke test checks that
    // require() of it works on the Node that runs it.
    await gate("attw", join(root, "node_modules/.bin/attw"), [
      "--pack",
      "npm",
      "--ignore-rules",
      "cjs-resolves-to-esm",
      "--no-definitely-typed",
      "--no-emoji",
      "--no-color",
    ]);
    await gate("smoke-npm", node, ["scripts/smoke_npm.mjs"]);
  } else {
    for (const name of ["publint", "attw", "smoke-npm"]) {
      notRun(name, "build-npm failed");
    }
  }
}

if (testFiles.length > 0 && runtimes.includes("node")) {
  const { compileTests, compiledTest } = await import("./_node_tests.mjs");
  const files = testFiles.filter((f) => !nodeSkips.has(f));
  for (const [file, why] of nodeSkips) {
    if (testFiles.includes(file)) console.log(`node: skipping ${file}: ${why}`);
  }
  const nodeOutDir = join(runDir, "node");
  console.log(`\n== compile: tests for node (tsc into ${nodeOutDir})`);
  const compiled = compileTests(nodeOutDir);
  console.log(
    `compiled ${compiled.written.length} files in ${
      compiled.seconds.toFixed(1)
    }s`,
  );
  if (compiled.errorCount > 0) {
    console.log(
      `tsc reported ${compiled.errorCount} type errors (the Deno check is the gate for those):\n${compiled.errors}`,
    );
  }
  runtimeSeconds.set("node", compiled.seconds);
  const report = join(reportDir, "node.xml");
  await suite(`node (${files.length} files)`, "node", node, [
    "--test",
    "--test-concurrency=1",
    "--test-timeout=120000",
    "--test-reporter=dot",
    "--test-reporter-destination=stdout",
    "--test-reporter=junit",
    `--test-reporter-destination=${report}`,
    ...files.map((file) => compiledTest(nodeOutDir, file)),
  ], report);
}

let passed = 0;
let failed = 0;
console.log("\n== summary");
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  const status = r.failed === 0 ? "ok  " : "FAIL";
  console.log(
    `${status} ${r.name.padEnd(44)} ${String(r.passed).padStart(5)} passed ${
      String(r.failed).padStart(3)
    } failed  ${r.seconds.toFixed(1)}s`,
  );
  for (const f of r.failures ?? []) console.log(`       - ${f.full}`);
}
if (runtimeSeconds.size > 0) {
  console.log(
    `runtimes: ${
      [...runtimeSeconds].map(([name, s]) => `${name} ${s.toFixed(1)}s`).join(
        ", ",
      )
    }`,
  );
}
if (failed === 0) rmSync(runDir, { recursive: true, force: true });
else console.log(`reports and compiled tests kept in ${runDir}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed + results.length > 0 ? 0 : 1);

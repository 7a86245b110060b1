// Runs every gate and every test suite, then prints one closing line that
// sums all runtimes: `N passed, N failed`.
//
//   node scripts/test.mjs                   everything
//   node scripts/test.mjs --no-gates        tests only
//   node scripts/test.mjs --runtime=deno    one runtime (deno, bun)
//   node scripts/test.mjs tests/stores      only test files under a path
import { mkdirSync, rmSync } from "node:fs";
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
const runtimes = (option("runtime") ?? "deno,bun").split(",");

const reportDir = join(root, ".tmp", "reports");
rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });

const testFiles = findFiles("tests", "_test.ts").filter((file) =>
  filters.length === 0 ||
  filters.some((f) => file.startsWith(f.replace(/^\.\//, "")))
);

const results = [];
const deno = denoBin();

async function gate(name, command, commandArgs) {
  console.log(`\n== gate: ${name}`);
  const started = performance.now();
  const code = await run(command, commandArgs);
  results.push({
    name: `gate ${name}`,
    passed: 0,
    failed: code === 0 ? 0 : 1,
    seconds: (performance.now() - started) / 1000,
    failures: code === 0 ? [] : [{ full: `${name} exited with ${code}` }],
  });
}

async function runtime(name, command, commandArgs, report) {
  console.log(`\n== tests: ${name} (${testFiles.length} files)`);
  const started = performance.now();
  const code = await run(command, commandArgs);
  const counts = countJunit(report);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0 && counts.failed === 0) {
    // The runner failed without a failing test: a crash, a type error, or
    // a file that could not load. That is a failure, not a pass.
    counts.failed = 1;
    counts.failures.push({ full: `${name} runner exited with ${code}` });
  }
  results.push({ name: `tests ${name}`, ...counts, seconds });
}

if (!flag("no-gates")) {
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
  await gate("doc-lint", deno, ["doc", "--lint", ...entries]);
  await gate("publish-dry-run", deno, [
    "publish",
    "--dry-run",
    "--allow-dirty",
  ]);
  await gate("export-parity", process.execPath, ["scripts/check_exports.mjs"]);
}

if (testFiles.length > 0) {
  if (runtimes.includes("deno")) {
    const report = join(reportDir, "deno.xml");
    await runtime("deno", deno, [
      "test",
      "--allow-all",
      "--reporter=dot",
      `--junit-path=${report}`,
      ...testFiles,
    ], report);
  }
  if (runtimes.includes("bun")) {
    const report = join(reportDir, "bun.xml");
    await runtime("bun", bunBin(), [
      "test",
      "--timeout=120000",
      "--reporter=junit",
      `--reporter-outfile=${report}`,
      ...testFiles.map((f) => `./${f}`),
    ], report);
  }
}

let passed = 0;
let failed = 0;
console.log("\n== summary");
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  const status = r.failed === 0 ? "ok  " : "FAIL";
  console.log(
    `${status} ${r.name.padEnd(24)} ${String(r.passed).padStart(5)} passed ${
      String(r.failed).padStart(3)
    } failed  ${r.seconds.toFixed(1)}s`,
  );
  for (const f of r.failures ?? []) console.log(`       - ${f.full}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed + results.length > 0 ? 0 : 1);

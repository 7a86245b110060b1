// Type-checks every code block in the JSDoc of the package sources that the
// entry points reach (module docs and symbol docs alike), and every
// TypeScript block of README.md, so that each example a user copies from
// JSR, npm, an editor tooltip or the README compiles. Blocks marked `ignore`
// are skipped, as `deno check --doc-only` does.
import { spawnSync } from "node:child_process";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { denoBin, entryFiles, root, run } from "./_tools.mjs";

const entries = entryFiles();
const files = new Set();
for (const entry of entries) {
  const info = spawnSync(denoBin(), ["info", "--json", entry], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (info.status !== 0) {
    console.error(info.stderr);
    process.exit(1);
  }
  for (const module of JSON.parse(info.stdout).modules ?? []) {
    if (!module.specifier?.startsWith("file:")) continue;
    const path = relative(root, fileURLToPath(module.specifier));
    if (!path.startsWith("..") && !path.includes("node_modules")) {
      files.add(path);
    }
  }
}
const sorted = [...files].sort();
console.log(
  `doc examples: checking the JSDoc of ${sorted.length} files, and README.md`,
);
process.exit(
  await run(denoBin(), [
    "check",
    "--doc-only",
    "--quiet",
    ...sorted,
    "README.md",
  ]),
);

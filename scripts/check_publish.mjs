// `deno publish --dry-run`, plus a check of the file list it would upload:
// JSR users get the package sources, README.md, LICENSE and the config, and
// nothing else (no tests, benchmarks, scripts, fixtures or examples). Slow
// types fail the dry run itself.
import { spawn } from "node:child_process";
import { denoBin, denoConfig, root } from "./_tools.mjs";

const ALLOWED_FILES = new Set([
  "README.md",
  "LICENSE",
  "deno.json",
  "jsr.json",
]);

/** Why `path` should not be published, or undefined when it belongs. */
function unwanted(path) {
  if (ALLOWED_FILES.has(path) || path === "mod.ts") return undefined;
  if (
    !path.startsWith("src/") && !path.startsWith("testing/") &&
    !path.startsWith("adapters/") && !path.startsWith("dashboard/")
  ) {
    return "is not a package source";
  }
  if (/_(test|bench)\.[cm]?[jt]sx?$/.test(path)) return "is a test or bench";
  if (/(^|\/)(tests?|fixtures|bench|examples|testdata)\//.test(path)) {
    return "is test data";
  }
  if (!/\.(ts|sql|lua|json|md)$/.test(path)) return "is not source text";
  return undefined;
}

const output = await new Promise((resolve) => {
  const child = spawn(denoBin(), [
    "publish",
    "--dry-run",
    "--allow-dirty",
  ], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
  let text = "";
  child.stdout.on("data", (d) => text += d);
  child.stderr.on("data", (d) => text += d);
  child.on("close", (code) => resolve({ code, text }));
});
process.stdout.write(output.text);
if (output.code !== 0) {
  console.error(`publish: deno publish --dry-run exited with ${output.code}`);
  process.exit(1);
}

const prefix = `file://${root}/`;
const files = [];
for (const line of output.text.split("\n")) {
  const m = /^\s+(file:\/\/\S+)\s+\(([\d.]+)\s*([KMG]?B)\)\s*$/.exec(line);
  if (!m || !m[1].startsWith(prefix)) continue;
  const scale = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[3]];
  files.push({ path: m[1].slice(prefix.length), bytes: Number(m[2]) * scale });
}
const problems = [];
if (files.length === 0) problems.push("the dry run listed no files");
for (const file of files) {
  const why = unwanted(file.path);
  if (why) problems.push(`${file.path} ${why}`);
}
const listed = new Set(files.map((f) => f.path));
for (const entry of Object.values(denoConfig().exports)) {
  const path = entry.replace(/^\.\//, "");
  if (!listed.has(path)) problems.push(`entry point ${path} is not published`);
}
for (const p of problems) console.error(`publish: ${p}`);
if (problems.length > 0) process.exit(1);
const total = files.reduce((sum, f) => sum + f.bytes, 0);
console.log(
  `publish: ${files.length} files, ${(total / 1024).toFixed(1)} KiB for JSR`,
);

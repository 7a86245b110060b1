// Prepares the suite for `node --test`, as dnt's test step would: tsc
// compiles every file under tests/ and examples/ together with the package sources they
// import into a folder under .tmp/ (same options as the npm build, plus Node's types for
// the fixtures), with relative `.ts` imports rewritten to `.js`. No copy of a
// test is kept in the repository.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { compile, formatDiagnostics, npmCompilerOptions } from "./_tsc.mjs";
import { findFiles, root } from "./_tools.mjs";

function copyTree(from, to, keep) {
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    const target = join(to, name);
    if (statSync(source).isDirectory()) copyTree(source, target, keep);
    else if (keep(name)) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(source, target);
    }
  }
}

/**
 * Compiles the suite into `nodeOutDir` (inside the repository, so that
 * node_modules resolves as it does for the sources). Type errors are returned as text, not thrown: the Deno
 * type check is the gate for those, and a test that truly cannot run under
 * Node fails when it runs.
 */
export function compileTests(nodeOutDir) {
  rmSync(nodeOutDir, { recursive: true, force: true });
  const started = performance.now();
  const result = compile(
    // The examples too: a test runs the demo on the runtime it runs on.
    [...findFiles("tests", ".ts"), ...findFiles("examples", ".ts")].filter(
      (f) => !f.endsWith(".d.ts"),
    ),
    npmCompilerOptions({
      outDir: relative(root, nodeOutDir),
      types: ["node"],
      declaration: false,
      isolatedDeclarations: false,
      noEmitOnError: false,
    }),
  );
  // Data files the tests read, and the scripts a test imports (the purity
  // checker), go next to the compiled files so relative paths still hold.
  copyTree(
    join(root, "tests"),
    join(nodeOutDir, "tests"),
    (name) => !/\.[cm]?tsx?$/.test(name),
  );
  copyTree(
    join(root, "scripts"),
    join(nodeOutDir, "scripts"),
    (name) => name.endsWith(".mjs"),
  );
  writeFileSync(
    join(nodeOutDir, "package.json"),
    `${JSON.stringify({ type: "module", private: true })}\n`,
  );
  // The compiled tree mirrors the repository, so a fixture that finds a
  // file by a path relative to itself (a binary in node_modules, the
  // package config) finds it here too.
  for (const name of ["node_modules", "deno.json", "jsr.json"]) {
    const target = join(root, name);
    if (existsSync(target)) symlinkSync(target, join(nodeOutDir, name));
  }
  return {
    written: result.written,
    errors: result.diagnostics.length > 0
      ? formatDiagnostics(result.diagnostics)
      : "",
    errorCount: result.diagnostics.length,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Path in `nodeOutDir` of the compiled test `file` (relative to the root). */
export function compiledTest(nodeOutDir, file) {
  return join(nodeOutDir, file.replace(/\.ts$/, ".js"));
}

// `npm run build:npm`: builds the npm package into npm/ from the same sources
// that JSR publishes.
//
// - tsc (options in tsconfig.npm.json) emits ESM JavaScript and .d.ts for
//   every entry point of deno.json's exports and everything they import.
// - npm/package.json is generated from deno.json: one export per entry point
//   with `types` and `default` conditions, and the same entry points as
//   `main`, `types` and `typesVersions` for resolvers that ignore `exports`;
//   every npm package the sources import becomes an optional peer
//   dependency, with the version range that deno.json's `imports` give it.
// - README.md and LICENSE are copied in.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import {
  compile,
  compilerOptionDrift,
  formatDiagnostics,
  npmCompilerOptions,
} from "./_tsc.mjs";
import { denoConfig, root } from "./_tools.mjs";
import { ADAPTER_IMPORTS, importProblem, TESTING_IMPORTS } from "./_purity.mjs";

const outDir = join(root, "npm");
const config = denoConfig();
const entries = Object.entries(config.exports);

// Entry points that may see Node's own types: the conformance suites import
// node:test, and @libsql/client's types reference @types/node. Every other
// entry point must type-check against Web APIs alone.
const nodeTypedDirs = ["testing/", "adapters/libsql/"];

const metadata = {
  description:
    "HTTP client toolkit: an RFC 9111 cache, request de-duplication and rate limiting in front of fetch, with stores shared across processes (memory, libSQL/Turso, Upstash Redis, DynamoDB).",
  keywords: [
    "http",
    "fetch",
    "cache",
    "rfc9111",
    "rate-limit",
    "dedupe",
    "single-flight",
    "libsql",
    "turso",
    "upstash",
    "redis",
    "dynamodb",
  ],
};

function fail(message) {
  console.error(`build:npm: ${message}`);
  process.exit(1);
}

const drift = compilerOptionDrift();
if (drift.length > 0) {
  fail(
    `tsconfig.npm.json disagrees with deno.json on ${drift.join(", ")}`,
  );
}

rmSync(outDir, { recursive: true, force: true });
const started = performance.now();

// Pass 1: the Web-only entry points, checked without any runtime's types.
const webEntries = entries.map(([, file]) => file).filter((file) =>
  !nodeTypedDirs.some((dir) => file.replace(/^\.\//, "").startsWith(dir))
);
const check = compile(webEntries, npmCompilerOptions({ noEmit: true }));
if (check.diagnostics.length > 0) {
  console.error(formatDiagnostics(check.diagnostics));
  fail(
    "the Web-only entry points do not type-check (against the DOM lib, without any runtime's types)",
  );
}

// Pass 2: every entry point, emitted.
const build = compile(
  entries.map(([, file]) => file),
  npmCompilerOptions({ types: ["node"] }),
);
if (build.diagnostics.length > 0) {
  console.error(formatDiagnostics(build.diagnostics));
  fail("tsc reported errors; nothing was published to npm/");
}

const shipped = build.sources.filter((f) => !f.endsWith(".d.ts"));
const stray = shipped.filter((f) =>
  !(f === "mod.ts" || f.startsWith("src/") || f.startsWith("testing/") ||
    f.startsWith("adapters/") || f.startsWith("dashboard/")) ||
  /_test\.ts$|_bench\.ts$/.test(f)
);
if (stray.length > 0) {
  fail(`the entry points import files that are not package sources: ${stray}`);
}

const jsFor = (file) => file.replace(/^\.\//, "./").replace(/\.ts$/, ".js");
const dtsFor = (file) => file.replace(/\.ts$/, ".d.ts");
const exportsField = {};
for (const [subpath, file] of entries) {
  const js = jsFor(file);
  const dts = dtsFor(js.replace(/\.js$/, ".ts"));
  for (const out of [js, dts]) {
    if (!existsSync(join(outDir, out))) fail(`${out} was not emitted`);
  }
  exportsField[subpath] = { types: dts, default: js };
}
exportsField["./package.json"] = "./package.json";

// Fallbacks for resolvers that do not read `exports`: TypeScript's `node10`
// resolution (`"moduleResolution": "node"`, the default for `"module":
// "commonjs"`) finds the root through `main` and `types`, and each subpath
// through `typesVersions`.
const rootExport = exportsField["."];
if (!rootExport) fail('deno.json exports no root entry point (".")');
const typesVersions = {};
for (const [subpath, target] of Object.entries(exportsField)) {
  if (subpath === "." || typeof target === "string") continue;
  typesVersions[subpath.replace(/^\.\//, "")] = [target.types];
}

// Every bare specifier in the emitted JavaScript must be an npm package that
// deno.json maps. Each adapter's vendor client (the packages it may import,
// whether it imports them or takes an injected client) is an optional peer
// dependency, so a core user installs none of them.
const npmImports = new Map();
for (const [specifier, target] of Object.entries(config.imports ?? {})) {
  const m = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)/.exec(target);
  if (m) npmImports.set(specifier, { name: m[1], range: m[2] });
}
const peers = new Map();
for (const [dir, specifiers] of Object.entries(ADAPTER_IMPORTS)) {
  if (!build.written.some((f) => f.startsWith(`npm/${dir}`))) continue;
  for (const specifier of specifiers) {
    const mapped = npmImports.get(specifier);
    if (!mapped) {
      fail(
        `deno.json's imports do not map ${specifier}, the vendor client of ${dir}`,
      );
    }
    peers.set(mapped.name, mapped.range);
  }
}
for (const file of build.written.filter((f) => f.endsWith(".js"))) {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(root, file), "utf8"),
    ts.ScriptTarget.Latest,
  );
  const sourcePath = relative(outDir, join(root, file)).replace(/\.js$/, ".ts");
  for (const specifier of importSpecifiers(source)) {
    if (specifier.startsWith(".")) continue;
    const problem = importProblem(sourcePath, specifier);
    if (problem) fail(`${file} ${problem}`);
    if (TESTING_IMPORTS.includes(specifier)) continue;
    const mapped = npmImports.get(specifier);
    if (!mapped) {
      fail(
        `${file} imports ${specifier}, which deno.json's imports do not map to an npm package`,
      );
    }
    peers.set(mapped.name, mapped.range);
  }
}

function importSpecifiers(source) {
  const out = [];
  const visit = (node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const sortedPeers = Object.fromEntries([...peers].sort());
const manifest = {
  name: config.name,
  version: config.version,
  description: metadata.description,
  keywords: metadata.keywords,
  license: config.license,
  type: "module",
  sideEffects: false,
  engines: { node: ">=20" },
  main: rootExport.default,
  types: rootExport.types,
  typesVersions: { "*": typesVersions },
  exports: exportsField,
  ...(peers.size > 0
    ? {
      peerDependencies: sortedPeers,
      peerDependenciesMeta: Object.fromEntries(
        Object.keys(sortedPeers).map((name) => [name, { optional: true }]),
      ),
    }
    : {}),
};
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "package.json"),
  `${JSON.stringify(manifest, null, 2)}\n`,
);
for (const file of ["README.md", "LICENSE"]) {
  copyFileSync(join(root, file), join(outDir, file));
}

const files = build.written.length + 3;
console.log(
  `build:npm: ${config.name}@${config.version}, ${entries.length} entry points, ${files} files in npm/ (${
    ((performance.now() - started) / 1000).toFixed(1)
  }s)`,
);

// `npm run smoke:npm`: tests the npm package as a Node user gets it.
//
// 1. `npm pack` the build in npm/ into a folder under .tmp/.
// 2. Install the tarball into a fresh folder outside the repository (so no
//    parent node_modules can hide a missing dependency), together with the
//    optional peers and TypeScript, at the versions this workspace pins. They
//    come from npm's cache that `npm ci` filled (`--prefer-offline`).
// 3. Node imports every entry point as ESM and, once the package exports
//    HttpClient, makes real requests to a loopback origin: two identical
//    concurrent GETs and one later GET reach the origin once.
// 4. require() of every entry point from a CommonJS file.
// 5. A TypeScript consumer type-checks against the published declarations
//    with moduleResolution NodeNext and again with Bundler, without
//    skipLibCheck.
//
//   node scripts/smoke_npm.mjs [--keep]
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { denoConfig, root } from "./_tools.mjs";

const keep = process.argv.includes("--keep");
const started = performance.now();
const npmDir = join(root, "npm");
if (!existsSync(join(npmDir, "package.json"))) {
  console.error("smoke: npm/ is not built; run `npm run build:npm` first");
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(join(npmDir, "package.json"), "utf8"));
const workspace = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const subpaths = Object.keys(denoConfig().exports);
const specifiers = subpaths.map((s) =>
  s === "." ? manifest.name : `${manifest.name}${s.slice(1)}`
);

/** Runs a command, capturing its output; rejects with it on failure. */
function exec(command, args, cwd, { echo = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    let out = "";
    child.stdout.on("data", (d) => out += d);
    child.stderr.on("data", (d) => out += d);
    child.on("error", reject);
    child.on("close", (code) => {
      if (echo && out.trim()) process.stdout.write(indent(out));
      if (code === 0) resolve(out);
      else {
        reject(
          new Error(`${command} ${args.join(" ")} exited with ${code}`),
        );
      }
    });
  });
}
const indent = (text) =>
  text.trimEnd().split("\n").map((l) => `    ${l}`).join("\n") + "\n";
const npmCommand = process.platform === "win32" ? "npm.cmd" : "npm";

async function step(name, fn) {
  const t = performance.now();
  process.stdout.write(`smoke: ${name}\n`);
  await fn();
  process.stdout.write(
    `smoke: ${name}: ok (${((performance.now() - t) / 1000).toFixed(1)}s)\n`,
  );
}

mkdirSync(join(root, ".tmp"), { recursive: true });
const packDir = mkdtempSync(join(root, ".tmp", "pack-"));
const dir = mkdtempSync(join(tmpdir(), "sluice-smoke-"));
const pin = (name) => {
  const version = workspace.devDependencies?.[name];
  if (!version) throw new Error(`package.json does not pin ${name}`);
  return `${name}@${version}`;
};
let tarball;
try {
  // 1. Pack.
  await step("npm pack", async () => {
    const out = await exec(
      npmCommand,
      [
        "pack",
        npmDir,
        "--pack-destination",
        packDir,
        "--json",
        "--ignore-scripts",
      ],
      root,
      { echo: false },
    );
    const [info] = JSON.parse(out.slice(out.indexOf("[")));
    tarball = join(packDir, info.filename);
    console.log(
      `    ${info.filename}: ${(info.size / 1024).toFixed(1)} KiB packed, ${
        (info.unpackedSize / 1024).toFixed(1)
      } KiB unpacked, ${info.entryCount} files`,
    );
    const stray = info.files.map((f) => f.path).filter((p) =>
      /_test\.|_bench\.|(^|\/)(tests|fixtures|bench|scripts|examples)\//.test(p)
    );
    if (stray.length > 0) throw new Error(`the tarball holds ${stray}`);
  });

  // 2. Install into a fresh folder.
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "sluice-smoke", private: true }, null, 2)}\n`,
  );
  await step(`npm install into ${dir}`, async () => {
    await exec(npmCommand, [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--no-package-lock",
      "--loglevel=error",
      tarball,
      ...Object.keys(manifest.peerDependencies ?? {}).map(pin),
      pin("typescript"),
      pin("@types/node"),
    ], dir);
  });

  // 3. ESM imports, and a real cached, de-duplicated request.
  const esm = `
import assert from "node:assert/strict";
${
    specifiers.map((s, i) => `import * as entry${i} from ${JSON.stringify(s)};`)
      .join("\n")
  }
const entries = { ${
    specifiers.map((s, i) => `${JSON.stringify(s)}: entry${i}`).join(", ")
  } };
for (const [name, entry] of Object.entries(entries)) {
  assert.ok(Object.keys(entry).length > 0, name + " exports nothing");
}
const core = entry0;
assert.equal(typeof core.ConfigError, "function");
assert.equal(core.isSluiceError(new core.ConfigError("Smoke", "x", 0, "one")), true);
if (typeof core.HttpClient !== "function") {
  console.log("HttpClient is not exported yet: request check skipped");
} else {
  const { createServer } = await import("node:http");
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    setTimeout(() => {
      res.writeHead(200, {
        "content-type": "application/json",
        "cache-control": "max-age=60",
      });
      res.end(JSON.stringify({ path: req.url, n: calls }));
    }, 50);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = "http://127.0.0.1:" + server.address().port;
  const client = new core.HttpClient({
    name: "smoke",
    cache: { store: new core.MemoryCacheStore() },
    dedupe: { store: new core.MemoryDedupeStore() },
  });
  try {
    const [a, b] = await Promise.all([
      client.fetch(origin + "/item"),
      client.fetch(origin + "/item"),
    ]);
    const bodies = [await a.json(), await b.json()];
    const c = await client.fetch(origin + "/item");
    bodies.push(await c.json());
    for (const body of bodies) assert.deepEqual(body, { path: "/item", n: 1 });
    assert.equal(calls, 1, "the origin saw " + calls + " calls");
    console.log("2 concurrent GETs and 1 cached GET made 1 origin call");
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
console.log("imported " + Object.keys(entries).length + " entry points as ESM");
`;
  writeFileSync(join(dir, "smoke.mjs"), esm);
  await step(
    "Node imports every entry point (ESM)",
    () => exec(process.execPath, ["smoke.mjs"], dir),
  );

  // 4. require() from CommonJS.
  const cjs = `
const assert = require("node:assert/strict");
${
    specifiers.map((s) =>
      `assert.ok(Object.keys(require(${JSON.stringify(s)})).length > 0, ${
        JSON.stringify(s)
      });`
    ).join("\n")
  }
assert.equal(typeof require(${
    JSON.stringify(manifest.name)
  }).ConfigError, "function");
assert.equal(require(${
    JSON.stringify(`${manifest.name}/package.json`)
  }).version, ${JSON.stringify(manifest.version)});
console.log("required ${specifiers.length} entry points from CommonJS");
`;
  writeFileSync(join(dir, "smoke.cjs"), cjs);
  await step(
    "Node requires every entry point (CommonJS)",
    () =>
      exec(
        process.execPath,
        ["--no-warnings=ExperimentalWarning", "smoke.cjs"],
        dir,
      ),
  );

  // 5. TypeScript consumers.
  const consumer = `
${
    specifiers.map((s, i) => `import * as entry${i} from ${JSON.stringify(s)};`)
      .join("\n")
  }
import { ConfigError, isSluiceError, type SluiceError } from ${
    JSON.stringify(manifest.name)
  };

const error: SluiceError = new ConfigError("Consumer", "limit", 0, "a positive integer");
export const recognised: boolean = isSluiceError(error);
export const entries: object[] = [${
    specifiers.map((_, i) => `entry${i}`).join(", ")
  }];
`;
  writeFileSync(join(dir, "consumer.mts"), consumer);
  const consumers = [["every entry point", "consumer.mts"]];
  // Once the package has a client: typed use of it, and its fetch handed to
  // code that takes a fetch (openai, @octokit/core, @libsql/client/web).
  if (/\bHttpClient\b/.test(readFileSync(join(npmDir, "mod.d.ts"), "utf8"))) {
    writeFileSync(
      join(dir, "fetch_drop_in.mts"),
      `
import { HttpClient, MemoryCacheStore, MemoryDedupeStore } from ${
        JSON.stringify(manifest.name)
      };

export async function load(url: string): Promise<Response> {
  await using client = new HttpClient({
    name: "consumer",
    cache: { store: new MemoryCacheStore() },
    dedupe: { store: new MemoryDedupeStore() },
  });
  const direct: Response = await client.fetch(url, { headers: { accept: "application/json" } });
  await direct.body?.cancel();
  const sdkFetch: typeof fetch = client.fetch;
  return await sdkFetch(url);
}
`,
    );
    consumers.push([
      "client.fetch as a drop-in for fetch",
      "fetch_drop_in.mts",
    ]);
  }
  // The plainest Node project (the default lib and every installed @types
  // package), a Node project with Node's types and no DOM lib, one on
  // TypeScript's node10 resolution (no `exports`: `typesVersions`), and a
  // bundler project (Web types from the DOM lib, no runtime types). Clients
  // and stores implement Symbol.asyncDispose, so the last needs the
  // ESNext.Disposable lib (TypeScript 5.2+), as `await using` does;
  // @types/node declares it for Node projects. README.md documents these.
  const configs = {
    "tsconfig.plain.json": {
      target: "es2022",
      module: "nodenext",
    },
    "tsconfig.node10.json": {
      module: "commonjs",
      moduleResolution: "node10",
      target: "ES2022",
    },
    "tsconfig.nodenext.json": {
      module: "NodeNext",
      moduleResolution: "NodeNext",
      target: "ES2022",
      lib: ["ES2022"],
      types: ["node"],
    },
    "tsconfig.bundler.json": {
      module: "ESNext",
      moduleResolution: "Bundler",
      target: "ES2022",
      lib: ["ES2022", "DOM", "DOM.Iterable", "ESNext.Disposable"],
      types: [],
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
    },
  };
  for (const [config, options] of Object.entries(configs)) {
    for (const [what, file] of consumers) {
      const project = `${config.replace(/\.json$/, "")}.${
        file.replace(/\.mts$/, "")
      }.json`;
      writeFileSync(
        join(dir, project),
        JSON.stringify(
          {
            compilerOptions: {
              strict: true,
              noEmit: true,
              skipLibCheck: false,
              ...options,
            },
            files: [file],
          },
          null,
          2,
        ),
      );
      await step(
        `TypeScript: ${what} type-checks (${
          config.replace(/^tsconfig\.|\.json$/g, "")
        })`,
        () =>
          exec(process.execPath, [
            join(dir, "node_modules", "typescript", "bin", "tsc"),
            "-p",
            project,
          ], dir),
      );
    }
  }
} catch (error) {
  console.error(`smoke: FAILED: ${error.message}`);
  if (!keep) console.error(`smoke: rerun with --keep to inspect ${dir}`);
  process.exitCode = 1;
} finally {
  rmSync(packDir, { recursive: true, force: true });
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`smoke: kept ${dir}`);
}
if (process.exitCode !== 1) {
  console.log(
    `smoke: the npm package works from Node ${process.version} (${
      ((performance.now() - started) / 1000).toFixed(1)
    }s)`,
  );
}

// Shared helpers for the project's scripts: locating the runtimes that
// `npm ci` installs, and running commands with inherited output.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// A package manager that skips install scripts leaves a placeholder script
// where the runtime's postinstall would have put its binary, so a candidate
// counts only when it is a native executable.
const NATIVE_MAGIC = [
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0xcf, 0xfa, 0xed, 0xfe], // Mach-O 64-bit
  [0xca, 0xfe, 0xba, 0xbe], // Mach-O universal
  [0x4d, 0x5a], // PE
];

function isNativeBinary(path) {
  try {
    const fd = openSync(path, "r");
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    return NATIVE_MAGIC.some((magic) =>
      magic.every((byte, i) => head[i] === byte)
    );
  } catch {
    return false;
  }
}

function platformBinaries(scope, relativeBinary) {
  const dir = join(root, "node_modules", scope);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((name) =>
    join("node_modules", scope, name, relativeBinary)
  );
}

function firstNative(candidates, name) {
  for (const candidate of candidates) {
    const path = join(root, candidate);
    if (existsSync(path) && isNativeBinary(path)) return path;
  }
  throw new Error(`Cannot find the ${name} binary: run \`npm ci\` first`);
}

/** Path of the deno binary installed by `npm ci`. */
export function denoBin() {
  return firstNative(
    ["node_modules/deno/deno", ...platformBinaries("@deno", "deno")],
    "deno",
  );
}

/** Path of the bun binary installed by `npm ci`. */
export function bunBin() {
  return firstNative(
    ["node_modules/bun/bin/bun.exe", ...platformBinaries("@oven", "bin/bun")],
    "bun",
  );
}

/** Reads deno.json. */
export function denoConfig() {
  return JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
}

/** Entry files of the package, from deno.json's exports. */
export function entryFiles() {
  return Object.values(denoConfig().exports);
}

/** Files under `dir` (relative to root) whose names end with `suffix`. */
export function findFiles(dir, suffix) {
  const out = [];
  const walk = (path) => {
    if (!existsSync(path)) return;
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith(suffix)) out.push(relative(root, full));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

// Process groups of commands started with a time limit, killed if this
// process is interrupted so that no test server outlives the run.
const groups = new Set();
let trapped = false;
function trapSignals() {
  if (trapped) return;
  trapped = true;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      for (const pid of groups) killGroup(pid);
      process.exit(130);
    });
  }
}
function killGroup(pid) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Runs a command with inherited stdio. Resolves to its exit code; never
 * rejects on a non-zero exit. With `timeoutMs`, the command runs in its own
 * process group, which is killed (with everything it started) when the time
 * is up; the exit code is then 124.
 */
export function run(command, args, options = {}) {
  const { timeoutMs, ...spawnOptions } = options;
  const grouped = timeoutMs !== undefined && process.platform !== "win32";
  if (grouped) trapSignals();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: "inherit",
      detached: grouped,
      ...spawnOptions,
      env: { ...process.env, ...spawnOptions.env },
    });
    let timedOut = false;
    let timer;
    if (grouped && child.pid !== undefined) {
      groups.add(child.pid);
      timer = setTimeout(() => {
        timedOut = true;
        console.error(
          `${command} did not finish within ${timeoutMs / 1000}s: killed`,
        );
        killGroup(child.pid);
      }, timeoutMs);
    }
    const done = (code) => {
      clearTimeout(timer);
      if (grouped) {
        // Whatever the command left running in its group goes with it.
        killGroup(child.pid);
        groups.delete(child.pid);
      }
      resolve(timedOut ? 124 : code);
    };
    child.on("error", (error) => {
      console.error(`Cannot run ${command}: ${error.message}`);
      done(127);
    });
    child.on("exit", (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

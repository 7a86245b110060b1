import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/** The deno binary `npm ci` installs, which `npm run demo` runs. */
function denoBinary(): string {
  const root = process.cwd();
  const candidates = [join(root, "node_modules/deno/deno")];
  const scope = join(root, "node_modules/@deno");
  if (existsSync(scope)) {
    for (const name of readdirSync(scope)) {
      candidates.push(join(scope, name, "deno"));
    }
  }
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error("Cannot find deno: run npm ci");
  return found;
}

interface DashboardJson {
  clients: {
    name: string;
    // The client's series and its scopes'.
    metrics: { total: { calls: number; originCallsSaved: number } }[];
  }[];
}

describe("npm run demo -- --dashboard", () => {
  it("serves the dashboard with the printed token while the burst runs", async () => {
    const child = spawn(denoBinary(), [
      "run",
      "--allow-all",
      "examples/demo.ts",
      "--dashboard",
      "--dashboard-seconds",
      "0",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let errors = "";
    child.stderr.on("data", (chunk) => errors += String(chunk));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", resolve)
    );
    let passed = false;
    try {
      const link = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk) => {
          output += String(chunk);
          const found = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)/
            .exec(output);
          if (found !== null) resolve(`${found[1]}|${found[2]}`);
        });
        child.on(
          "exit",
          () => reject(new Error(`no link:\n${output}\n${errors}`)),
        );
      });
      const [base, token] = link.split("|") as [string, string];
      const api = new URL("api/status", base);
      const refused = await fetch(api);
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
      // Live numbers: poll until the burst has made calls.
      let calls = 0;
      while (calls === 0) {
        const response = await fetch(api, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(response.status, 200);
        const json = await response.json() as DashboardJson;
        const demo = json.clients.find((c) => c.name === "demo-api");
        assert.ok(demo, "the demo's client is on the dashboard");
        calls = demo.metrics.reduce((sum, m) => sum + m.total.calls, 0);
      }
      assert.ok(calls > 0);
      passed = true;
    } finally {
      // On a failure, stop the demo; otherwise it ends by itself, once the
      // burst is over (`--dashboard-seconds 0`).
      if (!passed && child.exitCode === null) child.kill("SIGKILL");
    }
    const code = await exited;
    assert.equal(code, 0, `demo exit code ${code}\n${errors}`);
    assert.match(output, /ok: the origin never had to say 429/);
  });
});

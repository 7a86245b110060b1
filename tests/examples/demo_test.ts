// examples/demo.ts with --dashboard, run as a user runs it: the printed URL
// and token open the dashboard while the burst runs and after it, and its
// JSON counts what the demo's own table reports.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import type { DashboardStatus } from "../../dashboard/mod.ts";
import { runtime, scriptCommand } from "../fixtures/runtime.ts";

/** Someone waiting for a line of output. */
interface Waiter {
  pattern: RegExp;
  resolve: (match: RegExpMatchArray) => void;
}

/** Collects a child's output, and waits for a line that matches. */
class Output {
  text = "";
  #waiters: Waiter[] = [];

  constructor(child: ChildProcess) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      this.text += chunk;
      for (const waiter of [...this.#waiters]) this.#check(waiter);
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.text += chunk;
    });
  }

  /** Resolves with the first match of `pattern` in the output so far or to come. */
  line(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve) => {
      const waiter = { pattern, resolve };
      this.#waiters.push(waiter);
      this.#check(waiter);
    });
  }

  #check(waiter: Waiter): void {
    const match = waiter.pattern.exec(this.text);
    if (match === null) return;
    this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    waiter.resolve(match);
  }
}

/** `promise`, or a failure naming what the demo printed if it ends first. */
function before<T>(
  promise: Promise<T>,
  exited: Promise<unknown>,
  output: Output,
): Promise<T> {
  return Promise.race([
    promise,
    exited.then(() => {
      throw new Error(`The demo ended early:\n${output.text}`);
    }),
  ]);
}

describe("examples/demo.ts --dashboard", () => {
  let child: ChildProcess | undefined;
  after(() => {
    if (child?.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
    }
  });

  it("serves the dashboard at the printed URL during and after the burst, counting what the table reports", async () => {
    // --dashboard-seconds bounds the demo in case this test dies; the test
    // stops it the way a user does, with Ctrl-C (SIGINT), so that nothing
    // here depends on how fast a loaded machine reaches the JSON.
    const { command, args } = scriptCommand(
      new URL("../../examples/demo.ts", import.meta.url),
      ["--dashboard", "--dashboard-seconds", "900"],
    );
    const demo = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = demo;
    const output = new Output(demo);
    const exited = new Promise<number | string | null>((resolve) => {
      demo.on("exit", (code, signal) => resolve(code ?? signal));
    });

    const [, link] = await before(
      output.line(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)\n/),
      exited,
      output,
    );
    const url = new URL(link!);
    const token = new URLSearchParams(url.hash.slice(1)).get("token")!;
    assert.ok(token.length >= 16);
    const json = `${url.origin}/api/status`;
    const read = async (): Promise<DashboardStatus> => {
      const response = await fetch(json, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
      return await response.json() as DashboardStatus;
    };

    // While the burst runs (or whatever part of it is left).
    const refused = await fetch(json);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const page = await fetch(`${url.origin}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>sluice demo<\/title>/);
    const early = await read();
    assert.deepEqual(early.clients.map((c) => c.name), ["demo-api"]);

    // After it: the table is printed, and the dashboard still answers.
    const [, calls] = await before(
      output.line(/client calls\s+(\d+)/),
      exited,
      output,
    );
    const [, originCalls] = await output.line(/origin calls\s+(\d+)/);
    const [, hits] = await output.line(/cache hits \(fresh\)\s+(\d+)/);
    await before(
      output.line(/dashboard: still serving for 900 s; Ctrl-C stops it/),
      exited,
      output,
    );
    const done = await read();
    const [card] = done.clients;
    const total = card!.metrics[0]!.total;
    assert.equal(total.calls, Number(calls));
    assert.equal(total.originCalls, Number(originCalls));
    assert.equal(total.hits, Number(hits));
    assert.ok(total.originCallsSaved > 0);
    assert.ok(card!.status.resources.length > 0);
    assert.match(output.text, /ok: the origin never had to say 429/);

    // Ctrl-C: the demo stops serving, closes its client, and exits 0.
    // (Deno's node:child_process reports the signal it sent instead of
    // the code the demo exited with.)
    demo.kill("SIGINT");
    const end = await exited;
    assert.ok(
      end === 0 || (runtime === "deno" && end === "SIGINT"),
      `exit ${end}:\n${output.text}`,
    );
    assert.match(output.text, /dashboard: stopped\n/);
  });
});

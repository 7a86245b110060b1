// Starts the libSQL worker fixture in a child process and reads its JSON
// lines.
import { type ChildProcess, spawn } from "node:child_process";
import { scriptCommand } from "../../fixtures/runtime.ts";

const WORKER = new URL("../../fixtures/libsql_worker.ts", import.meta.url);

/** A running worker process. */
export interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
  /** The first message the worker sent with `key`. */
  message(key: string): Promise<Record<string, unknown>>;
  go(): void;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Workers still running; tests kill them when they end. */
export const children: Set<ChildProcess> = new Set<ChildProcess>();

/**
 * Starts `tests/fixtures/libsql_worker.ts` in a new process of the current
 * runtime with `config`.
 *
 * @param denoPermissions Deno permission flags (all by default).
 */
export function startWorker(
  config: Record<string, unknown>,
  denoPermissions?: string[],
): Worker {
  const { command, args } = scriptCommand(
    WORKER,
    [JSON.stringify(config)],
    denoPermissions === undefined ? {} : { denoPermissions },
  );
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    if (stderr.length < 16_384) stderr += String(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) =>
      child.once("exit", (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
  );
  const messages: Record<string, unknown>[] = [];
  const waiting: Array<() => void> = [];
  let buffer = "";
  child.stdout?.on("data", (chunk) => {
    buffer += String(chunk);
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === "") continue;
      try {
        messages.push(JSON.parse(line));
      } catch {
        continue;
      }
      for (const wake of waiting.splice(0)) wake();
    }
  });
  const next = (key: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = messages.find((m) => key in m);
        if (found !== undefined) resolve(found);
        return found !== undefined;
      };
      if (check()) return;
      const poll = (): void => {
        if (!check()) waiting.push(poll);
      };
      waiting.push(poll);
      void exited.then(({ code, signal }) => {
        if (!check()) {
          reject(
            new Error(
              `worker exited (${code ?? signal}) before '${key}':\n${stderr}`,
            ),
          );
        }
      });
    });
  const ready = next("ready").then(() => {});
  const result = next("done");
  // A worker the test kills never reports; only an awaited promise rejects.
  ready.catch(() => {});
  result.catch(() => {});
  return {
    child,
    ready,
    result,
    message: next,
    go: () => child.stdin?.write("go\n"),
    exited,
  };
}

// Helpers shared by the libSQL store tests.
import { type Client, createClient } from "@libsql/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LibsqlClient } from "../../../adapters/libsql/mod.ts";

/** A client that counts its round trips (`execute` and `batch` calls). */
export interface CountingClient {
  client: LibsqlClient;
  /** Round trips since creation or the last `reset()`. */
  count(): number;
  reset(): void;
  /** Settles once no call has been under way for a few microtasks. */
  settled(): Promise<void>;
}

/**
 * Wraps a client so that every `execute` and `batch` is counted, and the
 * calls still under way can be waited for.
 */
export function counting(inner: LibsqlClient): CountingClient {
  let n = 0;
  const pending = new Set<Promise<unknown>>();
  const watch = <T>(call: Promise<T>): Promise<T> => {
    n++;
    const settled = call.then(() => {}, () => {});
    pending.add(settled);
    void settled.then(() => pending.delete(settled));
    return call;
  };
  const client: LibsqlClient = {
    execute: (statement) => watch(inner.execute(statement)),
    batch: (statements, mode) => watch(inner.batch(statements, mode)),
    transaction: (mode) => inner.transaction(mode),
    close: () => inner.close(),
    get closed() {
      return inner.closed;
    },
    get protocol() {
      return inner.protocol;
    },
  };
  return {
    client,
    count: () => n,
    settled: async () => {
      // Calls start a few microtasks after the store is asked, and one may
      // start another once it settles: wait until none has been under way
      // for a while.
      for (let idle = 0; idle < 20;) {
        if (pending.size > 0) {
          idle = 0;
          await Promise.all(pending);
        } else {
          idle++;
          await Promise.resolve();
        }
      }
    },
    reset: () => {
      n = 0;
    },
  };
}

/** A temporary directory for database files, removed by `remove()`. */
export function tempDir(): { path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-libsql-test-"));
  let n = 0;
  return {
    path: (name) => join(dir, `${++n}_${name}`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Opens a native client on a file. It is typed as the real `Client`, which
 * the stores accept through their structural client type.
 */
export function fileClient(path: string): Client {
  return createClient({ url: `file:${path}`, timeout: 5_000 });
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

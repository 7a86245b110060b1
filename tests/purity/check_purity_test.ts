import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkSources, type Violation } from "../../scripts/_purity.mjs";

/** Checks one file and returns the messages, prefixed by line. */
function check(path: string, text: string): string[] {
  return checkSources([{ path, text }]).map((v: Violation) =>
    `${v.line}: ${v.message}`
  );
}

describe("purity checker", () => {
  it("accepts Web-only core code that mentions runtimes in comments, strings and JSDoc", () => {
    const text = `
/**
 * Works on Deno, Bun and Node.
 *
 * @example
 * \`\`\`ts
 * import { readFile } from "node:fs/promises";
 * console.log(process.env.HOME, Deno.version, Bun.version);
 * \`\`\`
 */
export function describeRuntime(): string {
  // process.exit() is never called here, and Deno.exit() neither.
  const label = "Deno.env and process.env are not read";
  return \`\${label}: Bun.serve is not used\`;
}
export const fetcher: typeof fetch = (input, init) => fetch(input, init);
`;
    assert.deepEqual(check("src/runtime_words.ts", text), []);
  });

  it("accepts local bindings and properties named like runtime globals", () => {
    const text = `
import { process as run } from "./steps.ts";
export interface Job { process(): void; module: string; require?: boolean }
export function handle(process: (x: number) => number, job: Job): number {
  const { module } = job;
  const global = { Buffer: 1 };
  job.process();
  return process(global.Buffer) + module.length + run();
}
export class Queue { process(): void {} Deno = 1; }
`;
    assert.deepEqual(check("src/queue.ts", text), []);
  });

  it("reports Node built-in imports in every form, bare or with node:", () => {
    const text = `
import { readFile } from "node:fs/promises";
import path from "path";
export { Buffer } from "node:buffer";
import type { Agent } from "node:http";
export const load = () => import("node:crypto");
export type Stream = import("node:stream").Readable;
`;
    assert.deepEqual(check("src/leaky.ts", text), [
      '2: imports the Node built-in "node:fs/promises"',
      '3: imports the Node built-in "path"',
      '4: imports the Node built-in "node:buffer"',
      '5: imports the Node built-in "node:http"',
      '6: imports the Node built-in "node:crypto"',
      '7: imports the Node built-in "node:stream"',
    ]);
  });

  it("reports uses of Deno, Bun, process and Node globals, direct or through globalThis", () => {
    const text = `
export const home = process.env.HOME;
export const version = Deno.version.deno;
export const file = Bun.file("x");
export const bytes = Buffer.from("x");
export const here = __dirname;
export const viaGlobal = (globalThis as any).Deno;
export const viaIndex = globalThis["process"];
export const shorthand = { process };
export type Cmd = Deno.Command;
export const isDeno = typeof Deno !== "undefined";
export const dir = import.meta.dirname;
export const url = import.meta.url;
`;
    assert.deepEqual(check("src/globals.ts", text), [
      "2: uses the runtime global `process`",
      "3: uses the runtime global `Deno`",
      "4: uses the runtime global `Bun`",
      "5: uses the runtime global `Buffer`",
      "6: uses the runtime global `__dirname`",
      "7: uses the runtime global `globalThis.Deno`",
      "8: uses the runtime global `globalThis.process`",
      "9: uses the runtime global `process`",
      "10: uses the runtime global `Deno`",
      "11: uses the runtime global `Deno`",
      "12: uses `import.meta.dirname`",
    ]);
  });

  it("reports registry, URL and npm package imports from the core", () => {
    const text = `
import { z } from "npm:zod@4";
import { assert } from "jsr:@std/assert";
import { x } from "https://example.com/x.ts";
import { Redis } from "@upstash/redis";
`;
    const found = check("mod.ts", text);
    assert.equal(found.length, 4);
    assert.match(found[0]!, /^2: imports "npm:zod@4"/);
    assert.match(found[1]!, /^3: imports "jsr:@std\/assert"/);
    assert.match(found[2]!, /^4: imports "https:\/\/example.com\/x.ts"/);
    assert.match(
      found[3]!,
      /^5: imports the package "@upstash\/redis": the core imports nothing/,
    );
  });

  it("reports a core file that imports an adapter or a test fixture", () => {
    const text = `
import { LibsqlCacheStore } from "../../adapters/libsql/mod.ts";
import { startOrigin } from "../../tests/fixtures/origin.ts";
import { SluiceError } from "../errors.ts";
`;
    assert.deepEqual(check("src/client/http_client.ts", text), [
      '2: imports the adapter file "../../adapters/libsql/mod.ts": the core must not depend on an adapter',
      '3: imports "../../tests/fixtures/origin.ts", which is not a package source',
    ]);
  });

  it("lets each adapter import its own vendor client and the core, nothing else", () => {
    const libsql = `
import { createClient } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import type { Client } from "@libsql/client";
import { StoreError } from "../../src/errors.ts";
import { schema } from "./schema.ts";
import { Redis } from "@upstash/redis";
import { UpstashCacheStore } from "../upstash/cache_store.ts";
import { DatabaseSync } from "node:sqlite";
`;
    assert.deepEqual(check("adapters/libsql/cache_store.ts", libsql), [
      '7: imports the package "@upstash/redis": adapters/libsql/ may import only @libsql/client, @libsql/client/web',
      '8: imports "../upstash/cache_store.ts" from another adapter',
      '9: imports the Node built-in "node:sqlite"',
    ]);
    const upstash = `
import { Redis } from "@upstash/redis";
import { createClient } from "@libsql/client";
export const env = process.env.UPSTASH_REDIS_REST_URL;
`;
    assert.deepEqual(check("adapters/upstash/mod.ts", upstash), [
      '3: imports the package "@libsql/client": adapters/upstash/ may import only @upstash/redis',
      "4: uses the runtime global `process`",
    ]);
    // The DynamoDB stores take an SDK client typed structurally and
    // otherwise sign and send with Web APIs: the SDK is no dependency.
    const dynamodb = `
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHmac } from "node:crypto";
import { StoreError } from "../../src/errors.ts";
import { signRequest } from "./_sigv4.ts";
`;
    assert.deepEqual(check("adapters/dynamodb/_transport.ts", dynamodb), [
      '2: imports the package "@aws-sdk/client-dynamodb": adapters/dynamodb/ may import only package sources',
      '3: imports the Node built-in "node:crypto"',
    ]);
  });

  it("lets the conformance suites import node:test and node:assert, and nothing else of Node", () => {
    const suite = `
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ok } from "node:assert";
import { readFile } from "node:fs/promises";
import { ManualClock } from "./manual_clock.ts";
import { SluiceError } from "../src/errors.ts";
export const cwd = process.cwd();
`;
    assert.deepEqual(check("testing/cache_store_suite.ts", suite), [
      '5: imports the Node built-in "node:fs/promises"',
      "8: uses the runtime global `process`",
    ]);
    const core = `
import { describe } from "node:test";
import { ManualClock } from "../../testing/manual_clock.ts";
`;
    assert.deepEqual(check("src/client/http_client.ts", core), [
      '2: imports the Node built-in "node:test"',
      '3: imports the test helper "../../testing/manual_clock.ts": only testing/ may use it',
    ]);
  });

  it("reports triple-slash references to runtime types", () => {
    const text = `/// <reference types="node" />
/// <reference lib="deno.ns" />
/// <reference lib="dom" />
export const x = 1;
`;
    assert.deepEqual(check("src/refs.ts", text), [
      '1: references the types of "node"',
      '2: references the lib "deno.ns"',
    ]);
  });

  it("ignores tests and benchmarks, which may use any runtime API", () => {
    const text = `import { spawn } from "node:child_process";
export const pid = process.pid + Deno.pid;
`;
    assert.deepEqual(check("src/stores/memory/lru_test.ts", text), []);
    assert.deepEqual(check("src/cache/freshness_bench.ts", text), []);
    assert.deepEqual(check("tests/fixtures/origin.ts", text), []);
  });

  it("keeps the dashboard Web-only, and the core free of it", () => {
    const dashboard = `
import { ConfigError } from "../src/errors.ts";
import { pageHtml } from "./_page.ts";
import type { IncomingMessage } from "node:http";
import { serve } from "hono";
export const port = Deno.env.get("PORT");
`;
    assert.deepEqual(check("dashboard/dashboard.ts", dashboard), [
      '4: imports the Node built-in "node:http"',
      '5: imports the package "hono": the dashboard imports nothing outside the project',
      "6: uses the runtime global `Deno`",
    ]);
    const core = `import { createDashboard } from "../../dashboard/mod.ts";
`;
    assert.deepEqual(check("src/client/http_client.ts", core), [
      '1: imports the dashboard file "../../dashboard/mod.ts": only dashboard/ may use it',
    ]);
  });
});

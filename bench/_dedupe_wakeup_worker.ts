// The joiner process of bench/dedupe_wakeup_bench.ts. It opens one dedupe
// store (a libSQL file or Upstash through the REST bridge), with default
// options, prints `{"ready":true}`, then for every stdin line
// `{"key":"..."}` joins that key's job, prints `{"waiting":true}` as soon as
// it waits, and once `waitFor` resolves prints
// `{"resolvedAt":<epoch ms>,"waitedMs":..,"polls":..,"ok":..}`.
//
//   deno run --allow-all bench/_dedupe_wakeup_worker.ts '{"backend":"libsql","url":"file:/tmp/x.db"}'
//   deno run --allow-all bench/_dedupe_wakeup_worker.ts '{"backend":"upstash","url":"http://127.0.0.1:1","token":"t","keyPrefix":"p:"}'
import { createClient } from "@libsql/client";
import { Redis } from "@upstash/redis";
import process from "node:process";
import { createInterface } from "node:readline";
import { LibsqlDedupeStore } from "../adapters/libsql/mod.ts";
import { counting } from "../tests/adapters/libsql/_helpers.ts";
import { UpstashDedupeStore } from "../adapters/upstash/mod.ts";
import type { DedupeStore } from "../mod.ts";

interface Config {
  backend: "libsql" | "upstash";
  url: string;
  token?: string;
  keyPrefix?: string;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const send = (message: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

/** Round trips of the libSQL client: one per poll once the job is joined. */
const libsql = config.backend === "libsql"
  ? counting(createClient({ url: config.url, timeout: 5_000 }))
  : undefined;

const store: DedupeStore<unknown> = config.backend === "libsql"
  ? new LibsqlDedupeStore({
    client: libsql!.client,
  })
  : new UpstashDedupeStore({
    redis: new Redis({
      url: config.url,
      token: config.token ?? "",
      automaticDeserialization: false,
      enableTelemetry: false,
      retry: false,
    }),
    keyPrefix: config.keyPrefix ?? "sluice-bench:",
  });

await store.isInProgress("warm-up");
send({ ready: true });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const { key } = JSON.parse(line) as { key: string };
  const { isOwner } = await store.registerOrJoin(key);
  libsql?.reset();
  const started = performance.now();
  const waiting = store.waitFor(key);
  send({ waiting: true, isOwner });
  const value = await waiting;
  const now = performance.now();
  send({
    resolvedAt: performance.timeOrigin + now,
    waitedMs: now - started,
    polls: libsql?.count() ?? 0,
    ok: value !== undefined,
  });
}
await store.close();

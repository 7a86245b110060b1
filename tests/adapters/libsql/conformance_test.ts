// The four store conformance suites against every kind of libSQL database:
// `:memory:`, a temporary file, and a real sqld server over HTTP.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe } from "node:test";
import { createClient } from "@libsql/client/web";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlCacheStore,
  LibsqlDedupeStore,
  LibsqlRateLimitStore,
  tableNames,
} from "../../../adapters/libsql/mod.ts";
import {
  testAdaptiveRateLimitStore,
  testCacheStore,
  testDedupeStore,
  testRateLimitStore,
} from "../../../src/testing/mod.ts";
import { type SqldServer, startSqld } from "../../fixtures/sqld.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-libsql-conformance-"));
let files = 0;
let prefixes = 0;
let sqld: Promise<SqldServer> | undefined;

interface Connection {
  url: string;
  tablePrefix?: string;
}

interface Backend {
  name: string;
  /** Connection options for one fresh, isolated store. */
  connect(): Promise<Connection>;
}

/**
 * On a shared server, a closed store's tables are dropped: hundreds of
 * leftover tables would slow every later statement (the schema grows).
 */
function tidy<S extends { close(): Promise<void> }>(
  store: S,
  connection: Connection,
): S {
  const prefix = connection.tablePrefix;
  if (prefix === undefined) return store;
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    const client = createClient({ url: connection.url });
    try {
      await client.batch(
        Object.values(tableNames(prefix)).map((table) => ({
          sql: `DROP TABLE IF EXISTS ${table}`,
          args: [],
        })),
        "write",
      );
    } finally {
      client.close();
    }
  };
  return store;
}

const backends: Backend[] = [
  { name: ":memory:", connect: () => Promise.resolve({ url: ":memory:" }) },
  {
    name: "file",
    connect: () =>
      Promise.resolve({ url: `file:${join(dir, `db_${++files}.db`)}` }),
  },
  {
    name: "sqld over HTTP",
    connect: async () => {
      sqld ??= startSqld();
      // One server for the whole file; a table prefix per store keeps
      // every test's data apart.
      return { url: (await sqld).url, tablePrefix: `t${++prefixes}_` };
    },
  },
];

const invalidConnection = [
  { tablePrefix: "bad-prefix" },
  { url: "ftp://127.0.0.1/db" },
  { busyTimeoutMs: -1 },
];

describe("libSQL stores against the conformance suites", () => {
  after(async () => {
    if (sqld !== undefined) await (await sqld).stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of backends) {
    describe(`libSQL on ${backend.name}`, () => {
      testCacheStore(
        `LibsqlCacheStore on ${backend.name}`,
        async ({ clock, options }) => {
          const connection = await backend.connect();
          return tidy(
            new LibsqlCacheStore({ ...connection, clock, ...options }),
            connection,
          );
        },
        {
          sizeLimit: { options: { maxEntrySizeBytes: 4_096 }, bytes: 4_096 },
          invalidOptions: [
            ...invalidConnection,
            { maxEntrySizeBytes: 0 },
            { cleanupIntervalMs: -5 },
            { onEvent: "not a function" },
          ],
        },
      );

      // A second store on the same database sees what another process would.
      const dedupeConnections = new WeakMap<object, Connection>();
      testDedupeStore(
        `LibsqlDedupeStore on ${backend.name}`,
        async ({ clock, jobTimeoutMs, completedGraceMs, options, peerOf }) => {
          const shared = peerOf && dedupeConnections.get(peerOf);
          const connection = shared ?? await backend.connect();
          const store = new LibsqlDedupeStore({
            ...connection,
            clock,
            jobTimeoutMs,
            completedGraceMs,
            ...options,
          });
          dedupeConnections.set(store, connection);
          return shared ? store : tidy(store, connection);
        },
        {
          // Each client of `:memory:` opens a database of its own.
          peers: backend.name !== ":memory:",
          invalidOptions: [
            ...invalidConnection,
            { pollIntervalMs: 0 },
            { pollIntervalMs: 1.5 },
            { pollIntervalMs: 50, maxPollIntervalMs: 10 },
            { completedGraceMs: 600_000 },
            { maxEntrySizeBytes: 0 },
            { cleanupIntervalMs: -1 },
            { onEvent: "not a function" },
          ],
        },
      );

      testRateLimitStore(
        `LibsqlRateLimitStore on ${backend.name}`,
        async (
          { clock, defaultConfig, resourceConfigs, marginMs, options },
        ) => {
          const connection = await backend.connect();
          return tidy(
            new LibsqlRateLimitStore({
              ...connection,
              clock,
              defaultConfig,
              resourceConfigs,
              marginMs,
              ...options,
            }),
            connection,
          );
        },
        { invalidOptions: invalidConnection },
      );

      testAdaptiveRateLimitStore(
        `LibsqlAdaptiveRateLimitStore on ${backend.name}`,
        async (
          {
            clock,
            defaultConfig,
            resourceConfigs,
            adaptiveConfig,
            marginMs,
            options,
          },
        ) => {
          const connection = await backend.connect();
          return tidy(
            new LibsqlAdaptiveRateLimitStore({
              ...connection,
              clock,
              defaultConfig,
              resourceConfigs,
              adaptiveConfig,
              marginMs,
              ...options,
            }),
            connection,
          );
        },
        { invalidOptions: invalidConnection },
      );
    });
  }
});

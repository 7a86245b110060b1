// The four store conformance suites against every kind of libSQL database:
// `:memory:`, a temporary file, and a real sqld server over HTTP.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe } from "node:test";
import { createClient as createNativeClient } from "@libsql/client";
import { createClient } from "@libsql/client/web";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlCacheStore,
  type LibsqlClient,
  LibsqlDedupeStore,
  LibsqlRateLimitStore,
  type RateLimitStore,
  tableNames,
} from "../../../adapters/libsql/mod.ts";
import {
  testAdaptiveRateLimitStore,
  testCacheStore,
  testDedupeStore,
  testRateLimitStore,
} from "../../../testing/mod.ts";
import { type SqldServer, startSqld } from "../../fixtures/sqld.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-libsql-conformance-"));
let files = 0;
let prefixes = 0;
let sqld: Promise<SqldServer> | undefined;

interface Connection {
  url?: string;
  client?: LibsqlClient;
  tablePrefix?: string;
}

interface Backend {
  name: string;
  /** Connection options for one fresh, isolated store. */
  connect(): Promise<Connection>;
}

/** The connection each store was opened with, for a second store on it. */
const connections = new WeakMap<object, Connection>();

/**
 * On a shared server, a closed store's tables are dropped: hundreds of
 * leftover tables would slow every later statement (the schema grows). A
 * client made for one test is closed with its store.
 */
function tidy<S extends { close(): Promise<void> }>(
  store: S,
  connection: Connection,
): S {
  connections.set(store, connection);
  const prefix = connection.tablePrefix;
  const close = store.close.bind(store);
  if (prefix === undefined) {
    const own = connection.client;
    if (own === undefined) return store;
    store.close = async () => {
      await close();
      if (!own.closed) own.close();
    };
    return store;
  }
  store.close = async () => {
    await close();
    const client = createClient({ url: connection.url! });
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

/**
 * Builds a store on `connection` and tidies up after it; a client made for
 * a store that fails to build is closed at once.
 */
function opened<S extends { close(): Promise<void> }>(
  connection: Connection,
  build: () => S,
): S {
  try {
    return tidy(build(), connection);
  } catch (error) {
    const own = connection.client;
    if (own !== undefined && !own.closed) own.close();
    throw error;
  }
}

const backends: Backend[] = [
  {
    name: ":memory:",
    // One client per test, so that a second store can share its database.
    connect: () =>
      Promise.resolve({ client: createNativeClient({ url: ":memory:" }) }),
  },
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

/** Writes a cooldown end of text, which no clock reading can be compared with. */
async function corruptCooldown(
  store: RateLimitStore,
  resource: string,
): Promise<void> {
  // The store creates its tables on first use.
  await store.getCooldown(resource);
  const connection = connections.get(store)!;
  const url = connection.url!;
  const client = connection.client ??
    (url.startsWith("file:")
      ? createNativeClient({ url, timeout: 5_000 })
      : createClient({ url }));
  try {
    await client.execute({
      sql: `INSERT INTO ${
        tableNames(connection.tablePrefix).cooldown
      } (resource, until) VALUES (?1, 'soon') ON CONFLICT (resource) DO UPDATE SET until = 'soon'`,
      args: [resource],
    });
  } finally {
    if (connection.client === undefined) client.close();
  }
}

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
          return opened(
            connection,
            () => new LibsqlCacheStore({ ...connection, clock, ...options }),
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
          const build = () =>
            new LibsqlDedupeStore({
              ...connection,
              clock,
              jobTimeoutMs,
              completedGraceMs,
              ...options,
            });
          const store = shared ? build() : opened(connection, build);
          dedupeConnections.set(store, connection);
          return store;
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
          return opened(connection, () =>
            new LibsqlRateLimitStore({
              ...connection,
              clock,
              defaultConfig,
              resourceConfigs,
              marginMs,
              ...options,
            }));
        },
        { invalidOptions: invalidConnection, corruptCooldown },
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
            shareWith,
          },
        ) => {
          const connection = shareWith === undefined
            ? await backend.connect()
            : { ...connections.get(shareWith)! };
          return opened(connection, () =>
            new LibsqlAdaptiveRateLimitStore({
              ...connection,
              clock,
              defaultConfig,
              resourceConfigs,
              adaptiveConfig,
              marginMs,
              ...options,
            }));
        },
        {
          invalidOptions: invalidConnection,
          corruptCooldown,
          sharedBackend: true,
        },
      );
    });
  }
});

// The store conformance suites against dynalite, in both connection forms:
// `fetch` with the stores' own SigV4, and an injected AWS SDK v3 client.
// Every suite runs over `fetch`; over the SDK, the cache and dedupe suites
// run, and rate_limit_store_test.ts holds the rate-limit stores over the
// SDK to the same exactness with a few cases: the rate-limit suites spend
// most of this file's time, in requests the transport does not change. Time is a manual clock: DynamoDB
// has no server clock, every time the stores write is their own clock's.
import { after, before, describe } from "node:test";
import {
  DynamoDBAdaptiveRateLimitStore,
  DynamoDBCacheStore,
  type DynamoDBConnectionOptions,
  DynamoDBDedupeStore,
  DynamoDBRateLimitStore,
  type RateLimitStore,
} from "../../../adapters/dynamodb/mod.ts";
import {
  testAdaptiveRateLimitStore,
  testCacheStore,
  testDedupeStore,
  testRateLimitStore,
} from "../../../testing/mod.ts";
import { type DynamoEnv, type Form, startDynamoEnv } from "./_env.ts";

let env: DynamoEnv;

/** The connection each store was opened with, for a second store on it. */
const connections = new WeakMap<object, DynamoDBConnectionOptions>();

function remember<S extends object>(
  store: S,
  connection: DynamoDBConnectionOptions,
): S {
  connections.set(store, connection);
  return store;
}

/** Writes a cooldown end of text, which no clock reading compares with. */
async function corruptCooldown(
  store: RateLimitStore,
  resource: string,
): Promise<void> {
  const { keyPrefix } = connections.get(store)!;
  await env.sdk().send(
    new (await import("@aws-sdk/client-dynamodb")).PutItemCommand({
      TableName: env.table,
      Item: {
        pk: { S: `${keyPrefix}ratelimit:${resource}` },
        sk: { S: "m" },
        cd: { S: "soon" },
      },
    }),
  );
}

const invalidConnection = [
  { tableName: "x" },
  { keyPrefix: 42 },
  { timeoutMs: 0 },
  { ensureTableExists: "yes" },
  { client: { send: "no" } },
];

describe("DynamoDB stores against dynalite", () => {
  before(async () => {
    env = await startDynamoEnv();
  });
  after(async () => {
    await env.close();
  });

  for (const form of ["fetch", "sdk"] as Form[]) {
    describe(`over ${form}`, () => {
      testCacheStore(
        `DynamoDBCacheStore (${form})`,
        ({ clock, options, namespace }) =>
          new DynamoDBCacheStore({
            ...env.connect(form, undefined, `test:${namespace}`),
            clock,
            ...options,
          }),
        {
          sizeLimit: { options: { maxEntrySizeBytes: 4_096 }, bytes: 4_096 },
          siblings: ({ clock, namespace }) => ({
            dedupe: new DynamoDBDedupeStore({
              ...env.connect(form, undefined, `test:${namespace}`),
              clock,
            }),
            rateLimit: new DynamoDBRateLimitStore({
              ...env.connect(form, undefined, `test:${namespace}`),
              clock,
            }),
          }),
          invalidOptions: [
            ...invalidConnection,
            { maxEntrySizeBytes: 0 },
            { onEvent: "log" },
          ],
        },
      );

      testDedupeStore(
        `DynamoDBDedupeStore (${form})`,
        ({ clock, jobTimeoutMs, completedGraceMs, options, peerOf }) => {
          const connection = (peerOf && connections.get(peerOf)) ??
            env.connect(form);
          return remember(
            new DynamoDBDedupeStore({
              ...connection,
              // Leases and the grace run on the manual clock; a waiter's
              // checks on real timers, so that a waiter in a second store
              // (another process) sees a completion without the test
              // moving time.
              clock: { now: () => clock.now() },
              jobTimeoutMs,
              completedGraceMs,
              ...options,
            }),
            connection,
          );
        },
        {
          peers: true,
          invalidOptions: [
            ...invalidConnection,
            { jobTimeoutMs: 0 },
            { completedGraceMs: 60_001 },
            { pollIntervalMs: 0 },
            { pollIntervalMs: 50, maxPollIntervalMs: 10 },
            { maxEntrySizeBytes: 0 },
            { onEvent: "log" },
          ],
        },
      );

      if (form === "sdk") return;

      testRateLimitStore(
        `DynamoDBRateLimitStore (${form})`,
        ({ clock, defaultConfig, resourceConfigs, marginMs, options }) => {
          const connection = env.connect(form);
          return remember(
            new DynamoDBRateLimitStore({
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
        { invalidOptions: invalidConnection, corruptCooldown },
      );

      testAdaptiveRateLimitStore(
        `DynamoDBAdaptiveRateLimitStore (${form})`,
        ({
          clock,
          defaultConfig,
          resourceConfigs,
          adaptiveConfig,
          marginMs,
          options,
          shareWith,
        }) => {
          const connection = shareWith === undefined
            ? env.connect(form)
            : { ...connections.get(shareWith)! };
          return remember(
            new DynamoDBAdaptiveRateLimitStore({
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
        {
          invalidOptions: [...invalidConnection, { clock: { now: "later" } }],
          corruptCooldown,
          sharedBackend: true,
        },
      );
    });
  }
});

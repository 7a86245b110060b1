// The shared store conformance suites, run against a real redis-server
// through the Upstash REST bridge and the real `@upstash/redis` client, in
// real time (every Upstash store reads the Redis server's clock).
import { after, before, describe } from "node:test";
import {
  UpstashAdaptiveRateLimitStore,
  UpstashCacheStore,
  UpstashDedupeStore,
  UpstashRateLimitStore,
} from "../../../adapters/upstash/mod.ts";
import type { RateLimitStore } from "../../../src/stores/types.ts";
import {
  testAdaptiveRateLimitStore,
  testCacheStore,
  testDedupeStore,
  testRateLimitStore,
} from "../../../testing/mod.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;

/** The key prefix each rate-limit store was opened with. */
const prefixes = new WeakMap<object, string>();

function remember<S extends object>(store: S, prefix: string): S {
  prefixes.set(store, prefix);
  return store;
}

/** Writes a cooldown end that is not a number. */
async function corruptCooldown(
  store: RateLimitStore,
  resource: string,
): Promise<void> {
  const key = `${prefixes.get(store)}ratelimit:cd:${resource}`;
  await env.client().set(key, "soon");
}

describe("Upstash stores against redis-server", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  const invalidConnection = [
    { redis: {} },
    { redis: undefined, url: "not a url", token: "t" },
    { redis: undefined, url: "http://127.0.0.1:1", token: "" },
    { keyPrefix: 42 },
    { timeoutMs: 0 },
  ];

  testCacheStore(
    "UpstashCacheStore",
    ({ options, namespace }) =>
      new UpstashCacheStore({
        redis: env.client(),
        keyPrefix: `sluice-test:${namespace}`,
        ...options,
      }),
    {
      time: "real",
      sizeLimit: { options: { maxEntrySizeBytes: 4_096 }, bytes: 4_096 },
      siblings: ({ namespace }) => ({
        dedupe: new UpstashDedupeStore({
          redis: env.client(),
          keyPrefix: `sluice-test:${namespace}`,
        }),
        rateLimit: new UpstashRateLimitStore({
          redis: env.client(),
          keyPrefix: `sluice-test:${namespace}`,
        }),
      }),
      invalidOptions: [
        ...invalidConnection,
        { maxEntrySizeBytes: 0 },
        { scanCount: 1.5 },
        { onEvent: "log" },
      ],
    },
  );

  // A second store on the same prefix, with a client of its own, sees what
  // another process would.
  const dedupePrefixes = new WeakMap<object, string>();
  testDedupeStore(
    "UpstashDedupeStore",
    ({ jobTimeoutMs, completedGraceMs, options, peerOf }) => {
      const keyPrefix = (peerOf && dedupePrefixes.get(peerOf)) ??
        env.prefix();
      const store = new UpstashDedupeStore({
        redis: env.client(),
        keyPrefix,
        jobTimeoutMs,
        completedGraceMs,
        ...options,
      });
      dedupePrefixes.set(store, keyPrefix);
      return store;
    },
    {
      time: "real",
      peers: true,
      invalidOptions: [
        ...invalidConnection,
        { jobTimeoutMs: 0 },
        { completedGraceMs: 60_001 },
        { pollIntervalMs: 0 },
        { pollIntervalMs: 1.5 },
        { pollIntervalMs: 50, maxPollIntervalMs: 10 },
        { maxEntrySizeBytes: 0 },
        { onEvent: "log" },
      ],
    },
  );

  testRateLimitStore(
    "UpstashRateLimitStore",
    ({ defaultConfig, resourceConfigs, marginMs, options }) => {
      const keyPrefix = env.prefix();
      return remember(
        new UpstashRateLimitStore({
          redis: env.client(),
          keyPrefix,
          defaultConfig,
          resourceConfigs,
          marginMs,
          ...options,
        }),
        keyPrefix,
      );
    },
    { time: "real", invalidOptions: invalidConnection, corruptCooldown },
  );

  testAdaptiveRateLimitStore(
    "UpstashAdaptiveRateLimitStore",
    (
      {
        defaultConfig,
        resourceConfigs,
        adaptiveConfig,
        marginMs,
        options,
        shareWith,
      },
    ) => {
      const keyPrefix = shareWith === undefined
        ? env.prefix()
        : prefixes.get(shareWith)!;
      return remember(
        new UpstashAdaptiveRateLimitStore({
          redis: env.client(),
          keyPrefix,
          defaultConfig,
          resourceConfigs,
          adaptiveConfig,
          marginMs,
          ...options,
        }),
        keyPrefix,
      );
    },
    {
      time: "real",
      invalidOptions: [...invalidConnection, { clock: { now: "later" } }],
      corruptCooldown,
      sharedBackend: true,
    },
  );
});

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
import {
  testAdaptiveRateLimitStore,
  testCacheStore,
  testDedupeStore,
  testRateLimitStore,
} from "../../../src/testing/mod.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;

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
    ({ defaultConfig, resourceConfigs, marginMs, options }) =>
      new UpstashRateLimitStore({
        redis: env.client(),
        keyPrefix: env.prefix(),
        defaultConfig,
        resourceConfigs,
        marginMs,
        ...options,
      }),
    { time: "real", invalidOptions: invalidConnection },
  );

  testAdaptiveRateLimitStore(
    "UpstashAdaptiveRateLimitStore",
    ({ defaultConfig, resourceConfigs, adaptiveConfig, marginMs, options }) =>
      new UpstashAdaptiveRateLimitStore({
        redis: env.client(),
        keyPrefix: env.prefix(),
        defaultConfig,
        resourceConfigs,
        adaptiveConfig,
        marginMs,
        ...options,
      }),
    { time: "real", invalidOptions: invalidConnection },
  );
});

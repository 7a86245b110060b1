import { MemoryRateLimitStore } from "../../../mod.ts";
import { testRateLimitStore } from "../../../src/testing/mod.ts";

testRateLimitStore(
  "MemoryRateLimitStore",
  ({ clock, defaultConfig, resourceConfigs, options }) =>
    new MemoryRateLimitStore({
      clock,
      defaultConfig,
      resourceConfigs,
      ...options,
    }),
  {
    invalidOptions: [
      { resourceConfigs: [] },
      { resourceConfigs: { "": { limit: 1, windowMs: 1 } } },
      { defaultConfig: null },
      { clock: { now: 5 } },
    ],
  },
);

import { MemoryAdaptiveRateLimitStore } from "../../../mod.ts";
import { testAdaptiveRateLimitStore } from "../../../src/testing/mod.ts";

testAdaptiveRateLimitStore(
  "MemoryAdaptiveRateLimitStore",
  ({ clock, defaultConfig, resourceConfigs, adaptiveConfig, options }) =>
    new MemoryAdaptiveRateLimitStore({
      clock,
      defaultConfig,
      resourceConfigs,
      adaptiveConfig,
      ...options,
    }),
  {
    invalidOptions: [
      { adaptiveConfig: { highActivityTreshold: 5 } },
      { adaptiveConfig: "fast" },
    ],
  },
);

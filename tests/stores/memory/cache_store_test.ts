import { MemoryCacheStore } from "../../../mod.ts";
import { testCacheStore } from "../../../src/testing/mod.ts";

testCacheStore(
  "MemoryCacheStore",
  ({ clock, options }) => new MemoryCacheStore({ clock, ...options }),
  {
    invalidOptions: [
      { maxEntries: 0 },
      { maxEntries: -1 },
      { maxEntries: 1.5 },
      { maxEntries: Number.NaN },
      { maxBytes: 0 },
      { maxBytes: Infinity },
      { maxBytes: "50MB" },
      { clock: {} },
    ],
  },
);

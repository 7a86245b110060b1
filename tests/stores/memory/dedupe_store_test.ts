import { MemoryDedupeStore } from "../../../mod.ts";
import { testDedupeStore } from "../../../src/testing/mod.ts";

testDedupeStore(
  "MemoryDedupeStore",
  ({ clock, jobTimeoutMs, completedGraceMs, options }) =>
    new MemoryDedupeStore({
      clock,
      jobTimeoutMs,
      completedGraceMs,
      ...options,
    }),
  {
    invalidOptions: [
      { jobTimeoutMs: 1.5 },
      { jobTimeoutMs: Infinity },
      { completedGraceMs: 60_001 },
      { completedGraceMs: Infinity },
      { clock: null },
    ],
  },
);

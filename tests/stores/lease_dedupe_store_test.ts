// The policy every sluice dedupe store shares: the same options are
// rejected the same way by the memory, libSQL and Upstash stores, and each
// offers the same surface.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LibsqlDedupeStore,
  type LibsqlDedupeStoreOptions,
} from "../../adapters/libsql/mod.ts";
import {
  UpstashDedupeStore,
  type UpstashDedupeStoreOptions,
} from "../../adapters/upstash/mod.ts";
import {
  type DedupeStoreStats,
  MemoryDedupeStore,
  type MemoryDedupeStoreOptions,
} from "../../mod.ts";
import { createClient } from "@libsql/client";
import { ManualClock } from "../../testing/mod.ts";

const builders: Record<
  string,
  (options: Record<string, unknown>) => unknown
> = {
  MemoryDedupeStore: (options) =>
    new MemoryDedupeStore(options as MemoryDedupeStoreOptions),
  LibsqlDedupeStore: (options) =>
    new LibsqlDedupeStore(
      { url: ":memory:", ...options } as LibsqlDedupeStoreOptions,
    ),
  UpstashDedupeStore: (options) =>
    new UpstashDedupeStore(
      {
        url: "http://127.0.0.1:1",
        token: "unused",
        ...options,
      } as UpstashDedupeStoreOptions,
    ),
};

/** Options every store takes, each with values all of them must refuse. */
const shared: Array<[string, unknown[]]> = [
  ["jobTimeoutMs", [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "5"]],
  ["completedGraceMs", [-1, 60_001, 600_000, Number.NaN, Infinity, null]],
];

/** Options of the stores that poll, with values they must refuse. */
const polling: Array<[string, unknown[]]> = [
  ["pollIntervalMs", [0, 1.5, Number.NaN, -2]],
  ["maxPollIntervalMs", [0, 2.5, Number.NaN]],
  ["maxEntrySizeBytes", [0, 1.5, Number.NaN]],
  ["onEvent", ["log", 42]],
  ["clock", [{}, 42, { now: 1 }]],
];

function rejects(
  name: string,
  build: () => unknown,
  option: string,
  value: unknown,
): void {
  assert.throws(build, (error: unknown) => {
    const e = error as { code?: string; option?: string; message?: string };
    assert.equal(e.code, "ERR_CONFIG", `${name} ${option}: ${String(error)}`);
    assert.equal(e.option, option);
    assert.match(e.message ?? "", new RegExp(`^Cannot create ${name} `));
    return true;
  }, `${name} accepted ${option}: ${String(value)}`);
}

describe("LeaseDedupeStore", () => {
  it("every dedupe store rejects the same invalid timing options with a ConfigError naming the option", () => {
    for (const [name, build] of Object.entries(builders)) {
      for (const [option, values] of shared) {
        for (const value of values) {
          rejects(name, () => build({ [option]: value }), option, value);
        }
      }
      build({ jobTimeoutMs: 1, completedGraceMs: 60_000 });
    }
  });

  it("the libSQL and Upstash stores reject the same polling, size and listener options", () => {
    for (const name of ["LibsqlDedupeStore", "UpstashDedupeStore"]) {
      const build = builders[name]!;
      for (const [option, values] of polling) {
        for (const value of values) {
          rejects(name, () => build({ [option]: value }), option, value);
        }
      }
      rejects(
        name,
        () => build({ pollIntervalMs: 50, maxPollIntervalMs: 10 }),
        "maxPollIntervalMs",
        10,
      );
      build({ pollIntervalMs: 7, maxPollIntervalMs: 7 });
    }
  });

  it("the memory and libSQL dedupe stores count their jobs the same way with getStats(), and close with Symbol.asyncDispose", async () => {
    const clock = new ManualClock();
    const stores = [
      new MemoryDedupeStore({ clock, jobTimeoutMs: 1_000 }),
      new LibsqlDedupeStore({ url: ":memory:", clock, jobTimeoutMs: 1_000 }),
    ];
    for (const store of stores) {
      await store.registerOrJoin("done");
      await store.complete("done", 1);
      await store.registerOrJoin("failed");
      await store.fail("failed", new Error("x"));
      await store.registerOrJoin("abandoned");
      clock.advance(500);
      await store.registerOrJoin("running");
      clock.advance(600);
      const expected: DedupeStoreStats = {
        totalJobs: 4,
        pendingJobs: 1,
        completedJobs: 1,
        failedJobs: 1,
        expiredJobs: 1,
      };
      assert.deepEqual(await store.getStats(), expected);
      await store[Symbol.asyncDispose]();
      await assert.rejects(store.getStats(), { name: "StoreError" });
      await assert.rejects(store.registerOrJoin("x"), {
        name: "StoreError",
        operation: "registerOrJoin",
      });
    }
  });

  it("MemoryDedupeStore.cleanup() removes finished and abandoned jobs and says how many", async () => {
    const clock = new ManualClock();
    const store = new MemoryDedupeStore({ clock, jobTimeoutMs: 1_000 });
    await store.registerOrJoin("done");
    await store.complete("done", 1);
    await store.registerOrJoin("abandoned");
    clock.advance(1_000);
    await store.registerOrJoin("running");
    assert.equal(await store.cleanup(), 2);
    assert.equal(store.size, 1);
    assert.equal(await store.isInProgress("running"), true);
    await store.close();
  });

  it("a waiter in another store checks the job on the store's clock: moving the clock brings the result, however long the poll interval", async () => {
    const client = createClient({ url: ":memory:" });
    const clock = new ManualClock();
    const options = {
      client,
      clock,
      pollIntervalMs: 60_000,
      maxPollIntervalMs: 60_000,
    };
    const owner = new LibsqlDedupeStore<string>(options);
    const other = new LibsqlDedupeStore<string>(options);
    try {
      assert.equal((await owner.registerOrJoin("k")).isOwner, true);
      assert.equal((await other.registerOrJoin("k")).isOwner, false);
      let answer: string | undefined | "pending" = "pending";
      const waiting = other.waitFor("k").then((value) => {
        answer = value;
      });
      await owner.complete("k", "result");
      // The waiter's first check saw the job running; its next one is a
      // minute away on the store's clock, which only this test moves.
      for (let minutes = 0; answer === "pending" && minutes < 20; minutes++) {
        await clock.advanceAsync(60_000);
      }
      assert.equal(answer, "result");
      await waiting;
    } finally {
      await owner.close();
      await other.close();
      client.close();
    }
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, MemoryDedupeStore, StoreError } from "../../../mod.ts";
import { ManualClock, testDedupeStore } from "../../../testing/mod.ts";

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

describe("MemoryDedupeStore", () => {
  it("drops finished jobs after the grace, so memory does not grow with keys", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryDedupeStore<number>({
      clock,
      completedGraceMs: 1_000,
    });
    for (let i = 0; i < 5_000; i++) {
      await store.registerOrJoin(`job:${i}`);
      if (i % 2 === 0) await store.complete(`job:${i}`, i);
      else await store.fail(`job:${i}`, new Error("boom"));
    }
    clock.advance(1_000);
    for (let i = 0; i < 5_000; i++) {
      await store.registerOrJoin(`next:${i}`);
      await store.complete(`next:${i}`, i);
      clock.advance(1);
    }
    assert.ok(store.size < 4_000, `holds ${store.size} jobs, not 10000`);
    await store.close();
  });

  it("drops abandoned jobs nobody asks about again", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryDedupeStore({ clock, jobTimeoutMs: 1_000 });
    for (let i = 0; i < 3_000; i++) await store.registerOrJoin(`lost:${i}`);
    clock.advance(2_000);
    for (let i = 0; i < 3_000; i++) await store.registerOrJoin(`new:${i}`);
    assert.ok(store.size <= 3_100, `holds ${store.size} jobs`);
    await store.close();
  });

  it("waitFor() removes its abort listener once the job settles", async () => {
    const store = new MemoryDedupeStore<string>();
    const controller = new AbortController();
    let listeners = 0;
    const { signal } = controller;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof signal.removeEventListener;
    await store.registerOrJoin("h");
    const waiting = store.waitFor("h", { signal });
    assert.equal(listeners, 1);
    await store.complete("h", "v");
    assert.equal(await waiting, "v");
    assert.equal(listeners, 0);
    await store.close();
  });

  it("releases waiters at the job timeout measured by the system clock", async () => {
    const store = new MemoryDedupeStore({ jobTimeoutMs: 120 });
    // Timed from before the job starts, so that a pause of the machine
    // between the two calls cannot make the release look early.
    const started = performance.now();
    await store.registerOrJoin("slow");
    assert.equal(await store.waitFor("slow"), undefined);
    const elapsed = performance.now() - started;
    assert.ok(
      elapsed >= 118 && elapsed < 5_000,
      `released after ${elapsed} ms`,
    );
    await store.close();
  });

  it("register() supersedes a running job: its waiters receive undefined", async () => {
    const store = new MemoryDedupeStore<string>();
    const first = await store.registerOrJoin("h");
    const waiting = store.waitFor("h");
    const second = await store.register("h");
    assert.notEqual(second, first.jobId);
    assert.equal(await waiting, undefined);
    assert.deepStrictEqual(await store.registerOrJoin("h"), {
      jobId: second,
      isOwner: false,
    });
    await store.close();
  });

  it("a completion without a registered job still answers waitFor() within the grace", async () => {
    const clock = new ManualClock(0);
    const store = new MemoryDedupeStore<string>({ clock });
    await store.complete("orphan", "late value");
    assert.equal(await store.waitFor("orphan"), "late value");
    clock.advance(1_000);
    assert.equal(await store.waitFor("orphan"), undefined);
    await store.close();
  });

  it("rejects with a StoreError once closed", async () => {
    const store = new MemoryDedupeStore();
    await store.close();
    await assert.rejects(store.registerOrJoin("h"), StoreError);
    await assert.rejects(store.waitFor("h"), StoreError);
  });

  it("bounds completedGraceMs at one minute", () => {
    assert.throws(
      () => new MemoryDedupeStore({ completedGraceMs: 120_000 }),
      (error: unknown) =>
        error instanceof ConfigError && error.option === "completedGraceMs",
    );
    new MemoryDedupeStore({ completedGraceMs: 60_000 });
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type DedupeStore, MemoryDedupeStore } from "../../mod.ts";
import { runDistributedFlight } from "../../src/dedupe/distributed.ts";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("runDistributedFlight()", () => {
  it("runs the job once across callers sharing a store", async () => {
    const store = new MemoryDedupeStore<string>();
    let runs = 0;
    const job = async () => {
      runs++;
      await delay(20);
      return { result: "mine", share: "shared" };
    };
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => runDistributedFlight(store, "k", job)),
    );
    assert.equal(runs, 1);
    assert.equal(outcomes.filter((o) => o.kind === "owned").length, 1);
    assert.deepEqual(
      outcomes.filter((o) => o.kind === "joined").map((o) =>
        o.kind === "joined" ? o.value : undefined
      ),
      Array(4).fill("shared"),
    );
    await store.close();
  });

  it("elects one new owner when the owner fails, instead of all waiters at once", async () => {
    const store = new MemoryDedupeStore<string>();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const job = async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await delay(15);
      concurrent--;
      if (runs === 1) throw new Error("first owner failed");
      return { result: "owner", share: "second" };
    };
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => runDistributedFlight(store, "k", job)),
    );
    assert.equal(runs, 2);
    assert.equal(maxConcurrent, 1);
    assert.equal(results.filter((r) => r.status === "rejected").length, 1);
    await store.close();
  });

  it("tells the job whether the store elected its caller, on first election and re-election", async () => {
    const inner = new MemoryDedupeStore<string>();
    let waiting!: () => void;
    const waits = new Promise<void>((resolve) => (waiting = resolve));
    const store = new Proxy(inner, {
      get(target, name) {
        if (name === "waitFor") {
          return (key: string, options?: { signal?: AbortSignal }) => {
            waiting();
            return target.waitFor(key, options);
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const elections: boolean[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = runDistributedFlight(store, "k", async (elected) => {
      elections.push(elected);
      await released;
      throw new Error("first owner failed");
    });
    const second = runDistributedFlight(store, "k", (elected) => {
      elections.push(elected);
      return Promise.resolve({ result: "second", share: "s" });
    });
    // The second caller waits; the first owner's failure re-elects it.
    await waits;
    release();
    await assert.rejects(first, { message: "first owner failed" });
    assert.deepEqual(await second, { kind: "owned", result: "second" });
    const down = {
      registerOrJoin: () => Promise.reject(new Error("down")),
    } as unknown as DedupeStore<string>;
    await runDistributedFlight(down, "k", (elected) => {
      elections.push(elected);
      return Promise.resolve({ result: "alone", share: "x" });
    });
    assert.deepEqual(elections, [true, true, false]);
    await inner.close();
  });

  it("runs the job itself and reports the failure when the store is down", async () => {
    const down = {
      registerOrJoin: () => Promise.reject(new Error("down")),
    } as unknown as DedupeStore<string>;
    const failures: string[] = [];
    const outcome = await runDistributedFlight(
      down,
      "k",
      () => Promise.resolve({ result: "alone", share: "x" }),
      { onStoreError: (_, operation) => failures.push(operation) },
    );
    assert.deepEqual(outcome, { kind: "owned", result: "alone" });
    assert.deepEqual(failures, ["registerOrJoin"]);
  });

  it("stops trusting a store that never produces an owner", async () => {
    const liar = {
      registerOrJoin: () => Promise.resolve({ jobId: "j", isOwner: false }),
      waitFor: () => Promise.resolve(undefined),
    } as unknown as DedupeStore<string>;
    let runs = 0;
    const outcome = await runDistributedFlight(
      liar,
      "k",
      () => Promise.resolve({ result: ++runs, share: "x" }),
      { maxElections: 3 },
    );
    assert.deepEqual(outcome, { kind: "owned", result: 1 });
  });

  it("rejects with the signal's reason while waiting", async () => {
    const store = new MemoryDedupeStore<string>();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const owner = runDistributedFlight(store, "k", async () => {
      await released;
      return { result: "r", share: "s" };
    });
    await delay(5);
    const controller = new AbortController();
    const waiter = runDistributedFlight(
      store,
      "k",
      () => Promise.resolve({ result: "never", share: "never" }),
      { signal: controller.signal },
    );
    await delay(5);
    controller.abort("gone");
    await assert.rejects(waiter, (e) => e === "gone");
    release();
    assert.deepEqual(await owner, { kind: "owned", result: "r" });
    await store.close();
  });

  it("stops waiting on its signal even when the store ignores it", async () => {
    const deaf = {
      registerOrJoin: () => Promise.resolve({ jobId: "j", isOwner: false }),
      waitFor: () => new Promise(() => {}),
    } as unknown as DedupeStore<string>;
    const controller = new AbortController();
    const waiter = runDistributedFlight(
      deaf,
      "k",
      () => Promise.resolve({ result: "never", share: "never" }),
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort("gone"), 5);
    await assert.rejects(waiter, (e) => e === "gone");
  });

  it("runs the job itself when the store outlasts storeTimeoutMs", async () => {
    const hung = {
      registerOrJoin: () => new Promise(() => {}),
    } as unknown as DedupeStore<string>;
    const failures: string[] = [];
    const started = performance.now();
    const outcome = await runDistributedFlight(
      hung,
      "k",
      () => Promise.resolve({ result: "alone", share: "x" }),
      {
        storeTimeoutMs: 20,
        onStoreError: (_, operation) => failures.push(operation),
      },
    );
    assert.deepEqual(outcome, { kind: "owned", result: "alone" });
    assert.deepEqual(failures, ["registerOrJoin"]);
    assert.ok(performance.now() - started < 1_000);
  });

  it("returns the owner's result when complete() never answers", async () => {
    const store = new MemoryDedupeStore<string>();
    const slow = new Proxy(store, {
      get(target, name) {
        if (name === "complete") return () => new Promise(() => {});
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const failures: string[] = [];
    const outcome = await runDistributedFlight(
      slow,
      "k",
      () => Promise.resolve({ result: "mine", share: "x" }),
      {
        storeTimeoutMs: 20,
        onStoreError: (_, operation) => failures.push(operation),
      },
    );
    assert.deepEqual(outcome, { kind: "owned", result: "mine" });
    assert.deepEqual(failures, ["complete"]);
    await store.close();
  });
});

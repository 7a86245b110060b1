import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DedupeRegistration,
  type DedupeStore,
  MemoryDedupeStore,
  StoreError,
} from "../../mod.ts";
import {
  EndedJobs,
  runDistributedFlight,
} from "../../src/dedupe/distributed.ts";
import { ManualClock } from "../../testing/mod.ts";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A promise with its resolver.
function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// Rejects when `promise` has not settled within `ms`: what should take a
// few microtasks must not hang the suite when it waits for a store instead.
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Still waiting after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// A view of a store with some methods replaced; the rest reach the store.
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(store, name) {
      if (Object.hasOwn(overrides, name)) {
        return overrides[name as keyof T];
      }
      const value = Reflect.get(store, name, store);
      return typeof value === "function" ? value.bind(store) : value;
    },
  });
}

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

  describe("under store faults", () => {
    // A memory store on a clock that never moves: a job it holds never
    // times out, so nothing but the flight itself can end a wait.
    const stalled = () =>
      new MemoryDedupeStore<string>({ clock: new ManualClock() });

    it("follows a complete() that fails with fail(), so that waiters elect a new owner at once", async () => {
      const inner = stalled();
      const calls: string[] = [];
      const waiting = deferred();
      const store = overriding(inner, {
        complete: () => {
          calls.push("complete");
          return Promise.reject(new Error("connection lost"));
        },
        fail: (key: string, error: Error) => {
          calls.push("fail");
          return inner.fail(key, error);
        },
        waitFor: (key: string, options?: { signal?: AbortSignal }) => {
          waiting.resolve();
          return inner.waitFor(key, options);
        },
      });
      const release = deferred();
      const failures: string[] = [];
      const owner = runDistributedFlight(store, "k", async () => {
        await release.promise;
        return { result: "first", share: "s" };
      }, { onStoreError: (_, operation) => failures.push(operation) });
      const waiter = runDistributedFlight(
        store,
        "k",
        () => Promise.resolve({ result: "second", share: "s" }),
      );
      await waiting.promise;
      release.resolve();
      assert.deepEqual(await owner, { kind: "owned", result: "first" });
      assert.deepEqual(await within(waiter), {
        kind: "owned",
        result: "second",
      });
      assert.deepEqual(calls.slice(0, 2), ["complete", "fail"]);
      assert.deepEqual(failures, ["complete"]);
      await inner.close();
    });

    it("does not wait for a job it owned whose complete() and fail() the store lost", async () => {
      const inner = stalled();
      const calls: string[] = [];
      let lose = true;
      const store = overriding(inner, {
        registerOrJoin: (key: string) => {
          calls.push("registerOrJoin");
          return inner.registerOrJoin(key);
        },
        complete: (key: string, value: string) => {
          calls.push("complete");
          return lose
            ? Promise.reject(new Error("connection lost"))
            : inner.complete(key, value);
        },
        fail: (key: string, error: Error) => {
          calls.push("fail");
          return lose
            ? Promise.reject(new Error("connection lost"))
            : inner.fail(key, error);
        },
        waitFor: (key: string, options?: { signal?: AbortSignal }) => {
          calls.push("waitFor");
          return inner.waitFor(key, options);
        },
      });
      const endedJobs = new EndedJobs();
      const failures: string[] = [];
      const options = {
        endedJobs,
        onStoreError: (_: unknown, operation: string) =>
          failures.push(operation),
      };
      const first = await runDistributedFlight(
        store,
        "k",
        () => Promise.resolve({ result: 1, share: "one" }),
        options,
      );
      assert.deepEqual(first, { kind: "owned", result: 1 });
      assert.deepEqual(failures, ["complete", "fail"]);
      assert.equal(await inner.isInProgress("k"), true, "the store lost both");
      // The store answers again; the job it still runs will never complete.
      lose = false;
      calls.length = 0;
      const elections: boolean[] = [];
      const second = await within(
        runDistributedFlight(store, "k", (elected) => {
          elections.push(elected);
          return Promise.resolve({ result: 2, share: "two" });
        }, options),
      );
      assert.deepEqual(second, { kind: "owned", result: 2 });
      assert.deepEqual(elections, [true]);
      assert.deepEqual(calls, [
        "registerOrJoin",
        "fail",
        "registerOrJoin",
        "complete",
      ]);
      await inner.close();
    });

    it("releases with fail() a registration that made it owner after storeTimeoutMs", async () => {
      const inner = stalled();
      const reply = deferred();
      const failed = deferred();
      const store = overriding(inner, {
        registerOrJoin: async (key: string): Promise<DedupeRegistration> => {
          await reply.promise;
          return await inner.registerOrJoin(key);
        },
        fail: async (key: string, error: Error) => {
          await inner.fail(key, error);
          failed.resolve();
        },
      });
      const failures: string[] = [];
      const outcome = await runDistributedFlight(
        store,
        "k",
        () => Promise.resolve({ result: "alone", share: "x" }),
        {
          storeTimeoutMs: 20,
          onStoreError: (_, operation) => failures.push(operation),
        },
      );
      assert.deepEqual(outcome, { kind: "owned", result: "alone" });
      assert.deepEqual(failures, ["registerOrJoin"]);
      // The store now makes the caller that went on without it the owner.
      reply.resolve();
      await within(failed.promise);
      assert.equal(await inner.isInProgress("k"), false);
      assert.equal((await inner.registerOrJoin("k")).isOwner, true);
      await inner.close();
    });

    it("keeps waiting for the owner when waitTimeoutMs is longer than a timer can hold", async () => {
      const store = new MemoryDedupeStore<string>();
      await store.registerOrJoin("k");
      const failures: string[] = [];
      const joining = runDistributedFlight(
        store,
        "k",
        () => Promise.resolve({ result: "alone", share: "" }),
        {
          // A sum of long options, as the client builds it.
          waitTimeoutMs: 2 ** 31 - 1 + 60_000,
          onStoreError: (_, operation) => failures.push(operation),
        },
      );
      await delay(20);
      await store.complete("k", "from the owner");
      assert.deepEqual(await within(joining), {
        kind: "joined",
        value: "from the owner",
      });
      assert.deepEqual(failures, []);
      await store.close();
    });

    it("stops waiting after waitTimeoutMs for a store whose waitFor never settles, and runs the job itself", async () => {
      const deaf = {
        registerOrJoin: () => Promise.resolve({ jobId: "j", isOwner: false }),
        waitFor: () => new Promise(() => {}),
      } as unknown as DedupeStore<string>;
      const failures: [unknown, string][] = [];
      const outcome = await within(runDistributedFlight(
        deaf,
        "k",
        (elected) =>
          Promise.resolve({ result: elected ? "elected" : "alone", share: "" }),
        {
          waitTimeoutMs: 30,
          onStoreError: (error, operation) => failures.push([error, operation]),
        },
      ));
      assert.deepEqual(outcome, { kind: "owned", result: "alone" });
      assert.equal(failures.length, 1);
      const [error, operation] = failures[0]!;
      assert.equal(operation, "waitFor");
      assert.ok(error instanceof StoreError);
      assert.equal(error.operation, "waitFor");
    });

    it("tells the elected job what the store says its job replaced", async () => {
      const seen: unknown[] = [];
      for (const previous of ["none", "completed", "failed", undefined]) {
        const store = {
          registerOrJoin: () =>
            Promise.resolve({
              jobId: "j",
              isOwner: true,
              ...(previous === undefined ? {} : { previous }),
            }),
          complete: () => Promise.resolve(),
        } as unknown as DedupeStore<string>;
        await runDistributedFlight(store, "k", (elected, replaced) => {
          seen.push([elected, replaced]);
          return Promise.resolve({ result: 0, share: "" });
        });
      }
      assert.deepEqual(seen, [
        [true, "none"],
        [true, "completed"],
        [true, "failed"],
        [true, undefined],
      ]);
    });
  });
});

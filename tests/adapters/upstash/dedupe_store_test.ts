import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  UpstashDedupeStore,
  type UpstashDedupeStoreOptions,
  type UpstashStoreEvent,
} from "../../../adapters/upstash/mod.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open<T = unknown>(
  prefix: string,
  options: Partial<UpstashDedupeStoreOptions> = {},
): UpstashDedupeStore<T> {
  return new UpstashDedupeStore<T>({
    redis: env.client(),
    keyPrefix: prefix,
    ...options,
  });
}

describe("UpstashDedupeStore", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  it("loads a script with EVAL after NOSCRIPT once, then runs each operation in one EVALSHA request", async () => {
    await env.client().scriptFlush();
    const store = open(env.prefix());
    env.bridge.resetCounts();
    await store.registerOrJoin("warm");
    assert.deepEqual(
      env.bridge.log().map((r) => r.commands),
      [["EVALSHA"], ["EVAL"]],
    );
    await store.isInProgress("warm");
    await store.complete("warm", 1);
    const counts: number[] = [];
    for (
      const step of [
        () => store.registerOrJoin("a"),
        () => store.registerOrJoin("a"),
        () => store.isInProgress("a"),
        () => store.complete("a", { ok: true }),
        () => store.register("b"),
        () => store.fail("b", new Error("origin down")),
      ]
    ) {
      env.bridge.resetCounts();
      await step();
      counts.push(env.bridge.requests());
      assert.deepEqual(
        env.bridge.log().map((r) => r.commands),
        [["EVALSHA"]],
      );
    }
    assert.deepEqual(counts, [1, 1, 1, 1, 1, 1]);
    await store.close();
  });

  it("makes exactly one owner among 100 concurrent registerOrJoin() calls from five store instances", async () => {
    const prefix = env.prefix();
    const stores = Array.from({ length: 5 }, () => open(prefix));
    const registrations = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stores[i % 5]!.registerOrJoin("k")),
    );
    assert.equal(registrations.filter((r) => r.isOwner).length, 1);
    assert.equal(new Set(registrations.map((r) => r.jobId)).size, 1);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("hands a binary result from the owner's store to waiters in other store instances", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const waiters = [open(prefix), open(prefix)];
    assert.equal((await owner.registerOrJoin("k")).isOwner, true);
    for (const w of waiters) {
      assert.equal((await w.registerOrJoin("k")).isOwner, false);
    }
    const waits = waiters.map((w) => w.waitFor("k"));
    await sleep(30);
    const value = { status: 200, body: new Uint8Array([0, 1, 254, 255]) };
    await owner.complete("k", value);
    for (const result of await Promise.all(waits)) {
      assert.deepEqual(result, value);
    }
    await Promise.all([owner, ...waiters].map((s) => s.close()));
  });

  it("replaces an owner that never settles once its lease (jobTimeoutMs) runs out", async () => {
    const prefix = env.prefix();
    const crashed = open(prefix, { jobTimeoutMs: 300 });
    const other = open(prefix, { jobTimeoutMs: 300 });
    assert.equal((await crashed.registerOrJoin("k")).isOwner, true);
    assert.equal((await other.registerOrJoin("k")).isOwner, false);
    const started = performance.now();
    assert.equal(await other.waitFor("k"), undefined);
    const waited = performance.now() - started;
    assert.ok(waited >= 250 && waited < 800, `waited ${waited} ms`);
    assert.equal(await other.isInProgress("k"), false);
    assert.equal((await other.registerOrJoin("k")).isOwner, true);
    await Promise.all([crashed.close(), other.close()]);
  });

  it("gives a waiter the result of the job it saw running, even when a newer job already replaced it", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const next = open(prefix);
    // The waiter checks after 40 ms (sees the job running), then after 80 ms more.
    const waiter = open(prefix, { pollIntervalMs: 40, maxPollIntervalMs: 80 });
    await owner.registerOrJoin("k");
    const wait = waiter.waitFor("k");
    await sleep(60);
    await owner.complete("k", "first result");
    const second = await next.registerOrJoin("k");
    assert.equal(second.isOwner, true);
    assert.equal(await wait, "first result");
    // A caller that did not wait for the first job waits for the second.
    const late = waiter.waitFor("k");
    await sleep(20);
    await next.complete("k", "second result");
    assert.equal(await late, "second result");
    await Promise.all([owner.close(), next.close(), waiter.close()]);
  });

  it("checks at once, then at delays that grow with the wait up to maxPollIntervalMs", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const waiter = open(prefix, { pollIntervalMs: 5, maxPollIntervalMs: 40 });
    await owner.registerOrJoin("k");
    env.bridge.resetCounts();
    const wait = waiter.waitFor("k");
    await sleep(400);
    const polls = env.bridge.requests();
    await owner.complete("k", 1);
    const completedAt = performance.now();
    assert.equal(await wait, 1);
    const lag = performance.now() - completedAt;
    // The documented schedule: a check at once, then after max(5, a quarter
    // of the time waited) ms, at most 40 ms. A loaded machine can only
    // stretch it, so this is the most checks 400 ms may hold.
    let most = 1;
    for (let waited = 0, delay = 5; waited + delay <= 400; most++) {
      waited += delay;
      delay = Math.min(40, Math.max(5, Math.round(waited / 4)));
    }
    assert.ok(polls >= 5 && polls <= most, `${polls} checks in 400 ms`);
    assert.ok(lag < 40 + 30, `result arrived ${lag} ms after completion`);
    await Promise.all([owner.close(), waiter.close()]);
  });

  it("complete() and fail() wake the waiters of their own store at once, without another check", async () => {
    const store = open(env.prefix(), {
      pollIntervalMs: 60_000,
      maxPollIntervalMs: 60_000,
    });
    await store.registerOrJoin("done");
    await store.registerOrJoin("failed");
    const done = store.waitFor("done");
    const failed = store.waitFor("failed");
    await sleep(20);
    env.bridge.resetCounts();
    await store.complete("done", "value");
    await store.fail("failed", new Error("origin down"));
    assert.deepEqual(await Promise.all([done, failed]), ["value", undefined]);
    assert.equal(env.bridge.requests(), 2);
    await store.close();
  });

  it("fails the job for waiters when the result exceeds maxEntrySizeBytes, and reports dedupe.skipped", async () => {
    const prefix = env.prefix();
    const events: UpstashStoreEvent[] = [];
    const owner = open(prefix, {
      maxEntrySizeBytes: 1_000,
      onEvent: (event) => events.push(event),
    });
    const waiter = open(prefix);
    await owner.registerOrJoin("k");
    await waiter.registerOrJoin("k");
    const wait = waiter.waitFor("k");
    await owner.complete("k", { body: new Uint8Array(2_000) });
    assert.equal(await wait, undefined);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "dedupe.skipped");
    assert.equal((await waiter.registerOrJoin("k")).isOwner, true);
    await Promise.all([owner.close(), waiter.close()]);
  });

  it("getStats() counts the jobs under its own prefix only, by state", async () => {
    const prefix = env.prefix();
    const store = open(prefix, { jobTimeoutMs: 200 });
    const neighbour = open(env.prefix());
    await neighbour.registerOrJoin("elsewhere");
    await store.registerOrJoin("abandoned");
    await store.registerOrJoin("done");
    await store.complete("done", 1);
    await store.registerOrJoin("failed");
    await store.fail("failed", new Error("x"));
    await sleep(250);
    await store.registerOrJoin("running");
    assert.deepEqual(await store.getStats(), {
      totalJobs: 4,
      pendingJobs: 1,
      completedJobs: 1,
      failedJobs: 1,
      expiredJobs: 1,
    });
    assert.equal(await store.cleanup(), 0);
    await Promise.all([store.close(), neighbour.close()]);
  });

  it("a check that Upstash does not answer within timeoutMs rejects the waiters with a StoreError", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const waiter = open(prefix, { timeoutMs: 200 });
    await owner.registerOrJoin("k");
    env.bridge.delayMs = 1_000;
    try {
      const started = performance.now();
      await assert.rejects(waiter.waitFor("k"), {
        name: "StoreError",
        operation: "waitFor",
      });
      const waited = performance.now() - started;
      assert.ok(waited < 900, `rejected after ${waited} ms`);
    } finally {
      env.bridge.delayMs = 0;
    }
    await Promise.all([owner.close(), waiter.close()]);
  });

  it("close() wakes its waiters with undefined and refuses later calls", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const waiter = open(prefix);
    await owner.registerOrJoin("k");
    const wait = waiter.waitFor("k");
    await sleep(20);
    await waiter.close();
    assert.equal(await wait, undefined);
    await assert.rejects(waiter.registerOrJoin("k"), {
      name: "StoreError",
      operation: "registerOrJoin",
    });
    await assert.rejects(waiter.waitFor("k"), { name: "StoreError" });
    await owner.close();
  });

  it("waitFor() rejects with the signal's reason when aborted mid-wait", async () => {
    const prefix = env.prefix();
    const owner = open(prefix);
    const waiter = open(prefix);
    await owner.registerOrJoin("k");
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const wait = waiter.waitFor("k", { signal: controller.signal });
    await sleep(30);
    controller.abort(reason);
    await assert.rejects(wait, (error) => error === reason);
    await Promise.all([owner.close(), waiter.close()]);
  });
});

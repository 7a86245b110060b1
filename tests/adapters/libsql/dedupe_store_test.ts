import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  type DedupeStoreEvent,
  LibsqlDedupeStore,
} from "../../../adapters/libsql/mod.ts";
import { ManualClock } from "../../../testing/manual_clock.ts";
import { counting, fileClient, sleep, tempDir } from "./_helpers.ts";

describe("LibsqlDedupeStore", () => {
  const files = tempDir();
  after(() => files.remove());

  it("registerOrJoin() elects exactly one owner among 40 callers on two clients of one file, in one round trip each", async () => {
    const path = files.path("elect.db");
    const a = counting(fileClient(path));
    const b = counting(fileClient(path));
    const storeA = new LibsqlDedupeStore({ client: a.client });
    const storeB = new LibsqlDedupeStore({ client: b.client });
    await storeA.isInProgress("warm-up");
    await storeB.isInProgress("warm-up");
    a.reset();
    b.reset();
    const results = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => (i % 2 === 0 ? storeA : storeB).registerOrJoin("job"),
      ),
    );
    assert.equal(results.filter((r) => r.isOwner).length, 1);
    assert.equal(new Set(results.map((r) => r.jobId)).size, 1);
    assert.equal(a.count() + b.count(), 40);
    await storeA.close();
    await storeB.close();
    a.client.close();
    b.client.close();
  });

  it("a waiter on one client receives the value completed through another client", async () => {
    const path = files.path("handoff.db");
    const owner = new LibsqlDedupeStore({ url: `file:${path}` });
    const waiter = new LibsqlDedupeStore({ url: `file:${path}` });
    assert.equal((await owner.registerOrJoin("h")).isOwner, true);
    assert.equal((await waiter.registerOrJoin("h")).isOwner, false);
    const waiting = waiter.waitFor("h");
    await sleep(30);
    const value = { status: 200, body: new Uint8Array([9, 8, 7]) };
    await owner.complete("h", value);
    assert.deepEqual(await waiting, value);
    await owner.close();
    await waiter.close();
  });

  it("waiters of one hash share one series of checks", async () => {
    const path = files.path("poll.db");
    const owner = new LibsqlDedupeStore({ url: `file:${path}` });
    const inner = fileClient(path);
    const { client, count, reset } = counting(inner);
    const waiter = new LibsqlDedupeStore({
      client,
      pollIntervalMs: 50,
      maxPollIntervalMs: 50,
    });
    await owner.registerOrJoin("shared");
    await waiter.isInProgress("shared");
    reset();
    const waiting = Array.from({ length: 20 }, () => waiter.waitFor("shared"));
    await sleep(300);
    await owner.complete("shared", "done");
    assert.deepEqual(await Promise.all(waiting), Array(20).fill("done"));
    // One check at once, then one every 50 ms: at most 7 in 300 ms. Twenty
    // separate series would make twenty times as many.
    assert.ok(count() >= 3, `${count()} checks`);
    assert.ok(count() <= 8, `${count()} checks`);
    await owner.close();
    await waiter.close();
    inner.close();
  });

  it("complete() wakes the waiters of its own store at once, without another check", async () => {
    const path = files.path("local.db");
    const { client, count, reset } = counting(fileClient(path));
    const store = new LibsqlDedupeStore({
      client,
      pollIntervalMs: 60_000,
      maxPollIntervalMs: 60_000,
    });
    await store.isInProgress("warm-up");
    reset();
    await store.registerOrJoin("h");
    const waiting = Array.from({ length: 3 }, () => store.waitFor("h"));
    await sleep(20);
    await store.complete("h", { ok: true });
    assert.deepEqual(await Promise.all(waiting), Array(3).fill({ ok: true }));
    // registerOrJoin, the waiters' one check at once, complete.
    assert.equal(count(), 3);
    await store.close();
    client.close();
  });

  it("fail() by an owner that was taken over leaves the new owner's job running", async () => {
    const path = files.path("takeover.db");
    const clock = new ManualClock();
    const first = new LibsqlDedupeStore({
      url: `file:${path}`,
      clock,
      jobTimeoutMs: 1_000,
    });
    const second = new LibsqlDedupeStore({
      url: `file:${path}`,
      clock,
      jobTimeoutMs: 1_000,
    });
    const old = await first.registerOrJoin("h");
    clock.advance(1_001);
    const next = await second.registerOrJoin("h");
    assert.equal(next.isOwner, true);
    assert.notEqual(next.jobId, old.jobId);
    await first.fail("h", new Error("the slow owner gave up"));
    assert.equal(await second.isInProgress("h"), true);
    await second.complete("h", "from the new owner");
    assert.equal(await first.waitFor("h"), "from the new owner");
    await first.close();
    await second.close();
  });

  it("a result that cannot be decoded reaches waiters as undefined, reported as dedupe.corrupt", async () => {
    const path = files.path("corrupt.db");
    const client = fileClient(path);
    const events: DedupeStoreEvent[] = [];
    const store = new LibsqlDedupeStore({
      client,
      onEvent: (event) => events.push(event),
    });
    await store.registerOrJoin("h");
    await store.complete("h", "fine");
    await client.execute({
      sql: "UPDATE sluice_dedupe SET result = ? WHERE key = 'h'",
      args: [new Uint8Array([1, 2, 3])],
    });
    assert.deepEqual(
      await Promise.all([store.waitFor("h"), store.waitFor("h")]),
      [undefined, undefined],
    );
    assert.deepEqual(
      events.map(({ type, key }) => ({ type, key })),
      [{ type: "dedupe.corrupt", key: "h" }],
    );
    assert.ok(events[0]?.type === "dedupe.corrupt" && events[0].reason !== "");
    await store.close();
    client.close();
  });

  it("a result over maxEntrySizeBytes fails the job for waiters in other processes, reported as dedupe.skipped", async () => {
    const path = files.path("oversize.db");
    const events: DedupeStoreEvent[] = [];
    const owner = new LibsqlDedupeStore({
      url: `file:${path}`,
      maxEntrySizeBytes: 1_000,
      onEvent: (event) => events.push(event),
    });
    const waiter = new LibsqlDedupeStore({ url: `file:${path}` });
    await owner.registerOrJoin("h");
    assert.equal((await waiter.registerOrJoin("h")).isOwner, false);
    const waiting = waiter.waitFor("h");
    await owner.complete("h", { body: new Uint8Array(2_000) });
    assert.equal(await waiting, undefined);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "dedupe.skipped");
    const next = await waiter.registerOrJoin("h");
    assert.equal(next.isOwner, true);
    assert.equal(next.previous, "failed");
    await owner.close();
    await waiter.close();
  });

  it("a waiter receives the result of the job it joined although a newer job replaced it before the waiter's next check", async () => {
    const path = files.path("replaced.db");
    const owner = new LibsqlDedupeStore({ url: `file:${path}` });
    const waiter = new LibsqlDedupeStore({
      url: `file:${path}`,
      pollIntervalMs: 60,
      maxPollIntervalMs: 60,
    });
    await owner.registerOrJoin("h");
    const waiting = waiter.waitFor("h");
    // The waiter's first check (at once) sees the job running; its next
    // comes 60 ms later, after the job completed and a new one began.
    await sleep(20);
    await owner.complete("h", "first result");
    const next = await owner.registerOrJoin("h");
    assert.deepEqual(next.previous, "completed");
    assert.equal(await waiting, "first result");
    // A caller that did not wait for the first job waits for the second.
    const late = waiter.waitFor("h");
    await sleep(20);
    await owner.complete("h", "second result");
    assert.equal(await late, "second result");
    await owner.close();
    await waiter.close();
  });

  it("getStats() counts jobs by state and cleanup() removes settled and abandoned jobs", async () => {
    const clock = new ManualClock();
    const store = new LibsqlDedupeStore({
      url: ":memory:",
      clock,
      jobTimeoutMs: 1_000,
      completedGraceMs: 100,
    });
    await store.registerOrJoin("done");
    await store.complete("done", 1);
    await store.registerOrJoin("failed");
    await store.fail("failed", new Error("x"));
    await store.registerOrJoin("abandoned");
    clock.advance(500);
    await store.registerOrJoin("running");
    clock.advance(600);
    assert.deepEqual(await store.getStats(), {
      totalJobs: 4,
      pendingJobs: 1,
      completedJobs: 1,
      failedJobs: 1,
      expiredJobs: 1,
    });
    assert.equal(await store.cleanup(), 3);
    assert.equal(await store.isInProgress("running"), true);
    assert.equal((await store.getStats()).totalJobs, 1);
    await store.close();
  });

  it("rejects invalid polling options with ConfigError, as the other dedupe stores do", () => {
    for (
      const bad of [
        { pollIntervalMs: 0 },
        { pollIntervalMs: Number.NaN },
        { pollIntervalMs: 1.5 },
        { maxPollIntervalMs: -1 },
        { pollIntervalMs: 20, maxPollIntervalMs: 10 },
        { cleanupIntervalMs: -1 },
        { completedGraceMs: Number.POSITIVE_INFINITY },
        { completedGraceMs: 600_000 },
        { jobTimeoutMs: 1.5 },
      ]
    ) {
      assert.throws(
        () => new LibsqlDedupeStore({ url: ":memory:", ...bad }),
        (error: unknown) => (error as { code?: string }).code === "ERR_CONFIG",
        JSON.stringify(bad),
      );
    }
  });
});

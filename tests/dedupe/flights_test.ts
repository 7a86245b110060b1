import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FlightAbandonedError, FlightTable } from "../../src/dedupe/flights.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("FlightTable", () => {
  it("runs a job once for every caller that joins while it runs", async () => {
    const table = new FlightTable();
    const gate = deferred<string>();
    let runs = 0;
    const job = () => {
      runs++;
      return gate.promise;
    };
    const runs1 = Array.from({ length: 10 }, () => table.run("k", job));
    assert.equal(runs1.filter((r) => r.owner).length, 1);
    gate.resolve("v");
    assert.deepEqual(
      await Promise.all(runs1.map((r) => r.result)),
      Array(10).fill("v"),
    );
    assert.equal(runs, 1);
    assert.equal(table.size, 0);
    // Settled flights are gone: a later caller starts anew.
    await table.run("k", () => Promise.resolve("again")).result;
  });

  it("hands a failure to every waiter without an unhandled rejection", async () => {
    const table = new FlightTable();
    const error = new Error("boom");
    const a = table.run("k", () => Promise.reject(error));
    const b = table.run("k", () => Promise.resolve("never"));
    await assert.rejects(a.result, (e) => e === error);
    await assert.rejects(b.result, (e) => e === error);
    // Nobody waits on this one at all.
    table.start("lonely", () => Promise.reject(new Error("ignored")));
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it("stops one waiter on its signal while others keep waiting", async () => {
    const table = new FlightTable();
    const gate = deferred<number>();
    let flightSignal: AbortSignal | undefined;
    const controller = new AbortController();
    const first = table.run("k", (signal) => {
      flightSignal = signal;
      return gate.promise;
    }, controller.signal);
    const second = table.run("k", () => gate.promise);
    controller.abort("left");
    await assert.rejects(first.result, (e) => e === "left");
    await Promise.resolve();
    assert.equal(flightSignal?.aborted, false);
    gate.resolve(7);
    assert.equal(await second.result, 7);
  });

  it("aborts the flight's signal when every waiter has gone, and drops it from the table", async () => {
    const table = new FlightTable();
    const a = new AbortController();
    const b = new AbortController();
    let flightSignal!: AbortSignal;
    const job = (signal: AbortSignal | undefined) => {
      flightSignal = signal!;
      return new Promise<string>((_, reject) =>
        signal!.addEventListener("abort", () => reject(signal!.reason))
      );
    };
    const first = table.run("k", job, a.signal);
    const second = table.run("k", job, b.signal);
    await Promise.resolve();
    a.abort();
    assert.equal(flightSignal.aborted, false);
    b.abort();
    // The flight leaves the table at once; its signal aborts in a reaction
    // of the request that started it.
    assert.equal(table.get("k"), undefined);
    await Promise.resolve();
    assert.equal(flightSignal.aborted, true);
    assert.ok(flightSignal.reason instanceof FlightAbandonedError);
    await assert.rejects(first.result);
    await assert.rejects(second.result);
    assert.equal(table.get("k"), undefined);
  });

  it("rejects at once a waiter whose signal already aborted", async () => {
    const table = new FlightTable();
    const run = table.run(
      "k",
      () => Promise.resolve(1),
      AbortSignal.abort("early"),
    );
    await assert.rejects(run.result, (e) => e === "early");
  });

  it("starts a new flight instead of joining one whose owner left, unless it is kept", async () => {
    const table = new FlightTable();
    const gate = deferred<string>();
    const owner = new AbortController();
    const first = table.run("k", () => gate.promise, owner.signal);
    const joiner = table.run("k", () => Promise.resolve("unused"));
    owner.abort("left");
    await assert.rejects(first.result, (e) => e === "left");
    assert.equal(first.flight.joinable, false);
    const late = table.run("k", () => Promise.resolve("own"));
    assert.equal(late.owner, true);
    assert.equal(await late.result, "own");
    // Kept by the platform, a flight stays joinable after its owner left.
    const kept = new AbortController();
    const second = table.run("j", () => gate.promise, kept.signal);
    second.flight.keep();
    const other = table.run("j", () => Promise.resolve("unused"));
    kept.abort("left");
    await assert.rejects(second.result);
    assert.equal(table.run("j", () => Promise.resolve("own")).owner, false);
    gate.resolve("shared");
    assert.equal(await joiner.result, "shared");
    assert.equal(await other.result, "shared");
  });
});

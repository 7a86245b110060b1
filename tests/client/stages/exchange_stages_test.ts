// The attempts, the origin exchange and the flights alone, with a transport
// the test answers itself and stand-ins for the stages each one calls.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Attempts } from "../../../src/client/_attempts.ts";
import type { Call, FlightResult } from "../../../src/client/_call.ts";
import { CacheWriter } from "../../../src/client/_cache_writer.ts";
import { Flights } from "../../../src/client/_flights.ts";
import { callKeys } from "../../../src/client/_key.ts";
import { Origin } from "../../../src/client/_origin.ts";
import { TimeoutError } from "../../../src/errors.ts";
import type { RateLimiter } from "../../../src/rate_limit/limiter.ts";
import { drive } from "../_helpers.ts";
import {
  TEST_RETRY,
  testCall,
  testEntry,
  testPipeline,
  types,
} from "./_pipeline.ts";

const never = new AbortController().signal;

/** A transport that answers from a list, recording what it was sent. */
function transport(answers: Array<Response | Error>) {
  const sent: RequestInit[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit) => {
    sent.push(init ?? {});
    const next = answers.shift();
    if (next === undefined) throw new Error("no more answers");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { fetch, sent };
}

describe("Attempts", () => {
  it("retries a retryable status and a network error, and reports each retry", async () => {
    const { fetch, sent } = transport([
      new Response("busy", { status: 503 }),
      new TypeError("connection reset"),
      new Response("ok"),
    ]);
    const { pipeline, events, clock } = testPipeline({ fetch });
    const started = clock.now();
    const exchange = await drive(
      clock,
      new Attempts(pipeline, "test").exchange(testCall(), never, []),
    );
    exchange.done();
    assert.equal(await exchange.response.text(), "ok");
    assert.equal(exchange.attempts, 3);
    assert.equal(sent.length, 3);
    const retries = events.filter((e) => e.type === "retry");
    assert.deepEqual(types(events), [
      "origin",
      "retry",
      "origin",
      "retry",
      "origin",
    ]);
    // The backoffs were waited on the pipeline's clock, in full.
    const waited = retries.reduce((sum, e) => sum + e.delayMs, 0);
    assert.ok(waited > 0);
    assert.ok(Math.abs(clock.now() - started - waited) < 0.01);
  });

  it("sends a revalidation's validators, and learns a server's cooldown", async () => {
    const cooldowns: Array<[string, number]> = [];
    const limiter = {
      admit: () => Promise.resolve(undefined),
      cooldown: (resource: string, ms: number) => {
        cooldowns.push([resource, ms]);
        return Promise.resolve();
      },
    } as unknown as RateLimiter;
    const { fetch, sent } = transport([
      new Response("slow down", {
        status: 429,
        headers: { "retry-after": "7" },
      }),
    ]);
    const { pipeline } = testPipeline({
      fetch,
      limiter,
    });
    const exchange = await new Attempts(pipeline, "root").exchange(
      testCall({
        scope: { prefix: "root:tenant=a", closed: false },
        retry: { ...TEST_RETRY, attempts: 0 },
      }),
      never,
      [["if-none-match", '"v1"']],
    );
    exchange.done();
    assert.equal(new Headers(sent[0]!.headers).get("if-none-match"), '"v1"');
    // Kept under the root client's key: it holds back every scope.
    assert.deepEqual(cooldowns, [["root:ratelimit:api.example", 7_000]]);
  });

  it("fails an attempt that outlasts attemptMs with a TimeoutError", async () => {
    const fetch = (_url: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init!.signal!.addEventListener("abort", () => {
          reject(init!.signal!.reason);
        });
      });
    const { pipeline, clock } = testPipeline({
      fetch,
    });
    let settled = false;
    const failure = new Attempts(pipeline, "test").exchange(
      testCall({ attemptMs: 10, retry: { ...TEST_RETRY, attempts: 0 } }),
      never,
      [],
    ).then(() => undefined, (error: unknown) => error).finally(() => {
      settled = true;
    });
    await clock.advanceAsync(9);
    assert.ok(!settled, "the deadline passed early");
    await clock.advanceAsync(1);
    const error = await failure;
    assert.ok(error instanceof TimeoutError && error.phase === "attempt");
  });
});

describe("Origin", () => {
  it("merges a 304 into the stale entry it confirms, and stores the result", async () => {
    const { fetch, sent } = transport([
      new Response(null, {
        status: 304,
        headers: { etag: '"v1"', "cache-control": "max-age=60" },
      }),
    ]);
    const { pipeline, store, clock, events } = testPipeline({ fetch });
    const writer = new CacheWriter(pipeline, store);
    const origin = new Origin(pipeline, new Attempts(pipeline, "test"), writer);
    const entry = testEntry(clock.now() - 20_000, {
      etag: '"v1"',
      "cache-control": "max-age=10",
    });
    const keys = callKeys("test", "h");
    const result = await origin.fetch(testCall(), keys, {
      entry,
      storeKey: keys.cache,
      staleIfError: false,
    }, never);
    assert.equal(new Headers(sent[0]!.headers).get("if-none-match"), '"v1"');
    assert.equal(result.outcome.kind, "entry");
    assert.equal(result.outcome.source, "revalidated");
    assert.ok(await store.get(keys.cache), "the refreshed entry is stored");
    assert.deepEqual(types(events), [
      "origin",
      "cache.stored",
      "cache.revalidated",
    ]);
  });

  it("serves a stale entry when the origin fails and stale-if-error allows it", async () => {
    const { fetch } = transport([new Response("down", { status: 500 })]);
    const { pipeline, store, clock, events } = testPipeline({
      fetch,
    });
    const origin = new Origin(
      pipeline,
      new Attempts(pipeline, "test"),
      new CacheWriter(pipeline, store),
    );
    const entry = testEntry(clock.now() - 20_000, {
      "cache-control": "max-age=10, stale-if-error=60",
    });
    const keys = callKeys("test", "h");
    const result = await origin.fetch(
      testCall({ retry: { ...TEST_RETRY, attempts: 0 } }),
      keys,
      { entry, storeKey: keys.cache, staleIfError: true },
      never,
    );
    assert.equal(result.outcome.source, "stale");
    assert.deepEqual(types(events), ["origin", "cache.stale", "error"]);
  });

  it("streams a body over maxBodyBytes to the caller whole, and stores none of it", async () => {
    const big = "x".repeat(3_000);
    const { fetch } = transport([
      new Response(big, { headers: { "cache-control": "max-age=60" } }),
    ]);
    const { pipeline, store, events } = testPipeline({ fetch });
    const origin = new Origin(
      pipeline,
      new Attempts(pipeline, "test"),
      new CacheWriter(pipeline, store),
    );
    const keys = callKeys("test", "h");
    const result = await origin.fetch(testCall(), keys, undefined, never);
    assert.equal(result.outcome.kind, "response");
    if (result.outcome.kind !== "response") return;
    assert.equal(await result.outcome.response.text(), big);
    assert.equal(await store.get(keys.cache), undefined);
    assert.deepEqual(types(events), ["origin", "cache.skipped"]);
  });
});

describe("Flights", () => {
  /** An origin stand-in whose answers the test releases. */
  function gatedOrigin() {
    const calls: Call[] = [];
    let release!: (result: FlightResult) => void;
    const answer = new Promise<FlightResult>((resolve) => release = resolve);
    const origin = {
      fetch: (call: Call) => {
        calls.push(call);
        return answer;
      },
    } as unknown as Origin;
    return { origin, calls, release };
  }
  const result: FlightResult = {
    outcome: {
      kind: "raw",
      raw: {
        url: "https://api.example/items",
        status: 200,
        statusText: "OK",
        headers: [["set-cookie", "owner=1"], ["content-type", "text/plain"]],
        body: new TextEncoder().encode("shared"),
      },
      source: "network",
      attempts: 1,
    },
    vary: {},
  };

  it("makes one origin call for identical concurrent requests; the joiner gets no cookie of the owner's", async () => {
    const { pipeline, events } = testPipeline();
    const { origin, calls, release } = gatedOrigin();
    const flights = new Flights(pipeline, origin, undefined);
    const keys = callKeys("test", "h");
    const owner = flights.join(testCall(), keys, undefined, undefined);
    const joiner = flights.join(testCall(), keys, undefined, undefined);
    release(result);
    const [mine, theirs] = await Promise.all([owner, joiner]);
    assert.equal(calls.length, 1);
    assert.equal(mine.source, "network");
    assert.equal(theirs.source, "dedupe");
    assert.equal(theirs.kind, "raw");
    if (theirs.kind !== "raw") return;
    assert.deepEqual(theirs.raw.headers, [["content-type", "text/plain"]]);
    assert.deepEqual(types(events), ["dedupe.owner", "dedupe.joined"]);
  });

  it("keeps the flight for the others when its first caller leaves", async () => {
    const { pipeline } = testPipeline();
    const { origin, calls, release } = gatedOrigin();
    const flights = new Flights(pipeline, origin, undefined);
    const keys = callKeys("test", "h");
    const leaving = new AbortController();
    const first = flights.join(testCall(), keys, undefined, leaving.signal);
    const second = flights.join(testCall(), keys, undefined, undefined);
    leaving.abort(new Error("gone"));
    await assert.rejects(first, /gone/);
    release(result);
    assert.equal((await second).source, "dedupe");
    assert.equal(calls.length, 1);
  });

  it("raises the owner's priority when a user request joins a background one", async () => {
    const { pipeline } = testPipeline();
    const { origin, calls, release } = gatedOrigin();
    const flights = new Flights(pipeline, origin, undefined);
    const keys = callKeys("test", "h");
    const background = testCall();
    background.state.priority = "background";
    const owner = flights.join(background, keys, undefined, undefined);
    const joiner = flights.join(testCall(), keys, undefined, undefined);
    assert.equal(background.state.priority, "user");
    release(result);
    await Promise.all([owner, joiner]);
    assert.equal(calls.length, 1);
  });
});

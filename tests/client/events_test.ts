import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
  type SluiceEvent,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("HttpClient events", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/thing", {
      body: { secret: "body-secret-value" },
      headers: { "cache-control": "max-age=60", "x-token": "header-secret" },
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  it("reports a miss then a hit, with keys and timings", async () => {
    const log = new EventLog();
    const client = new HttpClient({
      name: "ev",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      rateLimit: { store: new MemoryRateLimitStore() },
      onEvent: log.listener,
    });
    clients.push(client);
    await client.get("/thing");
    await client.get("/thing", { priority: "user" });
    assert.deepEqual(log.types(), [
      "request",
      "cache.miss",
      "dedupe.owner",
      "origin",
      "cache.stored",
      "response",
      "request",
      "cache.hit",
      "response",
    ]);
    const [request, , , , stored, response] = log.events as [
      Extract<SluiceEvent, { type: "request" }>,
      SluiceEvent,
      SluiceEvent,
      SluiceEvent,
      Extract<SluiceEvent, { type: "cache.stored" }>,
      Extract<SluiceEvent, { type: "response" }>,
    ];
    assert.equal(request.method, "GET");
    assert.equal(request.url, `${origin.url}/thing`);
    assert.equal(request.client, "ev");
    assert.match(stored.key, /^ev:cache:[A-Za-z0-9_-]{22}$/);
    assert.equal(response.status, 200);
    assert.equal(response.source, "network");
    assert.ok(response.durationMs >= 0);
    assert.equal(response.attempts, 1);
    assert.equal(log.of("request")[1]?.priority, "user");
  });

  it("reports failures with their stage and whether the request carried on", async () => {
    origin.route("/gone", { destroy: true });
    origin.route("/sie", (req) =>
      req.n === 1
        ? {
          body: "kept",
          headers: { "cache-control": "max-age=0, stale-if-error=60" },
        }
        : { status: 500 });
    const log = new EventLog();
    const client = new HttpClient({
      name: "ev5",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      retry: false,
      onEvent: log.listener,
    });
    clients.push(client);
    await assert.rejects(client.get("/gone"), TypeError);
    assert.equal(await client.get("/sie"), "kept");
    assert.equal(await client.get("/sie"), "kept");
    const errors = log.of("error");
    assert.deepEqual(
      errors.map((e) => [e.stage, e.failedOpen, e.url]),
      [
        ["fetch", false, `${origin.url}/gone`],
        ["fetch", true, `${origin.url}/sie`],
      ],
    );
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(client.get("/gone", { signal: aborted.signal }));
    assert.equal(log.of("error").length, 2);
  });

  it("never carries bodies or header values", async () => {
    const log = new EventLog();
    const client = new HttpClient({
      name: "ev2",
      baseUrl: origin.url,
      headers: { authorization: "Bearer top-secret-token" },
      cache: { store: new MemoryCacheStore() },
      onEvent: log.listener,
    });
    clients.push(client);
    await client.get("/thing");
    await client.get("/thing");
    const text = JSON.stringify(log.events);
    for (
      const secret of ["top-secret-token", "body-secret-value", "header-secret"]
    ) {
      assert.ok(!text.includes(secret), `an event leaked ${secret}`);
    }
  });

  it("keeps answering requests when the listener throws or rejects", async () => {
    let calls = 0;
    const throwing = new HttpClient({
      name: "ev3",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      onEvent: () => {
        calls++;
        throw new Error("listener bug");
      },
    });
    const rejecting = new HttpClient({
      name: "ev4",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      onEvent: async () => {
        calls++;
        await Promise.resolve();
        throw new Error("async listener bug");
      },
    });
    clients.push(throwing, rejecting);
    assert.deepEqual(await throwing.get("/thing"), {
      secret: "body-secret-value",
    });
    assert.deepEqual(await throwing.get("/thing"), {
      secret: "body-secret-value",
    });
    assert.deepEqual(await rejecting.get("/thing"), {
      secret: "body-secret-value",
    });
    assert.equal((await rejecting.fetch("/thing")).status, 200);
    assert.ok(calls >= 10);
  });
});

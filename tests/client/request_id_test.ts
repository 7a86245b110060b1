import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
  type SluiceEvent,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog, settles, until } from "./_helpers.ts";

type Of<T extends SluiceEvent["type"]> = Extract<SluiceEvent, { type: T }>;

/** The events of one call, by its id. */
function byRequest(log: EventLog): Map<string, SluiceEvent[]> {
  const calls = new Map<string, SluiceEvent[]>();
  for (const event of log.events) {
    const id = (event as { requestId?: string }).requestId;
    assert.equal(typeof id, "string", `${event.type} carries a requestId`);
    const list = calls.get(id!) ?? [];
    list.push(event);
    calls.set(id!, list);
  }
  return calls;
}

describe("request ids and origin events", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];
  let release: () => void = () => {};

  before(async () => {
    origin = await startOrigin();
    origin.route("/slow", async () => {
      await new Promise<void>((resolve) => release = resolve);
      return { body: { ok: true }, headers: { "cache-control": "max-age=60" } };
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  it("pairs every event of a call, and tells a joiner which call it joined", async () => {
    const log = new EventLog();
    const client = new HttpClient({
      name: "ids",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      onEvent: log.listener,
    });
    clients.push(client);
    const first = client.get("/slow");
    const second = client.get("/slow");
    await until(() =>
      log.of("cache.miss").length === 2 && origin.calls("/slow") === 1
    );
    release();
    await settles(Promise.all([first, second]));

    const calls = byRequest(log);
    assert.equal(calls.size, 2, "two calls, two ids");
    const [ownerId, joinerId] = [...calls.keys()];
    assert.notEqual(ownerId, joinerId);
    assert.deepEqual(calls.get(ownerId!)!.map((e) => e.type), [
      "request",
      "cache.miss",
      "dedupe.owner",
      "origin",
      "cache.stored",
      "response",
    ]);
    const joinerEvents = calls.get(joinerId!)!;
    assert.deepEqual(joinerEvents.map((e) => e.type), [
      "request",
      "cache.miss",
      "dedupe.joined",
      "response",
    ]);
    const joined = joinerEvents[2] as Of<"dedupe.joined">;
    const answered = joinerEvents[3] as Of<"response">;
    assert.equal(joined.ownerRequestId, ownerId);
    assert.equal(answered.source, "dedupe");
    assert.equal(answered.ownerRequestId, ownerId);
    const ownerResponse = calls.get(ownerId!)!.at(-1) as Of<"response">;
    assert.equal(ownerResponse.ownerRequestId, undefined);
    // One origin event for the one request that reached the origin.
    assert.equal(log.of("origin").length, origin.calls("/slow"));
  });

  it("gives each client its own ids, and later calls new ones", async () => {
    origin.route("/plain", { body: "x" });
    const log = new EventLog();
    const a = new HttpClient({
      name: "a",
      baseUrl: origin.url,
      onEvent: log.listener,
    });
    const b = new HttpClient({
      name: "b",
      baseUrl: origin.url,
      onEvent: log.listener,
    });
    clients.push(a, b);
    await a.get("/plain");
    await a.get("/plain");
    await b.get("/plain");
    const ids = log.of("request").map((e) => e.requestId);
    assert.equal(new Set(ids).size, 3);
  });

  it("reports one origin event per attempt, retries included, as the origin counts them", async () => {
    origin.route(
      "/flaky",
      (request) =>
        request.n < 3
          ? { status: 503, headers: { "retry-after": "0" } }
          : { body: "at last" },
    );
    const log = new EventLog();
    const client = new HttpClient({
      name: "retries",
      baseUrl: origin.url,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit: 100, windowMs: 60_000 },
        }),
      },
      onEvent: log.listener,
    });
    clients.push(client);
    assert.equal(await settles(client.get("/flaky")), "at last");
    const attempts = log.of("origin");
    assert.equal(attempts.length, origin.calls("/flaky"));
    assert.deepEqual(attempts.map((e) => [e.attempt, e.status]), [
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    const resource = client.rateLimitResource("/flaky");
    for (const attempt of attempts) {
      assert.equal(attempt.resource, resource);
      assert.equal(attempt.conditional, false);
      assert.equal(attempt.background, false);
      assert.ok(attempt.durationMs >= 0);
    }
    assert.equal(
      new Set(log.events.map((e) => (e as Of<"origin">).requestId)).size,
      1,
    );
  });

  it("reports a failed attempt with its error's name", async () => {
    origin.route("/cut", { destroy: true });
    const log = new EventLog();
    const client = new HttpClient({
      name: "cut",
      baseUrl: origin.url,
      retry: false,
      onEvent: log.listener,
    });
    clients.push(client);
    await assert.rejects(client.get("/cut"));
    const [attempt] = log.of("origin");
    assert.equal(attempt?.status, undefined);
    assert.equal(typeof attempt?.errorName, "string");
    const [error] = log.of("error");
    assert.equal(error?.requestId, attempt?.requestId);
  });

  it("marks a background revalidation, under the id of the call that started it", async () => {
    origin.route("/swr", (request) => ({
      body: `v${request.n}`,
      headers: {
        "cache-control": "max-age=1, stale-while-revalidate=60",
        etag: `"v${request.n}"`,
      },
    }));
    const clock = new ManualClock(1_000_000);
    const log = new EventLog();
    const client = new HttpClient({
      name: "swr",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
    });
    clients.push(client);
    assert.equal(await client.get("/swr"), "v1");
    clock.advance(5_000);
    log.clear();
    assert.equal(await client.get("/swr"), "v1");
    await until(() => log.of("cache.revalidated").length === 1, 10_000);
    const [request] = log.of("request");
    const [attempt] = log.of("origin");
    assert.equal(attempt?.background, true);
    assert.equal(attempt?.conditional, true);
    assert.equal(attempt?.requestId, request?.requestId);
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, type HttpClientOptions, HttpError } from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, settles, SteppedClock, until } from "./_helpers.ts";

describe("HttpClient retries", () => {
  let origin: Origin;
  let log: EventLog;
  let clock: SteppedClock;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "retry",
      baseUrl: origin.url,
      onEvent: log.listener,
      clock,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    log = new EventLog();
    clock = new SteppedClock();
  });

  it("retries a retryable status and returns the first success", async () => {
    origin.route(
      "/flaky",
      (req) => req.n < 3 ? { status: req.n === 1 ? 503 : 502 } : { body: "ok" },
    );
    assert.equal(await drive(clock, client().get("/flaky")), "ok");
    assert.equal(origin.calls("/flaky"), 3);
    const retries = log.of("retry");
    assert.deepEqual(retries.map((e) => [e.attempt, e.status]), [
      [1, 503],
      [2, 502],
    ]);
  });

  it("retries a network error on an idempotent method", async () => {
    origin.route(
      "/reset",
      (req) => req.n === 1 ? { destroy: true } : { body: "recovered" },
    );
    assert.equal(await drive(clock, client().get("/reset")), "recovered");
    assert.equal(origin.calls("/reset"), 2);
    assert.equal(log.of("retry")[0]?.errorName, "TypeError");
  });

  it("gives up after the configured attempts with the last response", async () => {
    origin.route("/down", { status: 500, body: "still down" });
    const c = client({ retry: { attempts: 2, baseDelayMs: 1 } });
    const response = await drive(clock, c.fetch("/down"));
    assert.equal(response.status, 500);
    assert.equal(await response.text(), "still down");
    assert.equal(origin.calls("/down"), 3);
    await assert.rejects(drive(clock, c.get("/down")), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.status, 500);
      assert.equal(error.bodyPreview, "still down");
      return true;
    });
  });

  it("never retries a POST, nor anything when retry is false", async () => {
    origin.route("/once", { status: 503 });
    const response = await client().fetch("/once", {
      method: "POST",
      body: "x",
    });
    assert.equal(response.status, 503);
    await response.body?.cancel();
    assert.equal(origin.calls("/once"), 1);
    const plain = await client({ retry: false }).fetch("/once");
    assert.equal(plain.status, 503);
    await plain.body?.cancel();
    assert.equal(origin.calls("/once"), 2);
  });

  it("waits at least Retry-After before retrying", async () => {
    origin.route(
      "/later",
      (req) =>
        req.n === 1
          ? { status: 429, headers: { "retry-after": "0.15" } }
          : { body: "now" },
    );
    const c = client({ retry: { baseDelayMs: 1, maxDelayMs: 1_000 } });
    const answer = c.get("/later");
    await until(() => log.of("retry").length === 1);
    assert.equal(log.of("retry")[0]!.delayMs, 150);
    // The retry waits on the client's clock: 149 ms leave 1 ms of it.
    await clock.advanceAsync(149);
    assert.equal(clock.nextWakeMs, 1);
    assert.equal(origin.calls("/later"), 1);
    await clock.advanceAsync(1);
    assert.equal(await settles(answer), "now");
    assert.equal(origin.calls("/later"), 2);
  });

  it("returns the response instead of waiting a Retry-After beyond maxDelayMs", async () => {
    origin.route("/hour", { status: 503, headers: { "retry-after": "3600" } });
    const started = clock.now();
    const response = await drive(clock, client().fetch("/hour"));
    assert.equal(response.status, 503);
    await response.body?.cancel();
    // No wait at all, not even a short one.
    assert.equal(clock.now(), started);
    assert.equal(origin.calls("/hour"), 1);
  });
});

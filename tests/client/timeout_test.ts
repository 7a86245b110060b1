import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, type HttpClientOptions, TimeoutError } from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { until } from "./_helpers.ts";

describe("HttpClient timeouts", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "timeout",
      baseUrl: origin.url,
      retry: false,
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
  beforeEach(() => origin.resetCounts());

  it("fails an attempt that runs past attemptMs with a TimeoutError", async () => {
    origin.route("/slow", { body: "late", delayMs: 300 });
    const c = client({ timeout: { attemptMs: 50 } });
    const started = performance.now();
    await assert.rejects(c.get("/slow"), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.phase, "attempt");
      assert.equal(error.timeoutMs, 50);
      return true;
    });
    assert.ok(performance.now() - started < 250);
  });

  it("retries a timed-out attempt and succeeds when the origin recovers", async () => {
    origin.route("/sometimes", (req) => ({
      body: "ok",
      delayMs: req.n === 1 ? 300 : 0,
    }));
    const c = client({
      timeout: { attemptMs: 60 },
      retry: { attempts: 1, baseDelayMs: 1 },
    });
    assert.equal(await c.get("/sometimes"), "ok");
    assert.equal(origin.calls("/sometimes"), 2);
  });

  it("fails the whole call past totalMs, retries included", async () => {
    origin.route("/never", { body: "late", delayMs: 400 });
    const c = client({
      timeout: { attemptMs: 60, totalMs: 100 },
      retry: { attempts: 5, baseDelayMs: 1 },
    });
    const started = performance.now();
    await assert.rejects(c.get("/never"), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.phase, "total");
      return true;
    });
    assert.ok(performance.now() - started < 300);
    assert.ok(origin.calls("/never") <= 2);
  });

  it("cancels a streamed body still being read when the total deadline passes", async () => {
    origin.route("/trickle", {
      chunks: ["a".repeat(2_000), "b".repeat(2_000), "c", "d", "e", "f"],
      chunkDelayMs: 60,
      headers: { "content-type": "text/plain" },
    });
    const c = client({ maxBodyBytes: 1_000, timeout: 150 });
    const response = await c.fetch("/trickle");
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.phase, "total");
      return true;
    });
  });

  it("applies a per-request timeout over the client's", async () => {
    origin.route("/medium", { body: "ok", delayMs: 120 });
    const c = client({ timeout: { attemptMs: 50 } });
    assert.equal(
      await c.get("/medium", { timeout: { attemptMs: 1_000 } }),
      "ok",
    );
    await assert.rejects(c.get("/medium", { timeout: 30 }), TimeoutError);
  });

  it("surfaces a user abort as the signal's own reason", async () => {
    origin.route("/abortable", { body: "late", delayMs: 300 });
    const c = client();
    const reason = new Error("stop");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(
      c.fetch("/abortable", { signal: controller.signal }),
      (error) => error === reason,
    );
    const already = AbortSignal.abort(reason);
    await assert.rejects(
      c.fetch("/abortable", { method: "DELETE", signal: already }),
      (error) => error === reason,
    );
  });

  it("cancels a body that outlasts its deadline even when the transport ignores the signal", async () => {
    let cancelled = 0;
    // A transport whose body sends one chunk, then neither ends nor heeds
    // the request's signal.
    const stalling = (): Promise<Response> =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("partial"));
            },
            cancel() {
              cancelled++;
            },
          }),
          { headers: { "cache-control": "max-age=60" } },
        ),
      );
    const c = client({ fetch: stalling, timeout: { attemptMs: 40 } });
    const started = performance.now();
    await assert.rejects(c.get("/stalls"), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.phase, "attempt");
      return true;
    });
    assert.equal(cancelled, 1);

    const isTotal = (error: unknown): boolean => {
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.phase, "total");
      return true;
    };
    const total = client({ fetch: stalling, timeout: 40 });
    // A GET's body is read before the response is handed over.
    await assert.rejects(total.fetch("/stalls"), isTotal);
    const posted = await total.fetch("/stalls", { method: "POST" });
    await assert.rejects(posted.text(), isTotal);
    assert.ok(performance.now() - started < 1_000);
    await until(() => cancelled === 3);
  });
});

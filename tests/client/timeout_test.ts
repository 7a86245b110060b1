import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type FetchLike,
  HttpClient,
  type HttpClientOptions,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, settles, SteppedClock, until } from "./_helpers.ts";

/** Longer than any test runs: the origin stalls. */
const STALL_MS = 600_000;

/** Whether `error` is the TimeoutError of `phase` after `timeoutMs`. */
function timedOut(phase: "attempt" | "total", timeoutMs?: number) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, phase);
    if (timeoutMs !== undefined) assert.equal(error.timeoutMs, timeoutMs);
    return true;
  };
}

/** A promise and whether it has settled yet. */
function watch<T>(promise: Promise<T>): {
  promise: Promise<T>;
  settled: () => boolean;
} {
  let done = false;
  promise.then(() => {
    done = true;
  }, () => {
    done = true;
  });
  return { promise, settled: () => done };
}

describe("HttpClient timeouts", () => {
  let origin: Origin;
  let clock: SteppedClock;
  /** How many responses' headers have reached the client. */
  let headers: number;
  const clients: HttpClient[] = [];

  // The real transport, counting the responses whose headers came.
  const counting: FetchLike = async (input, init) => {
    const response = await fetch(input, init);
    headers++;
    return response;
  };

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "timeout",
      baseUrl: origin.url,
      retry: false,
      clock,
      fetch: counting,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
    // Headers and a first part of the body, then nothing.
    origin.route("/stalls", {
      chunks: ["partial", "never sent"],
      chunkDelayMs: STALL_MS,
      headers: { "content-type": "text/plain" },
    });
    origin.route("/stalls-large", {
      chunks: ["a".repeat(2_000), "never sent"],
      chunkDelayMs: STALL_MS,
      headers: { "content-type": "text/plain" },
    });
    origin.route("/silent", { body: "late", delayMs: STALL_MS });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock();
    headers = 0;
  });

  it("fails an attempt that runs past attemptMs with a TimeoutError", async () => {
    const c = client({ timeout: { attemptMs: 60_000 } });
    const call = watch(c.get("/silent"));
    const failed = assert.rejects(call.promise, timedOut("attempt", 60_000));
    await until(() => origin.calls("/silent") === 1);
    await clock.advanceAsync(59_999);
    assert.equal(call.settled(), false, "failed before its deadline");
    await clock.advanceAsync(1);
    await settles(failed);
  });

  it("retries a timed-out attempt and succeeds when the origin recovers", async () => {
    origin.route("/sometimes", (req) => ({
      body: "ok",
      delayMs: req.n === 1 ? STALL_MS : 0,
    }));
    const c = client({
      timeout: { attemptMs: 60_000 },
      retry: { attempts: 1, baseDelayMs: 1 },
    });
    const answer = c.get("/sometimes");
    await until(() => origin.calls("/sometimes") === 1);
    await clock.advanceAsync(60_000);
    // Only the backoff (at most 1 ms) is moved past, never a deadline.
    assert.equal(await drive(clock, answer, 1), "ok");
    assert.equal(origin.calls("/sometimes"), 2);
  });

  it("fails the whole call past totalMs, retries included", async () => {
    const c = client({
      timeout: { attemptMs: 60_000, totalMs: 100_000 },
      retry: { attempts: 5, baseDelayMs: 1 },
    });
    const failed = assert.rejects(c.get("/silent"), timedOut("total", 100_000));
    await until(() => origin.calls("/silent") === 1);
    await clock.advanceAsync(60_000);
    // The first attempt timed out; the backoff before the second is short.
    await until(() => (clock.nextWakeMs ?? Infinity) <= 1);
    await clock.advanceAsync(1);
    await until(() => origin.calls("/silent") === 2);
    await clock.advanceAsync(39_999);
    await settles(failed);
    assert.equal(origin.calls("/silent"), 2);
  });

  it("bounds a call by both the caller's signal and totalMs where AbortSignal.any is missing (Node 20.0-20.2, edge runtimes)", async () => {
    const any = Object.getOwnPropertyDescriptor(AbortSignal, "any");
    delete (AbortSignal as { any?: unknown }).any;
    try {
      const c = client({ timeout: { attemptMs: 60_000, totalMs: 50_000 } });
      const reason = new Error("caller left");
      const controller = new AbortController();
      const left = assert.rejects(
        c.get("/silent", { signal: controller.signal }),
        (error) => error === reason,
      );
      await until(() => origin.calls("/silent") === 1);
      controller.abort(reason);
      await settles(left);
      const timed = assert.rejects(
        c.get("/silent", { signal: new AbortController().signal }),
        timedOut("total", 50_000),
      );
      await until(() => origin.calls("/silent") === 2);
      await clock.advanceAsync(50_000);
      await settles(timed);
    } finally {
      if (any !== undefined) Object.defineProperty(AbortSignal, "any", any);
    }
  });

  it("applies a per-request timeout over the client's", async () => {
    const c = client({ timeout: { attemptMs: 10_000 } });
    const longer = watch(
      c.get("/silent", { timeout: { attemptMs: 60_000 } }),
    );
    const failed = assert.rejects(longer.promise, timedOut("attempt", 60_000));
    await until(() => origin.calls("/silent") === 1);
    await clock.advanceAsync(59_999);
    assert.equal(longer.settled(), false, "the client's 10 s applied");
    await clock.advanceAsync(1);
    await settles(failed);

    const total = assert.rejects(
      c.get("/silent", { timeout: 5_000 }),
      timedOut("total", 5_000),
    );
    await until(() => origin.calls("/silent") === 2);
    await clock.advanceAsync(5_000);
    await settles(total);
  });

  it("surfaces a user abort as the signal's own reason", async () => {
    const c = client();
    const reason = new Error("stop");
    const controller = new AbortController();
    const leaving = assert.rejects(
      c.fetch("/silent", { signal: controller.signal }),
      (error) => error === reason,
    );
    await until(() => origin.calls("/silent") === 1);
    controller.abort(reason);
    await leaving;
    const already = AbortSignal.abort(reason);
    await assert.rejects(
      c.fetch("/silent", { method: "DELETE", signal: already }),
      (error) => error === reason,
    );
  });

  it("fails a helper with the attempt's TimeoutError when the body stalls after the headers", async () => {
    const c = client({ timeout: { attemptMs: 60_000 }, maxBodyBytes: 1_000 });
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["buffered GET", () => c.get("/stalls")],
      ["POST", () => c.post("/stalls", { a: 1 })],
    ];
    for (const [name, send] of cases) {
      headers = 0;
      const call = watch(send());
      const failed = assert.rejects(call.promise, timedOut("attempt", 60_000));
      await until(() => headers === 1);
      await clock.advanceAsync(59_999);
      assert.equal(call.settled(), false, `${name}: failed early`);
      await clock.advanceAsync(1);
      await settles(failed);
    }
  });

  it("fails a helper with the total TimeoutError when the body stalls past totalMs", async () => {
    const c = client({
      timeout: { attemptMs: 600_000, totalMs: 120_000 },
      maxBodyBytes: 1_000,
    });
    for (
      const send of [() => c.get("/stalls"), () => c.delete("/stalls")]
    ) {
      headers = 0;
      const failed = assert.rejects(send(), timedOut("total", 120_000));
      await until(() => headers === 1);
      await clock.advanceAsync(120_000);
      await settles(failed);
    }
  });

  it("fails a streamed body with the attempt's TimeoutError when a read waits attemptMs for the origin", async () => {
    const c = client({ timeout: { attemptMs: 60_000 }, maxBodyBytes: 1_000 });
    for (
      const send of [
        () => c.fetch("/stalls-large"),
        () => c.fetch("/stalls", { method: "POST", body: "x" }),
      ]
    ) {
      const response = await send();
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      assert.equal((await reader.read()).done, false);
      // The caller's own pace does not count: no read is waiting.
      await clock.advanceAsync(300_000);
      const read = watch(reader.read());
      const failed = assert.rejects(read.promise, timedOut("attempt", 60_000));
      await clock.advanceAsync(59_999);
      assert.equal(read.settled(), false, "the read failed early");
      await clock.advanceAsync(1);
      await settles(failed);
    }
  });

  it("cancels a streamed body still being read when the total deadline passes", async () => {
    const c = client({
      maxBodyBytes: 1_000,
      timeout: { attemptMs: 600_000, totalMs: 120_000 },
    });
    const response = await c.fetch("/stalls-large");
    assert.equal(response.status, 200);
    const failed = assert.rejects(response.text(), timedOut("total", 120_000));
    await clock.advanceAsync(120_000);
    await settles(failed);
  });

  it("lets a read of an event stream wait for the origin past attemptMs", async () => {
    origin.route("/events", {
      chunks: ["data: 1\n\n", "data: 2\n\n"],
      chunkDelayMs: STALL_MS,
      headers: { "content-type": "text/event-stream" },
    });
    const c = client({ timeout: { attemptMs: 60_000 } });
    const response = await c.fetch("/events");
    const reader = response.body!.getReader();
    assert.equal(
      new TextDecoder().decode((await reader.read()).value),
      "data: 1\n\n",
    );
    const read = watch(reader.read());
    await clock.advanceAsync(600_000);
    assert.equal(read.settled(), false, "the event stream was cut");
    await reader.cancel();
  });

  it("fails a request with its clock's error when the clock cannot wait, instead of hanging", async () => {
    const broken = new Error("the clock cannot wait");
    const c = client({
      clock: { now: () => Date.now(), sleep: () => Promise.reject(broken) },
    });
    await assert.rejects(
      settles(c.get("/silent")),
      (error) => error === broken,
    );
    await assert.rejects(
      settles(c.get("/silent", { timeout: 60_000 })),
      (error) => error === broken,
    );
  });

  it("cancels a body that outlasts its deadline even when the transport ignores the signal", async () => {
    let cancelled = 0;
    let sent = 0;
    // A transport whose body sends one chunk, then neither ends nor heeds
    // the request's signal.
    const stalling = (): Promise<Response> => {
      sent++;
      return Promise.resolve(
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
    };
    const c = client({ fetch: stalling, timeout: { attemptMs: 60_000 } });
    const failed = assert.rejects(c.get("/stalls"), timedOut("attempt"));
    // The attempt's deadline starts before the request is sent.
    await until(() => sent === 1);
    await clock.advanceAsync(60_000);
    await settles(failed);
    assert.equal(cancelled, 1);

    const total = client({
      fetch: stalling,
      timeout: { attemptMs: 600_000, totalMs: 60_000 },
    });
    // A GET's body is read before the response is handed over.
    const got = assert.rejects(total.fetch("/stalls"), timedOut("total"));
    await clock.advanceAsync(60_000);
    await settles(got);
    const posted = await total.fetch("/stalls", { method: "POST" });
    const read = assert.rejects(posted.text(), timedOut("total"));
    await clock.advanceAsync(60_000);
    await settles(read);
    await until(() => cancelled === 3);
  });
});

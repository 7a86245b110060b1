import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  HttpClient,
  type HttpClientOptions,
  HttpError,
  MemoryCacheStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import {
  type Origin,
  type OriginRequest,
  startOrigin,
} from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

const MIB = 1_048_576;
const CHUNK = new Uint8Array(64 * 1_024).fill(120);

/**
 * A body that never ends by itself: `chunks` parts of 64 KiB, then nothing
 * more until the client goes away. A client that read it to the end would
 * wait for ever.
 */
async function* endless(
  request: OriginRequest,
  chunks: number,
): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks; i++) yield CHUNK;
  await request.closed;
}

/** Whether `error` is the BodyTooLargeError of a 1 MiB limit. */
function tooLarge(
  contentLength: number | undefined,
): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof BodyTooLargeError, String(error));
    assert.equal(error.code, "ERR_BODY_TOO_LARGE");
    assert.equal(error.maxBodyBytes, MIB);
    assert.equal(error.contentLength, contentLength);
    assert.equal(error.status, 200);
    return true;
  };
}

describe("HttpClient maxBodyBytes for the data helpers", () => {
  let origin: Origin;
  let clock: ManualClock;
  let log: EventLog;
  const clients: HttpClient[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "body-limit",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
      retry: false,
      maxBodyBytes: MIB,
      // Ends the wait of a client that would read an endless body to its
      // end, so that such a client fails instead of hanging.
      timeout: { totalMs: 10_000 },
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    origin = await startOrigin();
    // Declares 150 MiB, sends 64 KiB of it, then waits for the client.
    origin.route("/declared", (request) => ({
      headers: {
        "cache-control": "max-age=60",
        "content-type": "application/octet-stream",
        "content-length": String(150 * MIB),
      },
      chunks: endless(request, 1),
    }));
    // No length: 1.25 MiB, then no end until the client goes away.
    origin.route("/chunked", (request) => ({
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
      chunks: endless(request, 20),
    }));
    origin.route("/exact", {
      body: "x".repeat(MIB),
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
    });
    origin.route("/missing", {
      status: 404,
      headers: { "content-type": "text/plain" },
      chunks: ["not here; ", "x".repeat(2 * MIB)],
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new ManualClock(Date.now());
    log = new EventLog();
  });

  it("get() fails with BodyTooLargeError at once when Content-Length passes maxBodyBytes, and cancels the body", async () => {
    const c = client();
    await assert.rejects(c.get("/declared"), tooLarge(150 * MIB));
    const [request] = origin.requests("/declared");
    assert.equal(await request!.closed, false);
    await assert.rejects(c.get("/declared"), tooLarge(150 * MIB));
    assert.equal(origin.calls("/declared"), 2);
    assert.equal(log.of("cache.stored").length, 0);
    assert.deepEqual(
      log.of("cache.skipped").map((e) => e.reason),
      ["too-large", "too-large"],
    );
  });

  it("get() stops reading a body without a length at maxBodyBytes and cancels it; a body of exactly maxBodyBytes is data", async () => {
    const c = client();
    await assert.rejects(c.get("/chunked"), tooLarge(undefined));
    assert.equal(await origin.requests("/chunked")[0]!.closed, false);
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal((await c.get<string>("/exact")).length, MIB);
    assert.equal((await c.get<string>("/exact")).length, MIB);
    assert.equal(origin.calls("/exact"), 1);
    await assert.rejects(c.get("/missing"), (error) => {
      assert.ok(error instanceof HttpError, String(error));
      assert.equal(error.status, 404);
      assert.match(error.bodyPreview, /^not here; x/);
      return true;
    });
  });

  it("hands the failure to concurrent get() callers without a second origin call, while fetch() callers stream the body", async () => {
    const c = client();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => c.get("/declared")),
    );
    for (const result of results) {
      assert.equal(result.status, "rejected");
      assert.ok(tooLarge(150 * MIB)((result as PromiseRejectedResult).reason));
    }
    assert.equal(origin.calls("/declared"), 1);

    const [data, response] = await Promise.allSettled([
      c.get("/declared"),
      c.fetch("/declared"),
    ]);
    assert.equal(data.status, "rejected");
    assert.equal(response.status, "fulfilled");
    const streamed = (response as PromiseFulfilledResult<Response>).value;
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get("content-length"), String(150 * MIB));
    const reader = streamed.body!.getReader();
    assert.ok(((await reader.read()).value?.byteLength ?? 0) > 0);
    await reader.cancel();
    assert.equal(origin.calls("/declared"), 3);
    assert.equal(log.of("cache.stored").length, 0);
  });

  it("post() and the other helpers refuse a response body larger than maxBodyBytes", async () => {
    const c = client();
    await assert.rejects(c.post("/declared", { q: 1 }), tooLarge(150 * MIB));
    await assert.rejects(c.put("/chunked", "x"), tooLarge(undefined));
    await assert.rejects(c.delete("/chunked"), tooLarge(undefined));
    for (const request of origin.requests("/chunked")) {
      assert.equal(await request.closed, false);
    }
    assert.equal(origin.calls(), 3);
  });
});

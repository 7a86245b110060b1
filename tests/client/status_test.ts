import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HttpClient,
  type HttpClientOptions,
  HttpError,
  MemoryCacheStore,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

// `new Response()` refuses statuses outside 200–599, but servers send them
// and every runtime's fetch hands them over.
describe("HttpClient and statuses outside 200-599", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  const reply = (status: number) => ({
    status,
    body: "odd but true",
    headers: {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      "x-origin": "yes",
    },
  });

  function client(
    options: Partial<HttpClientOptions> = {},
  ): { client: HttpClient; log: EventLog } {
    const clock = new ManualClock(Date.now());
    const log = new EventLog();
    const c = new HttpClient({
      name: "status",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
      ...options,
    });
    clients.push(c);
    return { client: c, log };
  }

  before(async () => {
    origin = await startOrigin();
    origin.route("/999", reply(999));
    origin.route("/600", reply(600));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });

  it("client.fetch() hands over a 999 with its status, fields and body, as fetch does", async () => {
    const { client: c } = client();
    const direct = await fetch(`${origin.url}/999`);
    await direct.body?.cancel();
    const response = await c.fetch("/999");
    assert.ok(response instanceof Response);
    assert.equal(response.status, 999);
    assert.equal(response.ok, false);
    assert.equal(response.statusText, direct.statusText);
    assert.equal(response.url, `${origin.url}/999`);
    assert.equal(response.headers.get("x-origin"), "yes");
    assert.equal(response.headers.get("content-type"), "text/plain");
    const copy = response.clone();
    assert.equal(copy.status, 999);
    assert.equal(copy.ok, false);
    assert.equal(copy.statusText, direct.statusText);
    assert.equal(copy.headers.get("x-origin"), "yes");
    assert.equal(await response.text(), "odd but true");
    assert.equal(await copy.text(), "odd but true");
    assert.equal(response.bodyUsed, true);
  });

  it("client.fetch() hands over a 600 to HEAD, and client.head() throws HttpError with it", async () => {
    const { client: c } = client();
    const response = await c.fetch("/600", { method: "HEAD" });
    assert.equal(response.status, 600);
    assert.equal(response.ok, false);
    assert.equal(response.headers.get("x-origin"), "yes");
    assert.equal(response.body, null);
    await assert.rejects(c.head("/600"), (error: unknown) => {
      assert.ok(error instanceof HttpError, String(error));
      assert.equal(error.status, 600);
      assert.equal(error.headers.get("x-origin"), "yes");
      return true;
    });
  });

  it("never stores such a response, and client.get() throws HttpError for it", async () => {
    origin.resetCounts();
    const { client: c, log } = client();
    assert.equal((await c.fetch("/999")).status, 999);
    assert.equal((await c.fetch("/999")).status, 999);
    await assert.rejects(c.get("/999"), (error: unknown) => {
      assert.ok(error instanceof HttpError, String(error));
      assert.equal(error.status, 999);
      assert.equal(error.bodyPreview, "odd but true");
      return true;
    });
    assert.equal(origin.calls("/999"), 3);
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal(log.of("cache.hit").length, 0);
  });

  it("keeps the status when the body is streamed, a signal is linked or the total timer runs", async () => {
    const { client: c } = client({
      maxBodyBytes: 4,
      timeout: { attemptMs: 5_000, totalMs: 5_000 },
    });
    const signal = new AbortController().signal;
    const streamed = await c.fetch("/999", { signal });
    assert.equal(streamed.status, 999);
    assert.equal(streamed.ok, false);
    assert.equal(streamed.headers.get("x-origin"), "yes");
    assert.equal(await streamed.text(), "odd but true");
    const posted = await c.fetch("/999", { method: "POST", body: "x", signal });
    assert.equal(posted.status, 999);
    assert.equal(posted.clone().status, 999);
    assert.equal(await posted.text(), "odd but true");
  });
});

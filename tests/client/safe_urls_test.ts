import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  ConfigError,
  HttpClient,
  HttpError,
  MemoryCacheStore,
  REDACTED,
  redactUrl,
  TimeoutError,
  ValidationError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog, settles } from "./_helpers.ts";

const SECRET = "k3y-0f-th3-us3r";

/** Everything a logger would write of an error: message, url, stack. */
function logged(error: unknown): string {
  const e = error as Error & { url?: string };
  return `${e.message}\n${e.url ?? ""}\n${e.stack ?? ""}\n${String(e)}`;
}

describe("redactUrl", () => {
  it("replaces every query value and keeps the names", () => {
    assert.equal(
      redactUrl(`https://api.example/v1/issues?api_key=${SECRET}&page=2`),
      `https://api.example/v1/issues?api_key=${REDACTED}&page=${REDACTED}`,
    );
  });

  it("keeps a URL without a query as it is", () => {
    assert.equal(
      redactUrl("https://api.example/v1/"),
      "https://api.example/v1/",
    );
  });

  it("keeps bare names, and redacts empty and repeated values", () => {
    assert.equal(
      redactUrl("https://a.example/?flag&x=&x=1"),
      `https://a.example/?flag&x=${REDACTED}&x=${REDACTED}`,
    );
    assert.equal(redactUrl("https://a.example/?"), "https://a.example/?");
  });

  it("drops user info and the fragment", () => {
    assert.equal(
      redactUrl(`https://user:${SECRET}@a.example/p?q=1#frag-${SECRET}`),
      `https://a.example/p?q=${REDACTED}`,
    );
    // An @ in the path or query is not user info.
    assert.equal(
      redactUrl("https://a.example/u/@me?to=a@b"),
      `https://a.example/u/@me?to=${REDACTED}`,
    );
  });
});

describe("safe URLs in events and errors", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/ok", {
      body: { fine: true },
      headers: { "cache-control": "max-age=60" },
    });
    origin.route("/missing", { status: 404, body: "nope" });
    origin.route("/big", { body: "x".repeat(2_000) });
    origin.route("/slow", { delayMs: 2_000, body: "late" });
    origin.route("/bad-json", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });

  function client(
    name: string,
    log: EventLog,
    extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {},
  ): HttpClient {
    const c = new HttpClient({
      name,
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      retry: false,
      maxBodyBytes: 1_000,
      onEvent: log.listener,
      ...extra,
    });
    clients.push(c);
    return c;
  }

  it("keeps query values out of every event, by default", async () => {
    const log = new EventLog();
    const c = client("events", log);
    await c.get(`/ok?api_key=${SECRET}&page=1`);
    await c.get(`/ok?api_key=${SECRET}&page=1`);
    assert.ok(log.events.length > 4);
    for (const event of log.events) {
      assert.ok(
        !JSON.stringify(event).includes(SECRET),
        `${event.type} leaks the key`,
      );
    }
    assert.equal(
      log.of("request")[0]?.url,
      `${origin.url}/ok?api_key=${REDACTED}&page=${REDACTED}`,
    );
    // What was sent is untouched.
    assert.equal(
      origin.requests("/ok")[0]?.search,
      `?api_key=${SECRET}&page=1`,
    );
  });

  it("keeps query values out of error messages and error URLs", async () => {
    const log = new EventLog();
    const c = client("errors", log, { timeout: { attemptMs: 200 } });
    const failures: unknown[] = [];
    const capture = (promise: Promise<unknown>) =>
      promise.then(() => assert.fail("should have failed"), (error) => {
        failures.push(error);
      });
    await capture(c.get(`/missing?api_key=${SECRET}`));
    await capture(c.get(`/big?api_key=${SECRET}`));
    await capture(settles(c.get(`/slow?api_key=${SECRET}`)));
    await capture(c.get(`/bad-json?api_key=${SECRET}`));
    await capture(c.get(`/ok?api_key=${SECRET}&v=2`, {
      schema: {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: () => ({ issues: [{ message: "no" }] }),
        },
      },
    }));
    assert.ok(failures[0] instanceof HttpError);
    assert.ok(failures[1] instanceof BodyTooLargeError);
    assert.ok(failures[2] instanceof TimeoutError);
    assert.ok(failures[4] instanceof ValidationError);
    for (const failure of failures) {
      assert.ok(!logged(failure).includes(SECRET), logged(failure));
    }
    assert.equal(
      (failures[0] as HttpError).url,
      `${origin.url}/missing?api_key=${REDACTED}`,
    );
    for (const event of log.of("error")) {
      assert.ok(!(event.url ?? "").includes(SECRET));
    }
  });

  it("shows URLs in full when redactUrls is false", async () => {
    const log = new EventLog();
    const c = client("full", log, { redactUrls: false });
    const error = await c.get(`/missing?api_key=${SECRET}`).catch((e) => e);
    assert.ok(error instanceof HttpError);
    assert.equal(error.url, `${origin.url}/missing?api_key=${SECRET}`);
    assert.ok(error.message.includes(SECRET));
    assert.equal(log.of("request")[0]?.url, error.url);
  });

  it("shows what a custom redaction returns, and falls back when it fails", async () => {
    const log = new EventLog();
    const c = client("custom", log, {
      redactUrls: (url) => {
        if (url.includes("boom")) throw new Error("redaction bug");
        return url.replace(/\/users\/[^/?]+/, "/users/:id");
      },
    });
    origin.route("/users/alice", { body: "a" });
    origin.route("/boom", { body: "b" });
    await c.get("/users/alice");
    await c.get(`/boom?api_key=${SECRET}`);
    const [first, second] = log.of("request");
    assert.equal(first?.url, `${origin.url}/users/:id`);
    assert.equal(second?.url, `${origin.url}/boom?api_key=${REDACTED}`);
  });

  it("refuses a redactUrls that is neither a boolean nor a function", () => {
    assert.throws(
      () =>
        new HttpClient({
          name: "bad",
          redactUrls: "yes" as unknown as boolean,
        }),
      (error) =>
        error instanceof ConfigError && error.message.includes("redactUrls"),
    );
  });
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  HttpClient,
  MemoryCacheStore,
  type StandardSchemaV1,
  ValidationError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

describe("HttpClient helpers", () => {
  let origin: Origin;
  let client: HttpClient;
  let log: EventLog;

  before(async () => {
    origin = await startOrigin();
    origin.route("/echo", (req) => ({
      body: {
        method: req.method,
        type: req.headers["content-type"] ?? null,
        body: req.body,
      },
    }));
    origin.route("/user", (req) => ({
      body: req.search === "?bad"
        ? { id: "not-a-number" }
        : { id: 1, name: "Ada" },
      headers: { "cache-control": "max-age=60" },
    }));
  });
  after(async () => {
    await client.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    log = new EventLog();
    client = new HttpClient({
      name: "helpers",
      baseUrl: `${origin.url}/`,
      cache: { store: new MemoryCacheStore() },
      onEvent: log.listener,
    });
  });

  it("parses JSON by content type, text otherwise, and nothing for an empty body", async () => {
    origin.route("/text", {
      body: "plain",
      headers: { "content-type": "text/plain" },
    });
    origin.route("/problem", {
      body: '{"title":"x"}',
      headers: { "content-type": "application/problem+json; charset=utf-8" },
    });
    origin.route("/empty", { status: 204 });
    assert.equal(await client.get("text"), "plain");
    assert.deepEqual(await client.get("problem"), { title: "x" });
    assert.equal(await client.get("empty"), undefined);
  });

  it("sends objects as JSON and BodyInit values as they are", async () => {
    assert.deepEqual(await client.post("echo", { a: 1 }), {
      method: "POST",
      type: "application/json",
      body: '{"a":1}',
    });
    assert.deepEqual(
      await client.put("echo", "raw", {
        headers: { "content-type": "text/x" },
      }),
      { method: "PUT", type: "text/x", body: "raw" },
    );
    assert.deepEqual(
      await client.patch("echo", new URLSearchParams({ q: "1" })),
      {
        method: "PATCH",
        type: "application/x-www-form-urlencoded;charset=UTF-8",
        body: "q=1",
      },
    );
    assert.deepEqual(await client.delete("echo"), {
      method: "DELETE",
      type: null,
      body: "",
    });
    const headers = await client.head("echo");
    assert.equal(headers.get("content-type"), "application/json");
  });

  it("validates data with a Standard Schema (zod) and infers its type", async () => {
    const User = z.object({ id: z.number(), name: z.string() });
    const user = await client.get("user", { schema: User });
    const name: string = user.name;
    assert.equal(name, "Ada");
    // A cache hit is validated too.
    assert.deepEqual(await client.get("user", { schema: User }), user);
    assert.equal(origin.calls("/user"), 1);
  });

  it("throws ValidationError with the issues and does not cache failing data", async () => {
    const User = z.object({ id: z.number() });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        client.get("user?bad", { schema: User }),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.equal(error.issues.length, 1);
          assert.deepEqual(error.issues[0]!.path, ["id"]);
          return true;
        },
      );
    }
    assert.equal(origin.calls("/user"), 2);
    assert.equal(log.of("cache.stored").length, 0);
    assert.equal(log.of("cache.skipped")[0]?.reason, "validation-failed");
    // Without the schema, the same data is cached as usual.
    await client.get("user?bad");
    await client.get("user?bad");
    assert.equal(origin.calls("/user"), 3);
  });

  it("awaits an asynchronous validator", async () => {
    const positive: StandardSchemaV1<number> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: async (value) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return typeof value === "number" && value > 0
            ? { value }
            : { issues: [{ message: "must be positive" }] };
        },
      },
    };
    origin.route("/count", { body: 3 });
    origin.route("/negative", { body: -3 });
    assert.equal(await client.get("count", { schema: positive }), 3);
    await assert.rejects(
      client.get("negative", { schema: positive }),
      /must be positive/,
    );
  });

  it("gives a joiner without a schema the data even when the owner's schema rejects it", async () => {
    origin.route("/shared", {
      body: { id: "x" },
      delayMs: 20,
      headers: { "cache-control": "max-age=60" },
    });
    const [strict, loose] = await Promise.allSettled([
      client.get("shared", { schema: z.object({ id: z.number() }) }),
      client.get("shared"),
    ]);
    assert.equal(strict.status, "rejected");
    assert.deepEqual((loose as PromiseFulfilledResult<unknown>).value, {
      id: "x",
    });
    assert.equal(origin.calls("/shared"), 1);
  });

  it("accepts a Request and keeps the Response's url", async () => {
    const request = new Request(`${origin.url}/echo`, {
      method: "POST",
      body: "from a request",
      headers: { "content-type": "text/plain" },
    });
    const response = await client.fetch(request);
    assert.equal(response.url, `${origin.url}/echo`);
    assert.deepEqual(await response.json(), {
      method: "POST",
      type: "text/plain",
      body: "from a request",
    });
    const bound = client.fetch;
    assert.equal((await bound("echo")).status, 200);
  });

  it("can be passed wherever fetch is expected, Fetch priorities included", async () => {
    const asFetch: typeof fetch = client.fetch;
    const response = await asFetch(`${origin.url}/user`, { priority: "high" });
    assert.deepEqual(await response.json(), { id: 1, name: "Ada" });
    const low = await asFetch(new Request(`${origin.url}/user`), {
      priority: "low",
    });
    assert.equal(low.status, 200);
    await low.body?.cancel();
  });

  it("takes a Request's method, headers, body and signal, and lets init replace them as fetch does", async () => {
    origin.route("/seen", (req) => ({
      body: {
        method: req.method,
        a: req.headers["x-a"] ?? null,
        b: req.headers["x-b"] ?? null,
        authorization: req.headers.authorization ?? null,
        body: req.body,
      },
    }));
    const request = () =>
      new Request(`${origin.url}/seen`, {
        method: "PUT",
        headers: { "x-a": "1", authorization: "Bearer request" },
        body: "request body",
      });
    const plain = await client.fetch(request());
    assert.deepEqual(await plain.json(), {
      method: "PUT",
      a: "1",
      b: null,
      authorization: "Bearer request",
      body: "request body",
    });
    // As fetch(request, init): init's headers replace the request's.
    const replaced = await client.fetch(request(), {
      method: "POST",
      headers: { "x-b": "2" },
      body: "init body",
    });
    const native = await fetch(request(), {
      method: "POST",
      headers: { "x-b": "2" },
      body: "init body",
    });
    const expected = await native.json();
    assert.deepEqual(await replaced.json(), expected);
    assert.deepEqual(expected, {
      method: "POST",
      a: null,
      b: "2",
      authorization: null,
      body: "init body",
    });

    const reason = new Error("request aborted");
    const controller = new AbortController();
    controller.abort(reason);
    const aborted = new Request(`${origin.url}/seen`, {
      signal: controller.signal,
    });
    await assert.rejects(client.fetch(aborted), (e) => e === reason);
    // init's signal replaces the request's.
    const ok = await client.fetch(aborted, { signal: null });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });

  it("passes FormData, URLSearchParams, Blob and stream bodies to the origin as fetch does", async () => {
    const bodies: Array<() => { body: BodyInit; init?: RequestInit }> = [
      () => {
        const form = new FormData();
        form.append("field", "value");
        form.append("file", new Blob(["bytes"], { type: "text/plain" }), "f");
        return { body: form };
      },
      () => ({ body: new URLSearchParams({ q: "a b", n: "1" }) }),
      () => ({ body: new Blob(["blob"], { type: "application/x-thing" }) }),
      () => ({
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("streamed "));
            controller.enqueue(new TextEncoder().encode("body"));
            controller.close();
          },
        }),
        init: { duplex: "half" } as RequestInit,
      }),
    ];
    for (const make of bodies) {
      const through = make();
      const response = await client.fetch("echo", {
        method: "POST",
        body: through.body,
        ...through.init,
      });
      const direct = make();
      const native = await fetch(`${origin.url}/echo`, {
        method: "POST",
        body: direct.body,
        ...direct.init,
      });
      const [got, want] = [await response.json(), await native.json()];
      // A multipart boundary is random: compare the body without it.
      const boundary = (type: string | null) =>
        /boundary=(.+)$/.exec(type ?? "")?.[1] ?? "";
      const strip = (echo: { type: string | null; body: string }) => ({
        ...echo,
        type: echo.type?.replace(boundary(echo.type), "") ?? null,
        body: echo.body.replaceAll(boundary(echo.type), ""),
      });
      assert.deepEqual(strip(got), strip(want));
    }
  });
});

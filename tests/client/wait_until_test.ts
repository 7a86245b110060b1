// The `waitUntil` options: background work (a stale-while-revalidate
// revalidation, the shared request of identical callers) handed to the
// platform, per client or per request, and what a client without one does
// with a flight whose caller has gone.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog, settles, until } from "./_helpers.ts";

/** A waitUntil that remembers what it was handed. */
function recorder(): {
  waitUntil: (p: Promise<unknown>) => void;
  all: Promise<unknown>[];
} {
  const all: Promise<unknown>[] = [];
  return { waitUntil: (promise) => void all.push(promise), all };
}

function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function configError(create: () => unknown, message: RegExp): void {
  assert.throws(create, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.option, "waitUntil");
    assert.match(error.message, message);
    return true;
  });
}

describe("HttpClient waitUntil", () => {
  let origin: Origin;
  let log: EventLog;
  const clients: HttpClient[] = [];
  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "wait-until",
      baseUrl: origin.url,
      retry: false,
      onEvent: log.listener,
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
  });

  it("rejects a waitUntil that is not a function, on the client and on a request", async () => {
    configError(
      () => new HttpClient({ name: "a", waitUntil: "ctx" as never }),
      /^Cannot create HttpClient as 'waitUntil' must be a function/,
    );
    const c = client();
    await assert.rejects(
      c.get("/x", { waitUntil: {} as never }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.option, "waitUntil");
        assert.match(
          error.message,
          /^Cannot create request as 'waitUntil' must be a function/,
        );
        return true;
      },
    );
    await assert.rejects(
      c.fetch("/x", { waitUntil: 1 as never }),
      (error: unknown) =>
        error instanceof ConfigError && error.option === "waitUntil",
    );
    assert.throws(
      () => new HttpClient({ name: "a", waitUntl: () => {} } as never),
      /did you mean 'waitUntil'\?/,
    );
    assert.equal(origin.calls(), 0);
  });

  it("keeps a request's waitUntil out of the init its transport receives", async () => {
    const inits: RequestInit[] = [];
    origin.route("/plain", { body: "plain" });
    const c = client({
      fetch: (input, init) => {
        inits.push(init ?? {});
        return fetch(input, init);
      },
    });
    const { waitUntil } = recorder();
    const response = await c.fetch("/plain", { waitUntil });
    assert.equal(await response.text(), "plain");
    assert.equal(inits.length, 1);
    assert.equal("waitUntil" in inits[0]!, false);
  });

  it("hands a stale-while-revalidate revalidation to the request's waitUntil, settling once the new response is stored", async () => {
    const second = gate();
    origin.route("/swr", async (request) => {
      if (request.n === 2) await second.promise;
      return {
        body: `v${request.n}`,
        headers: { "cache-control": "max-age=0, stale-while-revalidate=600" },
      };
    });
    const c = client({ cache: { store: new MemoryCacheStore() } });
    assert.equal(await c.get("/swr"), "v1");
    const handed = recorder();
    assert.equal(await c.get("/swr", { waitUntil: handed.waitUntil }), "v1");
    assert.equal(handed.all.length, 1);
    let settled = false;
    handed.all[0]!.then(() => (settled = true));
    await until(() => origin.calls("/swr") === 2);
    assert.equal(settled, false);
    second.resolve();
    await settles(handed.all[0]!);
    assert.equal(log.of("cache.revalidated").length, 1);
    assert.equal(log.of("cache.stored").length, 2);
  });

  it("uses the client's waitUntil unless a request gives its own", async () => {
    origin.route("/swr-client", (request) => ({
      body: `v${request.n}`,
      headers: { "cache-control": "max-age=0, stale-while-revalidate=600" },
    }));
    const own = recorder();
    const c = client({
      cache: { store: new MemoryCacheStore() },
      waitUntil: own.waitUntil,
    });
    await c.get("/swr-client");
    // The miss's flight was handed over too.
    assert.equal(own.all.length, 1);
    await c.get("/swr-client");
    assert.equal(own.all.length, 2);
    await settles(Promise.all(own.all));
    const request = recorder();
    await c.get("/swr-client", { waitUntil: request.waitUntil });
    assert.equal(own.all.length, 2);
    assert.equal(request.all.length, 1);
    await settles(request.all[0]!);
    assert.equal(origin.calls("/swr-client"), 3);
  });

  it("reports a waitUntil that throws, and answers the request all the same", async () => {
    origin.route("/throws", { body: "fine" });
    const c = client();
    const failure = new Error("the request is over");
    assert.equal(
      await c.get("/throws", {
        waitUntil: () => {
          throw failure;
        },
      }),
      "fine",
    );
    const errors = log.of("error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.error, failure);
    assert.equal(errors[0]!.failedOpen, true);
  });

  describe("a flight whose caller has gone", () => {
    // The owner leaves while another caller still waits; a third arrives.
    async function scenario(
      options: Partial<HttpClientOptions>,
    ): Promise<{ late: unknown; joiner: unknown }> {
      const open = gate();
      origin.route("/gone", async (request) => {
        if (request.n === 1) await open.promise;
        return { body: `call ${request.n}` };
      });
      const c = client(options);
      const leave = new AbortController();
      const owner = c.get("/gone", { signal: leave.signal });
      const joiner = c.get("/gone");
      await until(() => origin.calls("/gone") === 1);
      leave.abort(new Error("left"));
      await assert.rejects(owner, { message: "left" });
      // It joins or starts a flight before get() returns.
      const late = c.get("/gone");
      open.resolve();
      return { late: await settles(late), joiner: await settles(joiner) };
    }

    it("is joined by no new caller without a waitUntil: where I/O belongs to its request, it would never end", async () => {
      const { late, joiner } = await scenario({});
      assert.equal(late, "call 2");
      // The caller that joined before the owner left keeps its answer.
      assert.equal(joiner, "call 1");
      assert.equal(origin.calls("/gone"), 2);
    });

    it("is joined when the client's waitUntil keeps it running", async () => {
      const { waitUntil, all } = recorder();
      const { late, joiner } = await scenario({ waitUntil });
      assert.equal(late, "call 1");
      assert.equal(joiner, "call 1");
      assert.equal(origin.calls("/gone"), 1);
      await settles(Promise.all(all));
    });
  });
});

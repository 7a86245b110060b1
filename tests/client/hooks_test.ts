import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  HttpError,
  MemoryCacheStore,
  MemoryRateLimitStore,
  type RetryContext,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { settles, until } from "./_helpers.ts";

class QuotaError extends Error {
  override name = "QuotaError";
}

describe("hooks", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];
  let gate: Promise<void> = Promise.resolve();

  before(async () => {
    origin = await startOrigin();
    origin.route("/me", (request) => ({
      body: { auth: request.headers.authorization ?? "none" },
      headers: { "cache-control": "max-age=60" },
    }));
    origin.route(
      "/flaky",
      (request) =>
        request.n === 1
          ? { status: 503, headers: { "retry-after": "0" } }
          : { body: { auth: request.headers.authorization ?? "none" } },
    );
    origin.route("/quota", async () => {
      await gate;
      return {
        body: { error: "quota exceeded" },
        headers: { "cache-control": "max-age=60" },
      };
    });
    origin.route("/busy", { status: 503 });
    origin.route("/bad", { status: 400, body: "bad" });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  function client(options: Partial<HttpClientOptions>): HttpClient {
    const c = new HttpClient({
      name: `hooks${clients.length}`,
      baseUrl: origin.url,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    });
    clients.push(c);
    return c;
  }

  it("runs beforeAttempt on every attempt, so a retry carries a fresh token", async () => {
    let issued = 0;
    const seen: number[] = [];
    const c = client({
      hooks: {
        beforeAttempt: ({ headers, attempt }) => {
          seen.push(attempt);
          headers.set("authorization", `Bearer token-${++issued}`);
        },
      },
    });
    const data = await settles(c.get<{ auth: string }>("/flaky"));
    assert.deepEqual(seen, [1, 2]);
    const sent = origin.requests("/flaky").map((r) => r.headers.authorization);
    assert.deepEqual(sent, ["Bearer token-1", "Bearer token-2"]);
    assert.equal(data.auth, "Bearer token-2");
  });

  it("runs no hook for a cache hit or a joiner, and keeps callers with different credentials apart", async () => {
    let runs = 0;
    const c = client({
      cache: { store: new MemoryCacheStore() },
      hooks: {
        // Refreshes whatever token the call carries, as a token refresher
        // of the same user would.
        beforeAttempt: ({ headers }) => {
          runs++;
          const current = headers.get("authorization");
          if (current !== null) {
            headers.set("authorization", `${current}-fresh`);
          }
        },
      },
    });
    const asAlice = { headers: { authorization: "Bearer alice" } };
    const asBob = { headers: { authorization: "Bearer bob" } };
    const [a1, a2] = await Promise.all([
      c.get<{ auth: string }>("/me", asAlice),
      c.get<{ auth: string }>("/me", asAlice),
    ]);
    const a3 = await c.get<{ auth: string }>("/me", asAlice);
    const b = await c.get<{ auth: string }>("/me", asBob);
    assert.equal(a1.auth, "Bearer alice-fresh");
    assert.deepEqual([a2, a3], [a1, a1]);
    assert.equal(b.auth, "Bearer bob-fresh");
    assert.equal(origin.calls("/me"), 2);
    assert.equal(runs, 2, "one hook run per request sent");
  });

  it("turns a 200 with an error body into the hook's error, stored for nobody and shared with no joiner as success", async () => {
    let release!: () => void;
    gate = new Promise((resolve) => release = resolve);
    const rateLimit = new MemoryRateLimitStore({
      defaultConfig: { limit: 100, windowMs: 60_000 },
    });
    const c = client({
      cache: { store: new MemoryCacheStore() },
      rateLimit: { store: rateLimit },
      hooks: {
        afterResponse: async ({ response }) => {
          const body = await response.json() as { error?: string };
          if (body.error !== undefined) throw new QuotaError(body.error);
        },
      },
    });
    const calls = [c.get("/quota"), c.get("/quota"), c.get("/quota")];
    const outcomes = Promise.allSettled(calls);
    await until(() => origin.calls("/quota") === 1);
    release();
    const settled = await settles(outcomes);
    for (const outcome of settled) {
      assert.equal(outcome.status, "rejected");
      assert.ok(
        (outcome as PromiseRejectedResult).reason instanceof QuotaError,
      );
    }
    assert.equal(
      origin.calls("/quota"),
      1,
      "the joiners shared the one request",
    );
    // Not stored: the next call asks the origin again.
    await assert.rejects(c.get("/quota"), QuotaError);
    assert.equal(origin.calls("/quota"), 2);
    // Only requests sent spent budget.
    const status = await rateLimit.getStatus(c.rateLimitResource("/quota"));
    assert.equal(status.limit - status.remaining, 2);
  });

  it("takes an error returned by afterResponse like one thrown", async () => {
    const c = client({
      hooks: {
        afterResponse: ({ response }) =>
          response.status === 200 ? new QuotaError("returned") : undefined,
      },
    });
    await assert.rejects(c.get("/me"), QuotaError);
    const response = await c.fetch("/bad");
    assert.equal(response.status, 400);
  });

  it("lets shouldRetry veto a retry and allow one the options leave alone", async () => {
    const contexts: RetryContext[] = [];
    const c = client({
      hooks: {
        shouldRetry: (context) => {
          contexts.push(context);
          if (context.status === 503) return false;
          if (context.status === 400) return true;
          return undefined;
        },
      },
    });
    await assert.rejects(c.get("/busy"), (e) => e instanceof HttpError);
    assert.equal(origin.calls("/busy"), 1, "vetoed");
    await assert.rejects(c.get("/bad"), (e) => e instanceof HttpError);
    assert.equal(origin.calls("/bad"), 3, "allowed, within retry.attempts");
    assert.deepEqual(contexts[0], {
      method: "GET",
      url: `${origin.url}/busy`,
      attempt: 1,
      status: 503,
      retry: true,
    });
    assert.equal(contexts[1]?.retry, false);
  });

  it("retries a hook's error only when shouldRetry asks", async () => {
    let failures = 0;
    const c = client({
      hooks: {
        afterResponse: () => {
          if (failures++ === 0) {
            throw new TypeError("looks like a network error");
          }
        },
        shouldRetry: ({ error }) =>
          error instanceof TypeError ? true : undefined,
      },
    });
    const data = await settles(c.get<{ auth: string }>("/me"));
    assert.equal(data.auth, "none");
    assert.equal(origin.calls("/me"), 2);

    const plain = client({
      hooks: {
        afterResponse: () => {
          throw new TypeError("not retried by default");
        },
      },
    });
    await assert.rejects(plain.get("/me"), TypeError);
    assert.equal(origin.calls("/me"), 3);
  });

  it("fails the call with what a hook threw, synchronously or not, and never leaves it unhandled", async () => {
    const sync = client({
      hooks: {
        beforeAttempt: () => {
          throw new QuotaError("before");
        },
      },
    });
    await assert.rejects(sync.get("/me"), { message: "before" });
    assert.equal(origin.calls("/me"), 0, "nothing was sent");
    const rejecting = client({
      hooks: { beforeAttempt: () => Promise.reject(new QuotaError("later")) },
    });
    await assert.rejects(rejecting.get("/me"), { message: "later" });
    const veto = client({
      hooks: {
        shouldRetry: () => {
          throw new QuotaError("deciding");
        },
      },
    });
    await assert.rejects(veto.get("/busy"), { message: "deciding" });
  });

  it("bounds a hook that never settles by the attempt's deadline", async () => {
    const c = client({
      retry: false,
      timeout: { attemptMs: 50 },
      hooks: { afterResponse: () => new Promise<void>(() => {}) },
    });
    await assert.rejects(settles(c.get("/me")), TimeoutError);
  });

  it("refuses hooks that are not functions, and unknown hooks", () => {
    assert.throws(
      () =>
        new HttpClient({
          name: "x",
          hooks: { beforeAttempt: 1 as unknown as () => void },
        }),
      (e) => e instanceof ConfigError && e.option === "hooks.beforeAttempt",
    );
    assert.throws(
      () =>
        new HttpClient({
          name: "x",
          hooks: { beforeAtempt: () => {} } as unknown as Record<string, never>,
        }),
      (e) => e instanceof ConfigError && /beforeAttempt/.test(e.message),
    );
  });
});

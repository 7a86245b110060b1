// The rate limit as the user sees it: a burst of concurrent requests through
// HttpClient with a memory store at its default options (no `marginMs`),
// checked at a loopback origin by its own clock. The origin's strict count
// is the guarantee: at most `limit` arrivals in any half-open window of
// `windowMs`, with no tolerance.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ConfigError,
  HttpClient,
  type HttpClientOptions,
  MemoryAdaptiveRateLimitStore,
  MemoryRateLimitStore,
  type Priority,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import {
  describeProbe,
  instantTransport,
  originArrivals,
  probe,
  type ProbeResult,
} from "../fixtures/origin_probe.ts";
import { assertWithinLimit, reportTiming } from "../fixtures/rate_window.ts";

describe("rate limits at the origin with memory stores and default options", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  const client = (
    options: Omit<HttpClientOptions, "name" | "retry">,
  ): HttpClient => {
    const c = new HttpClient({ name: "arrivals", retry: false, ...options });
    clients.push(c);
    return c;
  };

  /** Reports the figures, then checks the origin's count strictly. */
  const assertHeldAtOrigin = (
    what: string,
    result: ProbeResult,
    limit: number,
    windowMs: number,
  ): void => {
    const figures = describeProbe(what, result, limit, windowMs);
    reportTiming(figures);
    assert.deepEqual(result.errors, [], figures);
    assertWithinLimit(
      result.arrivals,
      limit,
      windowMs,
      `${figures}; arrivals`,
    );
  };

  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });

  it("MemoryRateLimitStore at 5 per 2000 ms: 15 concurrent GETs all succeed, and no 2 s of the origin's clock sees more than 5", async () => {
    const limit = 5;
    const windowMs = 2_000;
    origin.route("/plain", { body: "ok" });
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit, windowMs },
    });
    const result = await probe({
      client: client({ baseUrl: origin.url, rateLimit: { store } }),
      requests: Array.from({ length: 15 }, (_, i) => `/plain?i=${i}`),
      arrivals: originArrivals(origin, "/plain"),
      limit,
      windowMs,
    });
    assertHeldAtOrigin("memory 5/2000 x15", result, limit, windowMs);
    assert.equal(result.refused, 0, "refused within the default maxWaitMs");
    assert.equal(result.succeeded, 15);
    assert.equal(result.arrivals.length, 15);
    // Three batches need two windows; the limiter should not take twice that.
    assert.ok(result.budgetUse > 0.5, `budget use ${result.budgetUse}`);
  });

  it("MemoryAdaptiveRateLimitStore at 20 per 1000 ms: 100 concurrent GETs of 70 URLs, user and background, with 0-90 ms answers; no 1 s of the origin's clock sees more than 20, and every user request succeeds", async () => {
    const limit = 20;
    const windowMs = 1_000;
    const distinct = 70;
    origin.route("/adaptive", () => ({
      delayMs: Math.floor(Math.random() * 91),
      body: "ok",
    }));
    const store = new MemoryAdaptiveRateLimitStore({
      defaultConfig: { limit, windowMs },
    });
    const priorities: Priority[] = ["user", "background", "background"];
    // URL i and i + 70 are the same request; they join one flight, and
    // since 70 is not a multiple of 3 the pair often mixes priorities.
    const requests = Array.from({ length: 100 }, (_, i) => ({
      url: `/adaptive?u=${i % distinct}`,
      priority: priorities[i % 3]!,
    }));
    // A burst of user requests may pause background traffic until the
    // split is next computed (30 s by default): such a wait is longer than
    // maxWaitMs and refused. Users need at most two windows here.
    const result = await probe({
      client: client({
        baseUrl: origin.url,
        rateLimit: { store, maxWaitMs: 5_000 },
      }),
      requests,
      arrivals: originArrivals(origin, "/adaptive"),
      limit,
      windowMs,
    });
    assertHeldAtOrigin("adaptive 20/1000 x100", result, limit, windowMs);
    requests.forEach((request, i) => {
      const outcome = result.outcomes[i];
      if (request.priority === "user") {
        assert.equal(outcome, "ok", `user request ${i} was ${outcome}`);
      }
    });
    // Joiners of a flight spend no quota and make no origin call: each URL
    // reached the origin once if any of its callers got a response.
    const calls = new Map<string, number>();
    for (const arrival of origin.requests("/adaptive")) {
      calls.set(arrival.search, (calls.get(arrival.search) ?? 0) + 1);
    }
    for (let u = 0; u < distinct; u++) {
      const served = requests.some((request, i) =>
        request.url.endsWith(`?u=${u}`) && result.outcomes[i] === "ok"
      );
      assert.equal(calls.get(`?u=${u}`) ?? 0, served ? 1 : 0, `?u=${u}`);
    }
    assert.ok(result.budgetUse > 0.5, `budget use ${result.budgetUse}`);
  });

  // Windows of a few milliseconds can be neither filled (waiting requests
  // wake on timers of millisecond grain) nor held at an origin (requests
  // take milliseconds to get there): the stores refuse them and say how to
  // state the same rate.
  for (const [limit, windowMs, instead] of [[1, 1, 50], [5, 5, 50]] as const) {
    it(`MemoryRateLimitStore refuses ${limit} per ${windowMs} ms with a ConfigError that names the same rate over 50 ms`, () => {
      assert.throws(
        () => new MemoryRateLimitStore({ defaultConfig: { limit, windowMs } }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.option, "defaultConfig.windowMs");
          assert.match(error.message, /at least 50 ms/);
          assert.match(error.message, new RegExp(`${instead} per 50 ms`));
          return true;
        },
      );
      assert.throws(
        () =>
          new MemoryAdaptiveRateLimitStore({
            resourceConfigs: { r: { limit, windowMs } },
          }),
        ConfigError,
      );
    });
  }

  // The shortest windows accepted do not starve. These answer from an
  // in-process transport: at 50 ms the arrival check would measure a
  // loopback server's jitter. A perfect limiter needs 450 and 950 ms for
  // 500 requests: maxWaitMs leaves a threefold margin for a slow machine.
  for (const [limit, windowMs] of [[50, 50], [25, 50]] as const) {
    it(`MemoryRateLimitStore at ${limit} per ${windowMs} ms does not starve: 500 concurrent requests all pass within maxWaitMs 3000`, async () => {
      const transport = instantTransport();
      const store = new MemoryRateLimitStore({
        defaultConfig: { limit, windowMs },
      });
      const result = await probe({
        client: client({
          baseUrl: "http://tiny.test",
          fetch: transport.fetch,
          rateLimit: { store, maxWaitMs: 3_000 },
        }),
        requests: Array.from({ length: 500 }, (_, i) => `/tiny?i=${i}`),
        arrivals: transport.arrivals,
        limit,
        windowMs,
      });
      const figures = describeProbe(
        `memory ${limit}/${windowMs} x500`,
        result,
        limit,
        windowMs,
      );
      reportTiming(figures);
      assert.deepEqual(result.errors, [], figures);
      assert.equal(result.refused, 0, figures);
      assert.equal(result.succeeded, 500, figures);
      // Never more than the limit in a window, by the transport's clock.
      assertWithinLimit(result.arrivals, limit, windowMs, figures);
    });
  }
});

import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  createMetrics,
  HttpClient,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  type Metrics,
  type MetricsCounts,
  type MetricsSnapshot,
  OTHER_CLIENTS,
  OTHER_RESOURCES,
  RateLimitError,
  type RateLimitStore,
  type SluiceEvent,
  StoreError,
} from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, SteppedClock, until } from "../client/_helpers.ts";

const T0 = Date.UTC(2026, 0, 1);

/** The fields of an event about call `id` of client `client`. */
function call(id: string, client = "api") {
  return {
    client,
    time: T0,
    requestId: id,
    method: "GET",
    url: "https://api.example/items?id=REDACTED",
  };
}

/** One client's series of a snapshot; fails when there is none. */
function series(snapshot: MetricsSnapshot, client = "api") {
  const found = snapshot.clients.find((c) => c.client === client);
  assert.ok(found, `no series for ${client}`);
  return found;
}

/** Every count of an empty span of time. */
function zero(): MetricsCounts {
  return {
    calls: 0,
    responses: { network: 0, cache: 0, revalidated: 0, stale: 0, dedupe: 0 },
    failures: 0,
    originCalls: 0,
    backgroundOriginCalls: 0,
    hits: 0,
    staleServed: 0,
    misses: 0,
    revalidations: 0,
    notModified: 0,
    joins: 0,
    stored: 0,
    waits: { count: 0, totalMs: 0, p95Ms: 0, maxMs: 0 },
    rejections: 0,
    cooldowns: 0,
    retries: 0,
    storeErrors: 0,
    hitRatio: 0,
    originCallsSaved: 0,
    latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
  };
}

function feed(metrics: Metrics, events: SluiceEvent[]): void {
  for (const event of events) metrics.onEvent(event);
}

/** Asserts `actual` is within `relative` of `expected`. */
function near(actual: number, expected: number, relative = 0.1): void {
  assert.ok(
    Math.abs(actual - expected) <= expected * relative,
    `${actual} is not within ${relative * 100}% of ${expected}`,
  );
}

describe("createMetrics() options", () => {
  it("refuses bad options with a ConfigError naming the option", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ windowMs: 0 }, "windowMs"],
      [{ windowMs: -1 }, "windowMs"],
      [{ windowMs: Number.NaN }, "windowMs"],
      [{ windowMs: Infinity }, "windowMs"],
      [{ windowMs: "60000" }, "windowMs"],
      [{ windowMs: 5 }, "windowMs"],
      [{ maxClients: 0 }, "maxClients"],
      [{ maxClients: 1.5 }, "maxClients"],
      [{ maxResources: -3 }, "maxResources"],
      [{ recentErrors: -1 }, "recentErrors"],
      [{ recentErrors: 2.5 }, "recentErrors"],
      [{ clock: {} }, "clock"],
      [{ clock: null }, "clock"],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => createMetrics(options as never),
        (error: unknown) =>
          error instanceof ConfigError && error.option === option &&
          error.message.startsWith(`Cannot create Metrics as '${option}'`),
        JSON.stringify(options),
      );
    }
    assert.throws(() => createMetrics(null as never), ConfigError);
  });

  it("starts empty, at the clock's time, with the window it was given", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock, windowMs: 30_000 });
    clock.advance(5);
    assert.deepEqual(metrics.snapshot(), {
      time: T0 + 5,
      since: T0,
      windowMs: 30_000,
      clients: [],
      recentErrors: [],
    });
  });
});

describe("Metrics counts", () => {
  it("counts each field from the events that define it", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock });
    feed(metrics, [
      // r1: a miss, an origin call, stored.
      { type: "request", ...call("r1"), priority: "user" },
      { type: "cache.miss", ...call("r1"), key: "k", reason: "absent" },
      { type: "dedupe.owner", ...call("r1"), key: "k", scope: "process" },
      {
        type: "origin",
        ...call("r1"),
        attempt: 1,
        status: 200,
        durationMs: 30,
        conditional: false,
        background: false,
        resource: "api:rl:items",
      },
      {
        type: "cache.stored",
        ...call("r1"),
        key: "k",
        ttlSeconds: 60,
        bytes: 9,
      },
      {
        type: "response",
        ...call("r1"),
        status: 200,
        source: "network",
        durationMs: 40,
        attempts: 1,
      },
      // r2: joins r1's flight.
      { type: "request", ...call("r2"), priority: "user" },
      { type: "cache.miss", ...call("r2"), key: "k", reason: "absent" },
      {
        type: "dedupe.joined",
        ...call("r2"),
        key: "k",
        scope: "process",
        waitedMs: 30,
        ownerRequestId: "r1",
      },
      {
        type: "response",
        ...call("r2"),
        status: 200,
        source: "dedupe",
        durationMs: 35,
        attempts: 0,
        ownerRequestId: "r1",
      },
      // r3: a fresh hit.
      { type: "request", ...call("r3"), priority: "background" },
      { type: "cache.hit", ...call("r3"), key: "k", ageMs: 5 },
      {
        type: "response",
        ...call("r3"),
        status: 200,
        source: "cache",
        durationMs: 0.2,
        attempts: 0,
      },
      // r4: stale, served while revalidated in the background (304).
      { type: "request", ...call("r4"), priority: "user" },
      {
        type: "cache.stale",
        ...call("r4"),
        key: "k",
        ageMs: 70_000,
        action: "serve-and-revalidate",
      },
      {
        type: "response",
        ...call("r4"),
        status: 200,
        source: "stale",
        durationMs: 0.3,
        attempts: 0,
      },
      {
        type: "origin",
        ...call("r4"),
        attempt: 1,
        status: 304,
        durationMs: 20,
        conditional: true,
        background: true,
        resource: "api:rl:items",
      },
      {
        type: "cache.revalidated",
        ...call("r4"),
        key: "k",
        status: 304,
        background: true,
        durationMs: 21,
      },
      // r5: stale, revalidated in the foreground (200), after a 503 retried
      // and a wait for budget.
      { type: "request", ...call("r5"), priority: "user" },
      {
        type: "cache.stale",
        ...call("r5"),
        key: "k",
        ageMs: 70_000,
        action: "revalidate",
      },
      {
        type: "ratelimit.wait",
        ...call("r5"),
        resource: "api:rl:items",
        priority: "user",
        waitMs: 100,
      },
      {
        type: "origin",
        ...call("r5"),
        attempt: 1,
        status: 503,
        durationMs: 10,
        conditional: true,
        background: false,
        resource: "api:rl:items",
      },
      {
        type: "retry",
        ...call("r5"),
        attempt: 1,
        delayMs: 50,
        status: 503,
      },
      {
        type: "ratelimit.wait",
        ...call("r5"),
        resource: "api:rl:items",
        priority: "user",
        waitMs: 60,
      },
      {
        type: "origin",
        ...call("r5"),
        attempt: 2,
        status: 200,
        durationMs: 10,
        conditional: true,
        background: false,
        resource: "api:rl:items",
      },
      {
        type: "cache.revalidated",
        ...call("r5"),
        key: "k",
        status: 200,
        background: false,
        durationMs: 12,
      },
      {
        type: "cooldown",
        ...call("r5"),
        resource: "api:rl:items",
        cooldownMs: 1_000,
        action: "set",
      },
      {
        type: "response",
        ...call("r5"),
        status: 200,
        source: "revalidated",
        durationMs: 240,
        attempts: 2,
      },
      // r6: refused for want of budget.
      { type: "request", ...call("r6"), priority: "background" },
      { type: "cache.miss", ...call("r6"), key: "k6", reason: "bypass" },
      {
        type: "cooldown",
        ...call("r6"),
        resource: "api:rl:items",
        cooldownMs: 900,
        action: "wait",
      },
      {
        type: "ratelimit.rejected",
        ...call("r6"),
        resource: "api:rl:items",
        priority: "background",
        retryAfterMs: 900,
        reason: "cooldown",
      },
      {
        type: "error",
        ...call("r6"),
        stage: "ratelimit",
        failedOpen: false,
        error: new RateLimitError("refused", "api:rl:items", 900),
      },
      // A cache store failure the client carried on through.
      {
        type: "error",
        client: "api",
        time: T0,
        stage: "cache",
        failedOpen: true,
        error: new StoreError("down", "memory", "get"),
      },
      // Not counted.
      { type: "cache.skipped", ...call("r6"), key: "k6", reason: "too-large" },
    ]);
    const { window, total, resources } = series(metrics.snapshot());
    assert.deepEqual(window, total, "all in the window");
    const { latency, waits, ...counts } = total;
    const { latency: _latency, waits: _waits, ...expected } = zero();
    assert.deepEqual(counts, {
      ...expected,
      calls: 6,
      responses: { network: 1, cache: 1, revalidated: 1, stale: 1, dedupe: 1 },
      failures: 1,
      originCalls: 4,
      backgroundOriginCalls: 1,
      hits: 1,
      staleServed: 1,
      misses: 3,
      revalidations: 2,
      notModified: 1,
      joins: 1,
      stored: 1,
      rejections: 1,
      cooldowns: 1,
      retries: 1,
      storeErrors: 1,
      // hit + stale served, over hit + 2 stale found + 3 misses.
      hitRatio: 2 / 6,
      originCallsSaved: 3,
    });
    // r5's two waits are one call's wait.
    assert.deepEqual(waits, { count: 1, totalMs: 160, p95Ms: 160, maxMs: 160 });
    assert.equal(latency.count, 5);
    assert.equal(latency.maxMs, 240);
    near(latency.meanMs, (40 + 35 + 0.2 + 0.3 + 240) / 5, 1e-9);
    near(latency.p50Ms, 35);
    near(latency.p99Ms, 240);
    assert.ok(latency.p99Ms <= 240);
    assert.deepEqual(resources, [{
      resource: "api:rl:items",
      originCalls: 4,
      waits: 2,
      waitedMs: 160,
      rejections: 1,
      cooldowns: 1,
      cooldownUntil: T0 + 1_000,
    }]);
  });

  it("counts a stale entry served after an error once in the hit ratio", () => {
    const metrics = createMetrics({ clock: new ManualClock(T0) });
    feed(metrics, [
      { type: "request", ...call("r1"), priority: "user" },
      {
        type: "cache.stale",
        ...call("r1"),
        key: "k",
        ageMs: 1,
        action: "revalidate",
      },
      {
        type: "error",
        ...call("r1"),
        stage: "fetch",
        failedOpen: true,
        error: new TypeError("fetch failed"),
      },
      {
        type: "cache.stale",
        ...call("r1"),
        key: "k",
        ageMs: 1,
        action: "serve-on-error",
      },
      {
        type: "response",
        ...call("r1"),
        status: 200,
        source: "stale",
        durationMs: 3,
        attempts: 1,
      },
    ]);
    const { total } = series(metrics.snapshot());
    assert.equal(total.staleServed, 1);
    assert.equal(total.hitRatio, 1);
    assert.equal(total.originCallsSaved, 1);
    assert.equal(total.failures, 0);
    assert.equal(total.storeErrors, 0, "a network error is no store failure");
  });

  it("counts a rate-limit store that failed closed once, as a store failure and a failed call", () => {
    const metrics = createMetrics({ clock: new ManualClock(T0) });
    const cause = new Error("connection refused");
    feed(metrics, [
      { type: "request", ...call("r1"), priority: "user" },
      {
        type: "ratelimit.wait",
        ...call("r1"),
        resource: "api:rl",
        priority: "user",
        waitMs: 20,
      },
      // The store's failure, then the error the call ends with.
      {
        type: "error",
        ...call("r1"),
        stage: "ratelimit",
        failedOpen: false,
        error: cause,
      },
      {
        type: "error",
        ...call("r1"),
        stage: "ratelimit",
        failedOpen: false,
        error: new StoreError("Cannot admit", "unknown", "acquire", { cause }),
      },
    ]);
    const snapshot = metrics.snapshot();
    const { total } = series(snapshot);
    assert.equal(total.failures, 1);
    assert.equal(total.storeErrors, 1);
    assert.equal(total.waits.count, 1, "the failed call's wait counts");
    assert.deepEqual(
      snapshot.recentErrors.map((e) => e.name),
      ["StoreError", "Error"],
    );
  });

  it("adds up a call's waits when it ends, and bounds the calls it waits for", () => {
    const metrics = createMetrics({ clock: new ManualClock(T0) });
    const wait = (id: string, waitMs: number): SluiceEvent => ({
      type: "ratelimit.wait",
      ...call(id),
      resource: "api:rl",
      priority: "user",
      waitMs,
    });
    feed(metrics, [wait("a", 100), wait("a", 50), wait("b", 10)]);
    assert.equal(series(metrics.snapshot()).total.waits.count, 0);
    metrics.onEvent({
      type: "response",
      ...call("a"),
      status: 200,
      source: "network",
      durationMs: 160,
      attempts: 1,
    });
    assert.deepEqual(series(metrics.snapshot()).total.waits, {
      count: 1,
      totalMs: 150,
      p95Ms: 150,
      maxMs: 150,
    });
    metrics.onEvent({
      type: "error",
      ...call("b"),
      stage: "fetch",
      failedOpen: false,
      error: new Error("reset"),
    });
    assert.equal(series(metrics.snapshot()).total.waits.count, 2);
    // Calls that never end: past 10 000 of them, the oldest counts as it
    // stands.
    for (let i = 0; i < 10_000; i++) metrics.onEvent(wait(`x${i}`, 1));
    assert.equal(series(metrics.snapshot()).total.waits.count, 2);
    metrics.onEvent(wait("y", 1));
    assert.equal(series(metrics.snapshot()).total.waits.count, 3);
    // A call still pending ends once.
    metrics.onEvent({
      type: "response",
      ...call("x1"),
      status: 200,
      source: "network",
      durationMs: 1,
      attempts: 1,
    });
    assert.equal(series(metrics.snapshot()).total.waits.count, 4);
  });

  it("reads percentiles within 10% of the exact values, never above the largest", () => {
    const metrics = createMetrics({ clock: new ManualClock(T0) });
    for (let i = 1; i <= 1_000; i++) {
      metrics.onEvent({
        type: "response",
        ...call(`r${i}`),
        status: 200,
        source: "network",
        durationMs: i,
        attempts: 1,
      });
      metrics.onEvent({
        type: "ratelimit.wait",
        ...call(`w${i}`),
        resource: "api:rl",
        priority: "user",
        waitMs: i * 10,
      });
      metrics.onEvent({
        type: "error",
        ...call(`w${i}`),
        stage: "fetch",
        failedOpen: false,
        error: new Error("x"),
      });
    }
    const { latency, waits } = series(metrics.snapshot()).window;
    assert.equal(latency.count, 1_000);
    assert.equal(latency.meanMs, 500.5);
    assert.equal(latency.maxMs, 1_000);
    near(latency.p50Ms, 500);
    near(latency.p95Ms, 950);
    near(latency.p99Ms, 990);
    assert.ok(latency.p99Ms <= 1_000);
    assert.equal(waits.count, 1_000);
    assert.equal(waits.totalMs, 5_005_000);
    near(waits.p95Ms, 9_500);
    assert.equal(waits.maxMs, 10_000);
    // Sub-millisecond hits and a single value.
    const one = createMetrics({ clock: new ManualClock(T0) });
    one.onEvent({
      type: "response",
      ...call("h"),
      status: 200,
      source: "cache",
      durationMs: 0.05,
      attempts: 0,
    });
    const hit = series(one.snapshot()).total.latency;
    assert.equal(hit.p50Ms, 0.05);
    assert.equal(hit.p99Ms, 0.05);
  });

  it("rolls events off the window as the clock moves, while the totals stay", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock, windowMs: 10_000 });
    const hit = (id: string): SluiceEvent => ({
      type: "cache.hit",
      ...call(id),
      key: "k",
      ageMs: 0,
    });
    metrics.onEvent(hit("a"));
    clock.advance(4_000);
    metrics.onEvent(hit("b"));
    metrics.onEvent(hit("c"));
    clock.advance(5_000); // T0 + 9 000: both still in the window
    let s = series(metrics.snapshot());
    assert.equal(s.window.hits, 3);
    clock.advance(1_000); // T0 + 10 000: the first slice is gone
    s = series(metrics.snapshot());
    assert.equal(s.window.hits, 2);
    assert.equal(s.total.hits, 3);
    clock.advance(4_000); // T0 + 14 000: the second too
    s = series(metrics.snapshot());
    assert.deepEqual(s.window, zero());
    assert.equal(s.total.hits, 3);
    // A new event lands in a fresh slice; a long silence is crossed at once.
    metrics.onEvent(hit("d"));
    assert.equal(series(metrics.snapshot()).window.hits, 1);
    clock.advance(86_400_000);
    assert.equal(series(metrics.snapshot()).window.hits, 0);
    // A clock that moves back does not bring old slices back.
    clock.set(T0);
    assert.equal(series(metrics.snapshot()).window.hits, 0);
    assert.equal(series(metrics.snapshot()).total.hits, 4);
  });

  it("keeps scopes as separate series, in the order first seen", () => {
    const metrics = createMetrics({ clock: new ManualClock(T0) });
    for (const client of ["api", "api:tenant=t_1", "api", "api:tenant=t_2"]) {
      metrics.onEvent({
        type: "request",
        ...call("r", client),
        priority: "user",
      });
    }
    const snapshot = metrics.snapshot();
    assert.deepEqual(
      snapshot.clients.map((c) => [c.client, c.total.calls]),
      [["api", 2], ["api:tenant=t_1", 1], ["api:tenant=t_2", 1]],
    );
  });

  it("adds up clients past maxClients and resources past maxResources under a shared series", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock, maxClients: 2, maxResources: 2 });
    for (const client of ["a", "b", "c", "d", "a"]) {
      metrics.onEvent({
        type: "request",
        ...call("r", client),
        priority: "user",
      });
    }
    for (const resource of ["r1", "r2", "r3", "r4", "r1"]) {
      clock.advance(1);
      metrics.onEvent({
        type: "ratelimit.rejected",
        ...call("x", "a"),
        resource,
        priority: "user",
        retryAfterMs: 10,
        reason: "limit",
      });
    }
    const snapshot = metrics.snapshot();
    assert.deepEqual(
      snapshot.clients.map((c) => [c.client, c.total.calls]),
      [["a", 2], ["b", 1], [OTHER_CLIENTS, 2]],
    );
    assert.deepEqual(
      series(snapshot, "a").resources.map((r) => [r.resource, r.rejections]),
      [["r1", 2], [OTHER_RESOURCES, 2], ["r2", 1]],
      "most recently used first",
    );
  });

  it("keeps recent errors newest first, with name, code and a cut message, never the error", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock, recentErrors: 3 });
    const long = "x".repeat(299) + "😀" + "y".repeat(500);
    const errors: unknown[] = [
      new TypeError("fetch failed"),
      new StoreError(long, "memory", "get"),
      "a thrown string",
      { name: 42, message: { nested: true } },
    ];
    errors.forEach((error, i) =>
      metrics.onEvent({
        type: "error",
        ...call(`e${i}`),
        time: T0 + i,
        stage: i === 1 ? "cache" : "fetch",
        failedOpen: i === 1,
        error,
      })
    );
    const { recentErrors } = metrics.snapshot();
    assert.deepEqual(recentErrors, [
      {
        time: T0 + 3,
        client: "api",
        requestId: "e3",
        method: "GET",
        url: "https://api.example/items?id=REDACTED",
        stage: "fetch",
        failedOpen: false,
        name: "Error",
        message: "",
      },
      {
        time: T0 + 2,
        client: "api",
        requestId: "e2",
        method: "GET",
        url: "https://api.example/items?id=REDACTED",
        stage: "fetch",
        failedOpen: false,
        name: "Error",
        message: "a thrown string",
      },
      {
        time: T0 + 1,
        client: "api",
        requestId: "e1",
        method: "GET",
        url: "https://api.example/items?id=REDACTED",
        stage: "cache",
        failedOpen: true,
        name: "StoreError",
        code: "ERR_STORE",
        message: "x".repeat(299),
      },
    ]);
    assert.ok(!JSON.stringify(recentErrors).includes("stack"));
    assert.ok(!JSON.stringify(recentErrors).includes("at "));
  });

  it("returns fresh plain objects that survive JSON, and forgets everything on reset", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock });
    feed(metrics, [
      { type: "request", ...call("r1"), priority: "user" },
      {
        type: "response",
        ...call("r1"),
        status: 200,
        source: "network",
        durationMs: 12.5,
        attempts: 1,
      },
      {
        type: "cooldown",
        ...call("r1"),
        resource: "api:rl",
        cooldownMs: 500,
        action: "set",
      },
      {
        type: "error",
        ...call("r1"),
        stage: "cache",
        failedOpen: true,
        error: new Error("down"),
      },
    ]);
    const first = metrics.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(first)), first);
    series(first).total.calls = 99;
    series(first).resources.length = 0;
    first.recentErrors[0]!.message = "changed";
    const second = metrics.snapshot();
    assert.equal(series(second).total.calls, 1);
    assert.equal(series(second).resources.length, 1);
    assert.equal(second.recentErrors[0]!.message, "down");
    clock.advance(10);
    metrics.reset();
    assert.deepEqual(metrics.snapshot(), {
      time: T0 + 10,
      since: T0 + 10,
      windowMs: 60_000,
      clients: [],
      recentErrors: [],
    });
  });

  it("never throws on malformed events or a failing clock, and ignores what it cannot use", () => {
    let broken = false;
    const clock = {
      t: T0,
      now(): number {
        if (broken) throw new Error("clock down");
        return this.t;
      },
    };
    const metrics = createMetrics({ clock });
    const hostile = new Proxy({}, {
      get() {
        throw new Error("no reading");
      },
    });
    const throwingError = {
      get name(): string {
        throw new Error("no name");
      },
      message: "readable",
    };
    const inputs: unknown[] = [
      undefined,
      null,
      42,
      "response",
      [],
      {},
      hostile,
      { type: "request" },
      { type: "request", client: 7 },
      { type: "nope", client: "api" },
      { type: "response", client: "api", durationMs: "slow", source: "moon" },
      { type: "response", client: "api", durationMs: -1 },
      { type: "response", client: "api", durationMs: Number.NaN },
      { type: "response", client: "api", durationMs: Infinity },
      { type: "ratelimit.wait", client: "api", waitMs: Number.NaN },
      { type: "ratelimit.wait", client: "api", waitMs: 5, resource: {} },
      { type: "cooldown", client: "api", action: "set", cooldownMs: "x" },
      { type: "error", client: "api", stage: "disk", failedOpen: true },
      { type: "error", client: "api", stage: "fetch" },
      {
        type: "error",
        client: "api",
        time: "yesterday",
        stage: "fetch",
        failedOpen: false,
        error: throwingError,
      },
      {
        type: "error",
        client: "api",
        stage: "fetch",
        failedOpen: true,
        error: hostile,
      },
      {
        type: "error",
        client: "api",
        stage: "fetch",
        failedOpen: true,
        error: Symbol("s"),
      },
    ];
    for (const input of inputs) metrics.onEvent(input as SluiceEvent);
    broken = true;
    metrics.onEvent({ type: "request", ...call("r"), priority: "user" });
    const snapshot = metrics.snapshot();
    broken = false;
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    const { total } = series(snapshot);
    assert.equal(total.responses.network + total.responses.cache, 0);
    assert.equal(total.latency.count, 0, "no duration to measure");
    assert.equal(total.failures, 1);
    assert.equal(total.waits.count, 1, "the wait with no call counts alone");
    assert.deepEqual(
      snapshot.recentErrors.map((e) => [e.name, e.message, e.time]),
      [["Error", "Symbol(s)", T0], ["Error", "", T0], [
        "Error",
        "readable",
        T0,
      ]],
    );
  });

  it("stays bounded over 100 000 events across 10 000 URLs and 1 000 scopes", () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock, maxClients: 100, maxResources: 50 });
    let events = 0;
    for (let i = 0; i < 20_000; i++) {
      const client = `api:tenant=t_${i % 1_000}`;
      const id = `r${i}`;
      const url = `https://api.example/items/${i % 10_000}`;
      const resource = `${client}:rl:${url}`;
      const fields = {
        client,
        time: clock.now(),
        requestId: id,
        method: "GET",
        url,
      };
      feed(metrics, [
        { type: "request", ...fields, priority: "user" },
        {
          type: "ratelimit.wait",
          ...fields,
          resource,
          priority: "user",
          waitMs: 3,
        },
        {
          type: "origin",
          ...fields,
          attempt: 1,
          status: 500,
          durationMs: 5,
          conditional: false,
          background: false,
          resource,
        },
        {
          type: "error",
          ...fields,
          stage: "fetch",
          failedOpen: false,
          error: new Error(`failed ${url}`),
        },
        { type: "cache.miss", ...fields, key: `k${i}`, reason: "absent" },
      ]);
      events += 5;
      clock.advance(1);
    }
    assert.equal(events, 100_000);
    const snapshot = metrics.snapshot();
    assert.equal(snapshot.clients.length, 101);
    assert.equal(snapshot.clients.at(-1)!.client, OTHER_CLIENTS);
    for (const s of snapshot.clients) {
      assert.ok(
        s.resources.length <= 51,
        `${s.client} has ${s.resources.length}`,
      );
    }
    assert.equal(series(snapshot, OTHER_CLIENTS).resources.length, 51);
    assert.equal(snapshot.recentErrors.length, 20);
    const calls = snapshot.clients.reduce((n, s) => n + s.total.calls, 0);
    const origin = snapshot.clients.reduce(
      (n, s) => n + s.total.originCalls,
      0,
    );
    const waits = snapshot.clients.reduce((n, s) => n + s.total.waits.count, 0);
    assert.deepEqual([calls, origin, waits], [20_000, 20_000, 20_000]);
    assert.ok(JSON.stringify(snapshot).length < 1_000_000);
  });
});

describe("Metrics of a real client", () => {
  let origin: Origin;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/burst", {
      body: { ok: true },
      headers: { "cache-control": "max-age=60" },
      delayMs: 50,
    });
    origin.route("/item", (req) => ({ body: { path: req.search } }));
    origin.route("/gone", { destroy: true });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });
  beforeEach(() => origin.resetCounts());

  it("tells how many origin calls the cache and de-duplication saved in a burst", async () => {
    const metrics = createMetrics();
    const client = new HttpClient({
      name: "burst",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      dedupe: { store: new MemoryDedupeStore() },
      rateLimit: { store: new MemoryRateLimitStore() },
      onEvent: metrics.onEvent,
    });
    clients.push(client);
    await Promise.all(Array.from({ length: 20 }, () => client.get("/burst")));
    for (let i = 0; i < 10; i++) await client.get("/burst");
    const arrivals = origin.calls("/burst");
    assert.equal(arrivals, 1);
    const { total, window } = series(metrics.snapshot(), "burst");
    assert.deepEqual(window, total);
    assert.equal(total.calls, 30);
    assert.equal(total.joins, 19);
    assert.equal(total.hits, 10);
    assert.deepEqual(total.responses, {
      network: 1,
      cache: 10,
      revalidated: 0,
      stale: 0,
      dedupe: 19,
    });
    assert.equal(total.originCallsSaved, 29);
    assert.equal(total.originCalls, arrivals);
    assert.equal(total.calls - arrivals, total.originCallsSaved);
    assert.equal(total.stored, 1);
    assert.equal(total.failures, 0);
    assert.equal(total.latency.count, 30);
    assert.ok(total.latency.maxMs >= 40, "the owner waited for the origin");
    // Two thirds of the calls waited for the one origin call.
    assert.ok(total.latency.p50Ms >= 36, `p50 ${total.latency.p50Ms}`);
    assert.ok(total.latency.p99Ms <= total.latency.maxMs);
    assert.ok(total.hitRatio > 0 && total.hitRatio < 1);
  });

  it("counts origin calls as the origin saw them: retries and background revalidations included", async () => {
    const clock = new ManualClock(T0);
    const metrics = createMetrics({ clock });
    origin.route(
      "/flaky",
      (req) => req.n === 1 ? { status: 503 } : { body: "ok" },
    );
    origin.route("/swr", (req) => ({
      body: `v${req.n}`,
      headers: {
        "cache-control": "max-age=1, stale-while-revalidate=60",
        etag: '"v"',
      },
      conditional: true,
    }));
    const store = new MemoryRateLimitStore({ clock });
    const client = new HttpClient({
      name: "origin",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      rateLimit: { store },
      retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
      clock,
      onEvent: metrics.onEvent,
    });
    clients.push(client);
    assert.equal(await client.get("/flaky"), "ok");
    assert.equal(await client.get("/swr"), "v1");
    clock.advance(5_000);
    assert.equal(await client.get("/swr"), "v1", "stale, served at once");
    await until(() =>
      series(metrics.snapshot(), "origin").total.revalidations === 1
    );
    const arrivals = origin.calls("/flaky") + origin.calls("/swr");
    assert.equal(arrivals, 4);
    const { total, resources } = series(metrics.snapshot(), "origin");
    assert.equal(total.originCalls, arrivals);
    assert.equal(total.backgroundOriginCalls, 1);
    assert.equal(total.retries, 1);
    assert.equal(total.staleServed, 1);
    assert.equal(total.notModified, 1);
    assert.equal(total.calls, 3);
    assert.equal(
      resources.reduce((n, r) => n + r.originCalls, 0),
      arrivals,
      "every origin call was admitted on a resource",
    );
  });

  it("measures each call's wait for budget with a real rate-limit store", async () => {
    const clock = new SteppedClock(T0);
    const metrics = createMetrics({ clock });
    const log = new EventLog();
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 2, windowMs: 1_000 },
      clock,
    });
    const client = new HttpClient({
      name: "waits",
      baseUrl: origin.url,
      rateLimit: { store },
      retry: false,
      clock,
      onEvent: (event) => {
        log.listener(event);
        metrics.onEvent(event);
      },
    });
    clients.push(client);
    await drive(
      clock,
      Promise.all(
        Array.from({ length: 5 }, (_, i) => client.get(`/item?i=${i}`)),
      ),
      2_000,
    );
    assert.equal(origin.calls("/item"), 5);
    const waited = log.of("ratelimit.wait");
    const perCall = new Map<string, number>();
    for (const w of waited) {
      perCall.set(w.requestId, (perCall.get(w.requestId) ?? 0) + w.waitMs);
    }
    assert.equal(perCall.size, 3, "two admitted at once, three waited");
    const { total, resources } = series(metrics.snapshot(), "waits");
    const sum = [...perCall.values()].reduce((a, b) => a + b, 0);
    assert.equal(total.waits.count, 3);
    assert.equal(total.waits.totalMs, sum);
    assert.equal(total.waits.maxMs, Math.max(...perCall.values()));
    assert.ok(total.waits.maxMs >= 1_000, "the fifth waited two windows");
    assert.ok(total.waits.p95Ms <= total.waits.maxMs);
    assert.equal(resources.length, 1);
    assert.equal(resources[0]!.resource, client.rateLimitResource("/item"));
    assert.equal(resources[0]!.waits, waited.length);
    assert.equal(resources[0]!.waitedMs, sum);
  });

  it("counts a scope's calls apart from its client's", async () => {
    const metrics = createMetrics();
    const client = new HttpClient({
      name: "scoped",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      onEvent: metrics.onEvent,
    });
    clients.push(client);
    const tenant = client.scope("tenant", "t_1");
    await client.get("/item?a");
    await tenant.get("/item?a");
    await tenant.get("/item?b");
    const snapshot = metrics.snapshot();
    assert.equal(snapshot.clients.length, 2);
    const [root, scope] = snapshot.clients;
    assert.equal(root!.client, "scoped");
    assert.equal(root!.total.calls, 1);
    assert.ok(scope!.client.startsWith("scoped:"));
    assert.equal(scope!.total.calls, 2);
    assert.equal(origin.calls("/item"), 3);
  });

  it("counts a rate-limit store that is down once per call, open or closed", async () => {
    const metrics = createMetrics();
    const down = new Error("store down");
    const store = {
      ...new MemoryRateLimitStore(),
      acquire: () => Promise.reject(down),
      getWaitTime: () => Promise.reject(down),
      getCooldown: () => Promise.reject(down),
      setCooldown: () => Promise.reject(down),
    } as unknown as RateLimitStore;
    const log = new EventLog();
    const options = {
      baseUrl: origin.url,
      retry: false as const,
      onEvent: (event: SluiceEvent) => {
        log.listener(event);
        metrics.onEvent(event);
      },
    };
    const open = new HttpClient({
      name: "open",
      rateLimit: { store },
      ...options,
    });
    const closed = new HttpClient({
      name: "closed",
      rateLimit: { store, failOpen: false },
      ...options,
    });
    clients.push(open, closed);
    await open.get("/item?open");
    await assert.rejects(closed.get("/item?closed"), StoreError);
    const snapshot = metrics.snapshot();
    const opened = series(snapshot, "open").total;
    assert.equal(opened.failures, 0);
    assert.equal(opened.responses.network, 1);
    assert.equal(
      opened.storeErrors,
      log.of("error").filter((e) => e.client === "open").length,
    );
    assert.ok(opened.storeErrors >= 1);
    // Failing closed, the call's own error event is the one report.
    assert.equal(
      log.of("error").filter((e) => e.client === "closed" && !e.failedOpen)
        .length,
      1,
    );
    const refused = series(snapshot, "closed").total;
    assert.equal(refused.calls, 1);
    assert.equal(refused.failures, 1);
    assert.equal(refused.storeErrors, 1);
    assert.equal(refused.originCalls, 0);
  });

  it("counts failures and refusals, and keeps what the errors said", async () => {
    const metrics = createMetrics();
    const store = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
    });
    const client = new HttpClient({
      name: "fails",
      baseUrl: origin.url,
      rateLimit: { store, throwOnLimit: true },
      retry: false,
      onEvent: metrics.onEvent,
    });
    clients.push(client);
    await assert.rejects(client.get("/gone"), TypeError);
    await assert.rejects(client.get("/gone"), RateLimitError);
    const snapshot = metrics.snapshot();
    const { total } = series(snapshot, "fails");
    assert.equal(total.calls, 2);
    assert.equal(total.failures, 2);
    assert.equal(total.rejections, 1);
    assert.equal(total.storeErrors, 0, "a refusal is no store failure");
    assert.deepEqual(
      snapshot.recentErrors.map((e) => [e.stage, e.failedOpen, e.name]),
      [["ratelimit", false, "RateLimitError"], ["fetch", false, "TypeError"]],
    );
    assert.equal(snapshot.recentErrors[0]!.code, "ERR_RATE_LIMIT");
    assert.equal(snapshot.recentErrors[1]!.url, `${origin.url}/gone`);
  });
});

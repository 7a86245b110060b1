import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DedupeRegistration,
  type DedupeStore,
  HttpClient,
  type HttpClientOptions,
  MemoryCacheStore,
  MemoryDedupeStore,
  StoreError,
  TimeoutError,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { delay, drive, EventLog, SteppedClock, until } from "./_helpers.ts";

// A view of a store with some methods replaced; the rest reach the store.
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(store, name) {
      if (Object.hasOwn(overrides, name)) {
        return overrides[name as keyof T];
      }
      const value = Reflect.get(store, name, store);
      return typeof value === "function" ? value.bind(store) : value;
    },
  });
}

// A promise with its resolver, to order steps across clients.
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("HttpClient de-duplication", () => {
  let origin: Origin;
  let log: EventLog;
  const clients: HttpClient[] = [];
  const stores: { close(): Promise<void> }[] = [];

  const client = (options: Partial<HttpClientOptions> = {}): HttpClient => {
    const c = new HttpClient({
      name: "dedupe",
      baseUrl: origin.url,
      onEvent: log.listener,
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
    for (const s of stores) await s.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    log = new EventLog();
  });

  it("makes one origin call for 500 concurrent identical GETs", async () => {
    origin.route("/popular", {
      body: { hits: 1 },
      headers: { "cache-control": "max-age=60" },
      delayMs: 20,
    });
    const c = client({ cache: { store: new MemoryCacheStore() } });
    const results = await Promise.all(
      Array.from({ length: 500 }, () => c.get<{ hits: number }>("/popular")),
    );
    assert.equal(origin.calls("/popular"), 1);
    assert.ok(results.every((r) => r.hits === 1));
    results[0]!.hits = 99;
    assert.equal(results[1]!.hits, 1);
    assert.equal(log.of("dedupe.owner").length, 1);
    assert.equal(log.of("dedupe.joined").length, 499);
  });

  it("hands every caller of one flight its own data, down to nested arrays, whatever the others do with theirs", async () => {
    origin.route("/nested", {
      body: { user: { tags: ["a", "b"] }, list: [{ n: 1 }] },
      delayMs: 20,
    });
    const dedupe = new MemoryDedupeStore();
    stores.push(dedupe);
    const c = client({ dedupe: { store: dedupe } });
    type Data = { user: { tags: string[] }; list: { n: number }[] };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => c.get<Data>("/nested")),
    );
    assert.equal(origin.calls("/nested"), 1);
    results.forEach((data, i) => {
      data.user.tags.push(`caller-${i}`);
      data.list[0]!.n += i;
    });
    results.forEach((data, i) => {
      assert.deepEqual(data, {
        user: { tags: ["a", "b", `caller-${i}`] },
        list: [{ n: 1 + i }],
      });
    });
  });

  it("de-duplicates without a cache, and each caller gets its own Response", async () => {
    origin.route("/plain", { body: "shared", delayMs: 20 });
    const c = client();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => c.fetch("/plain")),
    );
    const texts = await Promise.all(responses.map((r) => r.text()));
    assert.ok(texts.every((t) => t === "shared"));
    assert.equal(origin.calls("/plain"), 1);
  });

  it("hands the owner's failure to every in-process joiner", async () => {
    origin.route("/broken", { destroy: true, delayMs: 20 });
    const c = client();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => c.get("/broken")),
    );
    assert.equal(origin.calls("/broken"), 1);
    for (const result of results) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof TypeError);
    }
  });

  it("lets one joiner abort without cancelling the flight for the others", async () => {
    origin.route("/slow", { body: "done", delayMs: 80 });
    const c = client();
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const owner = c.get("/slow", { signal: controller.signal });
    const others = [c.get("/slow"), c.get("/slow")];
    await delay(20);
    controller.abort(reason);
    await assert.rejects(owner, (error) => error === reason);
    assert.deepEqual(await Promise.all(others), ["done", "done"]);
    assert.equal(origin.calls("/slow"), 1);
  });

  it("applies a joiner's own deadline while it waits, without failing the flight", async () => {
    origin.route("/long", { body: "done", delayMs: 150 });
    const c = client();
    const owner = c.get("/long", { timeout: 40 });
    const joiner = c.get("/long");
    const impatient = c.get("/long", { timeout: 40 });
    for (const early of [owner, impatient]) {
      await assert.rejects(early, (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.phase, "total");
        return true;
      });
    }
    assert.equal(await joiner, "done");
    assert.equal(origin.calls("/long"), 1);
  });

  it("abandons the flight when every waiter has gone", async () => {
    origin.route("/abandoned", { body: "late", delayMs: 300 });
    const c = client();
    const a = new AbortController();
    const b = new AbortController();
    const first = c.get("/abandoned", { signal: a.signal });
    const second = c.get("/abandoned", { signal: b.signal });
    await until(() => origin.calls("/abandoned") === 1);
    a.abort();
    b.abort();
    await assert.rejects(first, { name: "AbortError" });
    await assert.rejects(second, { name: "AbortError" });
    // A new request starts a new flight instead of joining the dead one.
    origin.route("/abandoned", { body: "fresh" });
    assert.equal(await c.get("/abandoned"), "fresh");
    assert.equal(origin.calls("/abandoned"), 2);
  });

  it("never shares a flight between two credentials", async () => {
    origin.route("/whoami", (req) => ({
      body: { user: req.headers.cookie ?? "none" },
      delayMs: 20,
    }));
    const c = client();
    const [a, b, none] = await Promise.all([
      c.get("/whoami", { headers: { cookie: "session=a" } }),
      c.get("/whoami", { headers: { cookie: "session=b" } }),
      c.get("/whoami"),
    ]);
    assert.deepEqual(a, { user: "session=a" });
    assert.deepEqual(b, { user: "session=b" });
    assert.deepEqual(none, { user: "none" });
    assert.equal(origin.calls("/whoami"), 3);
  });

  it("shares one origin call between clients in different processes through a dedupe store", async () => {
    origin.route("/distributed", { body: { v: 1 }, delayMs: 40 });
    const shared = new MemoryDedupeStore();
    stores.push(shared);
    // Two clients stand for two processes: they share only the store.
    const a = client({ dedupe: { store: shared } });
    const b = client({ dedupe: { store: shared } });
    const results = await Promise.all([
      a.get("/distributed"),
      b.get("/distributed"),
      a.get("/distributed"),
      b.get("/distributed"),
    ]);
    assert.ok(results.every((r) => (r as { v: number }).v === 1));
    assert.equal(origin.calls("/distributed"), 1);
    const joined = log.of("dedupe.joined").filter((e) =>
      e.scope === "distributed"
    );
    assert.equal(joined.length, 1);
    // The joiner in the other process names the call whose request answered it.
    const owner = log.of("dedupe.owner").find((e) => e.scope === "distributed");
    assert.equal(joined[0]?.ownerRequestId, owner?.requestId);
    assert.notEqual(joined[0]?.requestId, owner?.requestId);
  });

  it("elects exactly one new owner when a distributed owner fails", async () => {
    origin.route(
      "/flaky",
      (req) =>
        req.n === 1
          ? { destroy: true, delayMs: 40 }
          : { body: { attempt: req.n }, delayMs: 40 },
    );
    const shared = new MemoryDedupeStore();
    stores.push(shared);
    const processes = Array.from(
      { length: 5 },
      () => client({ dedupe: { store: shared } }),
    );
    const results = await Promise.allSettled(
      processes.map((p) => p.get("/flaky")),
    );
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    assert.equal(results.filter((r) => r.status === "rejected").length, 1);
    assert.equal(fulfilled.length, 4);
    for (const r of fulfilled) {
      assert.deepEqual((r as PromiseFulfilledResult<unknown>).value, {
        attempt: 2,
      });
    }
    assert.equal(origin.calls("/flaky"), 2);
  });

  it("fails open when the dedupe store is down", async () => {
    origin.route("/storeless", { body: "ok" });
    const down: DedupeStore = {
      register: () => Promise.reject(new Error("down")),
      registerOrJoin: () => Promise.reject(new Error("down")),
      waitFor: () => Promise.reject(new Error("down")),
      complete: () => Promise.reject(new Error("down")),
      fail: () => Promise.reject(new Error("down")),
      isInProgress: () => Promise.reject(new Error("down")),
      close: () => Promise.resolve(),
    };
    const c = client({ dedupe: { store: down } });
    assert.equal(await c.get("/storeless"), "ok");
    const errors = log.of("error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.stage, "dedupe");
    assert.equal(errors[0]!.failedOpen, true);
  });

  describe("across processes sharing a cache and a dedupe store", () => {
    // Store deadlines run on the client's clock: the tests move it.
    let clock: SteppedClock;
    let cache: MemoryCacheStore;
    let shared: MemoryDedupeStore;

    beforeEach(() => {
      clock = new SteppedClock(Date.now());
      cache = new MemoryCacheStore({ clock });
      shared = new MemoryDedupeStore({ clock, jobTimeoutMs: 10_000 });
      stores.push(cache, shared);
    });

    // Two clients stand for two processes: separate in-process flights,
    // one cache store and one dedupe store between them.
    const process = (
      options: Partial<HttpClientOptions> = {},
    ): HttpClient =>
      client({
        clock,
        cache: { store: cache },
        dedupe: { store: shared },
        ...options,
      });

    // The shared dedupe store, not saying what an owner's job replaced, so
    // that an elected owner always re-reads the cache.
    const unsaying = (): DedupeStore<unknown> =>
      overriding(shared, {
        registerOrJoin: async (key: string) => {
          const { previous: _, ...registration } = await shared
            .registerOrJoin(key);
          return registration;
        },
      });

    // A view of the cache whose first read sees the store as it is, but
    // answers only when released: the read happened before another
    // process stored its response.
    const heldFirstRead = () => {
      const read = signal();
      const release = signal();
      let first = true;
      const store = overriding(cache, {
        get: async (key: string) => {
          const value = await cache.get(key);
          if (first) {
            first = false;
            read.resolve();
            await release.promise;
          }
          return value;
        },
      });
      return { store, read: read.promise, release: release.resolve };
    };

    it("serves the entry another process stored after this one missed, instead of calling the origin again", async () => {
      origin.route("/stored-meanwhile", (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "max-age=3600" },
      }));
      const held = heldFirstRead();
      const bLog = new EventLog();
      const a = process();
      const b = process({
        cache: { store: held.store },
        onEvent: bLog.listener,
      });
      const fromB = b.get("/stored-meanwhile");
      await held.read;
      // A fetches, stores and completes its job while B's miss is on its way.
      assert.deepEqual(await a.get("/stored-meanwhile"), { n: 1 });
      held.release();
      assert.deepEqual(await fromB, { n: 1 });
      assert.equal(origin.calls("/stored-meanwhile"), 1);
      assert.deepEqual(bLog.of("dedupe.owner").map((e) => e.scope), [
        "process",
        "distributed",
      ]);
      assert.equal(bLog.of("cache.hit").length, 1);
      assert.deepEqual(bLog.of("response").map((e) => e.source), ["cache"]);
    });

    it("revalidates the stale entry another process stored after this one missed", async () => {
      origin.route("/stored-stale", (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "no-cache", etag: '"v1"' },
        conditional: true,
      }));
      const held = heldFirstRead();
      const bLog = new EventLog();
      const a = process();
      const b = process({
        cache: { store: held.store },
        onEvent: bLog.listener,
      });
      const fromB = b.fetch("/stored-stale");
      await held.read;
      assert.deepEqual(await a.get("/stored-stale"), { n: 1 });
      held.release();
      const response = await fromB;
      assert.deepEqual(await response.json(), { n: 1 });
      const requests = origin.requests("/stored-stale");
      assert.equal(requests.length, 2);
      assert.equal(requests[1]!.headers["if-none-match"], '"v1"');
      assert.deepEqual(bLog.of("response").map((e) => e.source), [
        "revalidated",
      ]);
    });

    it("hands the entry it found to a process that joined its job", async () => {
      origin.route("/joined-recheck", (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "max-age=3600" },
      }));
      const bHeld = heldFirstRead();
      const cHeld = heldFirstRead();
      const cWaits = signal();
      // B's second read (its re-check as the new owner) answers only once
      // C waits for B's job.
      const bRechecks = signal();
      let bReads = 0;
      const bCache = overriding(cache, {
        get: async (key: string) => {
          if (++bReads === 2) {
            bRechecks.resolve();
            await cWaits.promise;
          }
          return bHeld.store.get(key);
        },
      });
      const cDedupe = overriding(shared, {
        waitFor: (key: string, options?: { signal?: AbortSignal }) => {
          cWaits.resolve();
          return shared.waitFor(key, options);
        },
      });
      const cLog = new EventLog();
      const a = process();
      const b = process({ cache: { store: bCache } });
      const c = process({
        cache: { store: cHeld.store },
        dedupe: { store: cDedupe },
        onEvent: cLog.listener,
      });
      const fromB = b.get("/joined-recheck");
      const fromC = c.get("/joined-recheck");
      await Promise.all([bHeld.read, cHeld.read]);
      assert.deepEqual(await a.get("/joined-recheck"), { n: 1 });
      bHeld.release();
      // (Without a re-check, B goes to the origin and never reads again.)
      await Promise.race([bRechecks.promise, fromB]);
      cHeld.release();
      assert.deepEqual(await fromB, { n: 1 });
      assert.deepEqual(await fromC, { n: 1 });
      assert.equal(origin.calls("/joined-recheck"), 1);
      assert.deepEqual(
        cLog.of("dedupe.joined").map((e) => e.scope),
        ["distributed"],
      );
    });

    it("serves from the cache when it takes over a job whose owner stored its response but never completed it", async () => {
      const reached = signal();
      const answer = signal();
      origin.route("/orphaned", async (req) => {
        reached.resolve();
        await answer.promise;
        return {
          body: { n: req.n },
          headers: { "cache-control": "max-age=3600" },
        };
      });
      // Neither A's complete() nor the fail() that follows it reaches the
      // store, as if A's process died once it had stored its response.
      const lossy = overriding(shared, {
        complete: () => Promise.reject(new Error("connection lost")),
        fail: () => Promise.reject(new Error("connection lost")),
      });
      const waiting = signal();
      const keys: string[] = [];
      const watched = overriding(shared, {
        waitFor: (key: string, options?: { signal?: AbortSignal }) => {
          keys.push(key);
          waiting.resolve();
          return shared.waitFor(key, options);
        },
      });
      const bLog = new EventLog();
      const a = process({ dedupe: { store: lossy } });
      const b = process({ dedupe: { store: watched }, onEvent: bLog.listener });
      const fromA = a.get("/orphaned");
      await reached.promise;
      const fromB = b.get("/orphaned");
      await waiting.promise;
      answer.resolve();
      assert.deepEqual(await fromA, { n: 1 });
      // A's job runs past its timeout: B stops waiting and is elected.
      clock.advance(10_000);
      assert.equal(await shared.isInProgress(keys[0]!), false);
      assert.deepEqual(await fromB, { n: 1 });
      assert.equal(origin.calls("/orphaned"), 1);
      assert.equal(keys.length, 1);
      assert.equal(bLog.of("cache.hit").length, 1);
      assert.deepEqual(bLog.of("response").map((e) => e.source), ["cache"]);
    });

    it("goes to the origin when its re-read of the cache outlasts storeTimeoutMs", async () => {
      origin.route("/recheck-hangs", { body: "ok" });
      let reads = 0;
      const flaky = overriding(cache, {
        get: (key: string) =>
          ++reads === 1 ? cache.get(key) : new Promise<undefined>(() => {}),
      });
      const c = process({
        cache: { store: flaky },
        dedupe: { store: unsaying() },
        storeTimeoutMs: 20,
      });
      assert.equal(await drive(clock, c.get("/recheck-hangs")), "ok");
      assert.equal(reads, 2);
      assert.equal(origin.calls("/recheck-hangs"), 1);
      const errors = log.of("error");
      assert.deepEqual(errors.map((e) => [e.stage, e.failedOpen]), [
        ["cache", true],
      ]);
    });

    it("does not read a cache store again when it failed the request's first read", async () => {
      origin.route("/cache-down", { body: "ok" });
      let reads = 0;
      const hung = overriding(cache, {
        get: () => {
          reads++;
          return new Promise<undefined>(() => {});
        },
      });
      const c = process({ cache: { store: hung }, storeTimeoutMs: 20 });
      assert.equal(await drive(clock, c.get("/cache-down")), "ok");
      assert.equal(reads, 1);
      assert.equal(origin.calls("/cache-down"), 1);
      assert.deepEqual(log.of("error").map((e) => e.stage), ["cache"]);
    });

    it("does not keep the next request for a key waiting after the store lost the owner's complete() and fail()", async () => {
      origin.route("/lost-complete", (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "no-store" },
      }));
      let lose = true;
      const waits: string[] = [];
      const hiccup = () =>
        lose ? Promise.reject(new Error("connection lost")) : undefined;
      const flaky = overriding(shared, {
        complete: (key: string, value: unknown) =>
          hiccup() ?? shared.complete(key, value),
        fail: (key: string, error: Error) =>
          hiccup() ?? shared.fail(key, error),
        waitFor: (key: string, options?: { signal?: AbortSignal }) => {
          waits.push(key);
          return shared.waitFor(key, options);
        },
      });
      const c = process({ dedupe: { store: flaky } });
      // The total deadline only guards the suite: nothing here should wait.
      const timeout = { totalMs: 5_000 };
      assert.deepEqual(await c.get("/lost-complete", { timeout }), { n: 1 });
      assert.deepEqual(
        log.of("error").map((e) => [e.stage, (e.error as Error).message]),
        [["dedupe", "connection lost"], ["dedupe", "connection lost"]],
      );
      lose = false;
      assert.deepEqual(await c.get("/lost-complete", { timeout }), { n: 2 });
      assert.deepEqual(waits, []);
      assert.equal(origin.calls("/lost-complete"), 2);
    });

    it("releases a registration whose reply came after storeTimeoutMs, so that no process waits for it", async () => {
      origin.route("/late-owner", (req) => ({
        body: { n: req.n },
        headers: { "cache-control": "no-store" },
      }));
      const reply = signal();
      const released = signal();
      const slow = overriding(shared, {
        registerOrJoin: async (key: string): Promise<DedupeRegistration> => {
          await reply.promise;
          return await shared.registerOrJoin(key);
        },
        fail: async (key: string, error: Error) => {
          await shared.fail(key, error);
          released.resolve();
        },
      });
      const a = process({ dedupe: { store: slow }, storeTimeoutMs: 20 });
      assert.deepEqual(await drive(clock, a.get("/late-owner")), { n: 1 });
      assert.deepEqual(log.of("error").map((e) => e.stage), ["dedupe"]);
      // The store now answers A's registration: A is owner of a job it
      // will never run.
      reply.resolve();
      await Promise.race([released.promise, delay(5_000)]);
      const bLog = new EventLog();
      const b = process({ onEvent: bLog.listener });
      // The total deadline only guards the suite: B should not wait at all.
      assert.deepEqual(
        await b.get("/late-owner", { timeout: { totalMs: 5_000 } }),
        { n: 2 },
      );
      assert.deepEqual(
        bLog.of("dedupe.owner").map((e) => e.scope),
        ["process", "distributed"],
      );
    });

    it("sends the request itself when the store's waitFor never settles, reporting it", async () => {
      origin.route("/deaf-store", { body: "ok" });
      const deaf = overriding(shared, {
        registerOrJoin: () =>
          Promise.resolve({ jobId: "someone else's", isOwner: false }),
        waitFor: () => new Promise<undefined>(() => {}),
      });
      const c = process({ dedupe: { store: deaf }, storeTimeoutMs: 50 });
      // One attempt of 100 ms plus storeTimeoutMs bound the wait; the total
      // deadline only guards the suite.
      const pending = c.get("/deaf-store", {
        timeout: { attemptMs: 100, totalMs: 5_000 },
      });
      // Past the total deadline's wait, the first to end is the wait for
      // the deaf store; once it has passed, the request goes out within its
      // attempt's deadline.
      await until(() => (clock.nextWakeMs ?? Infinity) < 5_000);
      const waitedMs = clock.nextWakeMs!;
      assert.ok(waitedMs >= 150, `waited ${waitedMs} ms`);
      clock.advance(waitedMs);
      assert.equal(await pending, "ok");
      assert.equal(origin.calls("/deaf-store"), 1);
      const errors = log.of("error");
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.stage, "dedupe");
      assert.equal(errors[0]!.failedOpen, true);
      assert.ok(errors[0]!.error instanceof StoreError);
      assert.equal((errors[0]!.error as StoreError).operation, "waitFor");
    });

    it("goes to the origin when another process's shared response has a header Headers refuses", async () => {
      origin.route("/bad-share", { body: "from origin" });
      const garbled = overriding(shared, {
        registerOrJoin: () =>
          Promise.resolve({ jobId: "someone else's", isOwner: false }),
        waitFor: () =>
          Promise.resolve({
            sluice: 1,
            raw: {
              url: `${origin.url}/bad-share`,
              status: 200,
              statusText: "OK",
              headers: [["bad name", "x"]],
              body: new TextEncoder().encode("from the store"),
            },
            vary: {},
          }),
      });
      const c = process({ dedupe: { store: garbled } });
      const response = await c.fetch("/bad-share");
      assert.equal(await response.text(), "from origin");
      assert.equal(origin.calls("/bad-share"), 1);
    });

    it("skips the cache re-read when the store says no job came before this owner's", async () => {
      origin.route("/first-job", { body: "ok" });
      let reads = 0;
      const counted = overriding(cache, {
        get: (key: string) => {
          reads++;
          return cache.get(key);
        },
      });
      const fresh = overriding(shared, {
        registerOrJoin: async (key: string) => ({
          ...await shared.registerOrJoin(key),
          previous: "none" as const,
        }),
      });
      const c = process({
        cache: { store: counted },
        dedupe: { store: fresh },
      });
      assert.equal(await c.get("/first-job"), "ok");
      assert.equal(reads, 1);
      assert.equal(origin.calls("/first-job"), 1);
    });

    it("re-reads the cache when the store says a job completed or failed before, or does not say", async () => {
      for (const previous of ["completed", "failed", undefined] as const) {
        const path = `/later-job-${previous}`;
        origin.route(path, { body: "ok" });
        let reads = 0;
        const counted = overriding(cache, {
          get: (key: string) => {
            reads++;
            return cache.get(key);
          },
        });
        const told = overriding(shared, {
          registerOrJoin: async (key: string) => {
            const { previous: _, ...registration } = await shared
              .registerOrJoin(key);
            return previous === undefined
              ? registration
              : { ...registration, previous };
          },
        });
        const c = process({
          cache: { store: counted },
          dedupe: { store: told },
        });
        assert.equal(await c.get(path), "ok");
        assert.equal(reads, 2, String(previous));
      }
    });
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  UpstashAdaptiveRateLimitStore,
  UpstashRateLimitStore,
} from "../../../adapters/upstash/mod.ts";
import { _UpstashRateWindow } from "../../../adapters/upstash/_rate_window.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;

describe("UpstashRateLimitStore", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  it("runs acquire(), the reads and the cooldowns in one HTTP request each once the scripts are loaded", async () => {
    const store = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      defaultConfig: { limit: 3, windowMs: 60_000 },
    });
    // Load every script once.
    await store.acquire("warm");
    await store.getStatus("warm");
    await store.setCooldown("warm", 1);
    await store.getCooldown("warm");
    const steps: Array<[string, () => Promise<unknown>]> = [
      ["acquire", () => store.acquire("r")],
      ["record", () => store.record("r")],
      ["canProceed", () => store.canProceed("r")],
      ["getStatus", () => store.getStatus("r")],
      ["getWaitTime", () => store.getWaitTime("r")],
      ["setCooldown", () => store.setCooldown("r", 500)],
      ["getCooldown", () => store.getCooldown("r")],
      ["reset", () => store.reset("r")],
    ];
    for (const [name, step] of steps) {
      env.bridge.resetCounts();
      await step();
      assert.equal(env.bridge.requests(), 1, name);
    }
    await store.close();
  });

  it("never admits more than limit across four store instances making 50 concurrent acquire() calls each", async () => {
    const prefix = env.prefix();
    const stores = Array.from(
      { length: 4 },
      () =>
        new UpstashRateLimitStore({
          redis: env.client(),
          keyPrefix: prefix,
          defaultConfig: { limit: 20, windowMs: 60_000 },
        }),
    );
    const results = await Promise.all(
      stores.flatMap((store) =>
        Array.from({ length: 50 }, () => store.acquire("shared"))
      ),
    );
    assert.equal(results.filter(Boolean).length, 20);
    assert.equal((await stores[0]!.getStatus("shared")).remaining, 0);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("decides by the Redis server's clock: a process whose clock runs an hour ahead gains no budget", async () => {
    const store = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      defaultConfig: { limit: 2, windowMs: 60_000 },
    });
    assert.equal(await store.acquire("r"), true);
    assert.equal(await store.acquire("r"), true);
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000;
    try {
      assert.equal(await store.acquire("r"), false);
      // The window and the default margin of a shared store (15%).
      const wait = await store.getWaitTime("r");
      assert.ok(wait > 68_000 && wait <= 69_000, `wait ${wait}`);
    } finally {
      Date.now = realNow;
    }
    await store.close();
  });

  it("keeps the window in a sorted set at sluice:ratelimit:w:<resource>, scored by server time, expiring with the window, and the cooldown at sluice:ratelimit:cd:<resource>", async () => {
    const raw = env.client();
    const store = new UpstashRateLimitStore({
      redis: raw,
      defaultConfig: { limit: 5, windowMs: 2_000 },
    });
    const resource = `github:ratelimit:${crypto.randomUUID()}`;
    await store.acquire(resource);
    await store.setCooldown(resource, 1_000);
    const [seconds] = await raw.time();
    const window = `sluice:ratelimit:w:${resource}`;
    const cooldown = `sluice:ratelimit:cd:${resource}`;
    assert.equal(await raw.type(window), "zset");
    assert.equal(await raw.type(cooldown), "string");
    const scores = await raw.zrange(window, 0, -1, { withScores: true });
    const score = Number(scores[1]);
    assert.ok(Math.abs(score - seconds * 1000) < 2_000, `score ${score}`);
    // The window, 2000 ms plus the default margin of a shared store (15%).
    const pttl = await raw.pttl(window);
    assert.ok(pttl > 1_300 && pttl <= 2_300, `PTTL ${pttl}`);
    const cooldownTtl = await raw.pttl(cooldown);
    assert.ok(cooldownTtl > 0 && cooldownTtl <= 1_000, `PTTL ${cooldownTtl}`);
    await store.reset(resource);
    assert.equal(await raw.exists(window, cooldown), 0);
    await store.close();
  });

  it("keeps resources apart whose names look like another's keys (':cooldown', ':user', ':background' suffixes)", async () => {
    const prefix = env.prefix();
    const store = new UpstashAdaptiveRateLimitStore({
      redis: env.client(),
      keyPrefix: prefix,
      defaultConfig: { limit: 2, windowMs: 60_000 },
    });
    const names = ["api", "api:cooldown", "api:user", "api:background"];
    for (const name of names) {
      assert.equal(await store.acquire(name, "user"), true, name);
      assert.equal(await store.acquire(name, "user"), true, name);
    }
    await store.setCooldown("api", 30_000);
    for (const name of names) {
      assert.equal(await store.acquire(name, "user"), false, name);
      const status = await store.getStatus(name, "user");
      assert.equal(status.remaining, 0, name);
      assert.equal(status.recentUserActivity, 2, name);
      assert.equal(
        (await store.getCooldown(name)) > 0,
        name === "api",
        `${name}'s cooldown`,
      );
    }
    await store.reset("api:cooldown");
    assert.equal((await store.getStatus("api:cooldown")).remaining, 2);
    assert.equal((await store.getStatus("api")).remaining, 0);
    assert.ok((await store.getCooldown("api")) > 0);
    await store.close();
  });

  it("marginMs lengthens every window: a slot frees windowMs + marginMs after its admission", async () => {
    const store = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      defaultConfig: { limit: 1, windowMs: 400 },
      marginMs: 400,
    });
    assert.deepEqual(store.getResourceConfig("r"), {
      limit: 1,
      windowMs: 400,
    });
    const started = performance.now();
    assert.equal(await store.acquire("r"), true);
    const wait = await store.getWaitTime("r");
    const answered = performance.now();
    // The server measured the wait somewhere between the two local reads;
    // Redis times are whole milliseconds.
    assert.ok(wait <= 800, `wait ${wait}`);
    assert.ok(wait >= 800 - (answered - started) - 2, `wait ${wait}`);
    assert.ok(wait > 400, `the margin counts: wait ${wait}`);
    assert.equal(await store.acquire("r"), false);
    await new Promise((r) => setTimeout(r, wait + 20));
    assert.equal(await store.acquire("r"), true);
    await store.close();
  });

  it("shares cooldowns between store instances, and a shorter cooldown never cuts a longer one", async () => {
    const prefix = env.prefix();
    const a = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: prefix,
    });
    const b = new UpstashRateLimitStore({
      redis: env.client(),
      keyPrefix: prefix,
    });
    await a.setCooldown("r", 5_000);
    await b.setCooldown("r", 100);
    const left = await b.getCooldown("r");
    assert.ok(left > 4_800 && left <= 5_000, `left ${left}`);
    await b.setCooldown("r", 8_000);
    assert.ok((await a.getCooldown("r")) > 7_800);
    await assert.rejects(a.setCooldown("r", -1), RangeError);
    await assert.rejects(a.setCooldown("r", Number.NaN), RangeError);
    await Promise.all([a.close(), b.close()]);
  });
});

describe("The Upstash rate window", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  const query = {
    limit: 5,
    windowMs: 60_000,
    backgroundMax: 5,
    users: null,
    countUsers: false,
  };
  const request = {
    ...query,
    backgroundPaused: false,
    idleSince: null,
    cooldownResource: null,
    force: false,
    measureWaits: true,
  };

  for (const priority of ["user", "background"] as const) {
    it(`postpone() moves a ${priority} admission to the server's time less the margin, in every window that holds it, and only ever later`, async () => {
      const window = new _UpstashRateWindow("test", {
        redis: env.client(),
        keyPrefix: env.prefix(),
      });
      const admitted = await window.admit("r", { ...request, priority });
      assert.equal(admitted.admitted, true);
      assert.notEqual(admitted.ref, undefined);
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(await window.postpone("r", admitted.ref, 100), true);
      const moved = await window.status("r", query);
      assert.equal(moved.total, 1);
      assert.ok(moved.oldestAt! >= admitted.now + 150, `${moved.oldestAt}`);
      assert.ok(moved.oldestAt! <= moved.now - 100, `${moved.oldestAt}`);
      // The background window holds it too, moved with it: with
      // backgroundMax 1, the next background admission waits a window
      // from the moved time.
      const refused = await window.admit("r", {
        ...request,
        priority: "background",
        backgroundMax: 1,
      });
      if (priority === "background") {
        assert.equal(refused.admitted, false);
        assert.ok(
          refused.backgroundWaitMs >= 60_000 - (refused.now - moved.oldestAt!),
          `${refused.backgroundWaitMs}`,
        );
      } else {
        assert.equal(refused.admitted, true);
      }
      // A margin that would move it earlier leaves it where it is.
      assert.equal(await window.postpone("r", admitted.ref, 60_000), true);
      const kept = await window.status("r", query);
      assert.equal(kept.oldestAt, moved.oldestAt);
      // One gone stays gone, and says so.
      await window.reset("r");
      assert.equal(await window.postpone("r", admitted.ref, 100), false);
      assert.equal((await window.status("r", query)).total, 0);
      await window.close();
    });
  }
});

describe("UpstashAdaptiveRateLimitStore", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  it("shares user activity: user traffic in one process shrinks background for another", async () => {
    const prefix = env.prefix();
    const options = {
      keyPrefix: prefix,
      defaultConfig: { limit: 20, windowMs: 60_000 },
      adaptiveConfig: {
        recalculationIntervalMs: 0,
        backgroundPauseOnIncreasingTrend: false,
      },
    };
    const web = new UpstashAdaptiveRateLimitStore({
      redis: env.client(),
      ...options,
    });
    const worker = new UpstashAdaptiveRateLimitStore({
      redis: env.client(),
      ...options,
    });
    const idle = await worker.getStatus("r", "background");
    assert.equal(idle.backgroundMax, 20);
    for (let i = 0; i < 12; i++) {
      assert.equal(await web.acquire("r", "user"), true);
    }
    const busy = await worker.getStatus("r", "background");
    assert.equal(busy.recentUserActivity, 12);
    assert.ok(
      busy.backgroundMax < 20 - 5,
      `backgroundMax ${busy.backgroundMax}`,
    );
    assert.equal(busy.userReserved + busy.backgroundMax, 20);
    let admitted = 0;
    while (await worker.acquire("r", "background")) admitted++;
    assert.equal(admitted, Math.min(busy.backgroundMax, 20 - 12));
    await Promise.all([web.close(), worker.close()]);
  });

  it("costs one HTTP request per acquire() while the split is fresh", async () => {
    const store = new UpstashAdaptiveRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      defaultConfig: { limit: 50, windowMs: 60_000 },
      adaptiveConfig: { recalculationIntervalMs: 60_000 },
    });
    await store.acquire("warm", "user");
    await store.acquire("r", "user");
    const counts: number[] = [];
    for (const priority of ["user", "background", "user"] as const) {
      env.bridge.resetCounts();
      await store.acquire("r", priority);
      counts.push(env.bridge.requests());
    }
    assert.deepEqual(counts, [1, 1, 1]);
    await store.close();
  });

  it("times its split by its clock option, not by Date.now(): a split is read again once recalculationIntervalMs passed on that clock", async () => {
    const clock = new ManualClock(1_000_000);
    const store = new UpstashAdaptiveRateLimitStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      clock,
      defaultConfig: { limit: 50, windowMs: 60_000 },
      adaptiveConfig: { recalculationIntervalMs: 30_000 },
    });
    await store.acquire("warm", "background");
    const requests = async (): Promise<number> => {
      env.bridge.resetCounts();
      await store.acquire("r", "background");
      return env.bridge.requests();
    };
    assert.equal(await requests(), 2, "the first split is read");
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000;
    try {
      assert.equal(await requests(), 1, "Date.now() moved, the clock did not");
    } finally {
      Date.now = realNow;
    }
    clock.advance(30_000);
    assert.equal(await requests(), 2, "the clock moved past the interval");
    await store.close();
  });

  it("never admits more than limit in total under 200 concurrent mixed acquires from four instances", async () => {
    const prefix = env.prefix();
    const stores = Array.from(
      { length: 4 },
      () =>
        new UpstashAdaptiveRateLimitStore({
          redis: env.client(),
          keyPrefix: prefix,
          defaultConfig: { limit: 15, windowMs: 60_000 },
          adaptiveConfig: { recalculationIntervalMs: 0 },
        }),
    );
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) =>
          stores[i % 4]!.acquire("r", i % 3 === 0 ? "user" : "background"),
      ),
    );
    assert.equal(results.filter(Boolean).length, 15);
    assert.equal((await stores[0]!.getStatus("r", "user")).remaining, 0);
    await Promise.all(stores.map((s) => s.close()));
  });
});

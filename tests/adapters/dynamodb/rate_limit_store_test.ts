// The DynamoDB rate-limit stores beyond the conformance suites: the same
// exactness through an injected AWS SDK client, and what the rings of
// conditional writes must get right: spent tickets, limits that differ
// between processes, shrinking background shares, records beyond the ring,
// hints, postponed admissions and cooldowns that outlive the window.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBRateLimitStore,
  type RateWindowAdmitRequest,
} from "../../../adapters/dynamodb/mod.ts";
import { _DynamoRateWindow } from "../../../adapters/dynamodb/_rate_window.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { type DynamoEnv, type Form, startDynamoEnv } from "./_env.ts";

let env: DynamoEnv;

const WINDOW_MS = 400;

/** A store (or a second one on the same keys, as another process) on a manual clock. */
function open(
  form: Form,
  clock: ManualClock,
  limit: number,
  keyPrefix: string,
): DynamoDBRateLimitStore {
  return new DynamoDBRateLimitStore({
    ...env.connect(form, undefined, keyPrefix),
    clock,
    defaultConfig: { limit, windowMs: WINDOW_MS },
    marginMs: 0,
  });
}

/** An admission request for the rate window itself. */
function request(
  overrides: Partial<RateWindowAdmitRequest> = {},
): RateWindowAdmitRequest {
  return {
    limit: 10,
    windowMs: WINDOW_MS,
    backgroundMax: null,
    users: null,
    countUsers: false,
    priority: "background",
    backgroundPaused: false,
    idleSince: null,
    cooldownResource: null,
    force: false,
    measureWaits: true,
    ...overrides,
  };
}

describe("DynamoDB rate-limit stores: the rings", () => {
  before(async () => {
    env = await startDynamoEnv();
  });
  after(async () => {
    await env.close();
  });

  it("over the SDK, two stores (two processes) admit exactly limit among 100 concurrent calls, and tell the exact wait", async () => {
    const clock = new ManualClock();
    const prefix = env.prefix();
    const a = open("sdk", clock, 7, prefix);
    const b = open("sdk", clock, 7, prefix);
    const results = await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) => (i % 2 === 0 ? a : b).acquire("burst"),
      ),
    );
    assert.equal(results.filter(Boolean).length, 7);
    assert.equal(await a.canProceed("burst"), false);
    clock.advance(150);
    const refused = await b.admit("burst");
    assert.equal(refused.admitted, false);
    assert.equal(refused.waitMs, WINDOW_MS - 150);
    assert.equal(await a.getWaitTime("burst"), WINDOW_MS - 150);
    clock.advance(WINDOW_MS - 150);
    assert.equal((await a.admit("burst")).admitted, true);
    await Promise.all([a.close(), b.close()]);
  });

  for (const form of ["fetch", "sdk"] as Form[]) {
    it(`tickets spent on refusals lose no slot: the budget returns exactly as admissions leave the window (${form})`, async () => {
      const clock = new ManualClock();
      const store = open(form, clock, 3, env.prefix());
      const start = clock.now();
      assert.equal(await store.acquire("r"), true);
      clock.advance(100);
      assert.equal(await store.acquire("r"), true);
      assert.equal(await store.acquire("r"), true);
      // Forty refusals, each spending a ticket: the next ticket names the
      // slot of the second admission, not the oldest.
      for (let i = 0; i < 40; i++) {
        clock.advance(7);
        assert.equal(await store.acquire("r"), false, `refusal ${i}`);
      }
      clock.set(start + WINDOW_MS - 1);
      assert.equal(await store.acquire("r"), false, "1 ms too early");
      clock.set(start + WINDOW_MS);
      assert.equal(await store.acquire("r"), true, "the first one left");
      assert.equal(await store.acquire("r"), false);
      clock.set(start + WINDOW_MS + 100);
      assert.equal(await store.acquire("r"), true);
      assert.equal(await store.acquire("r"), true);
      assert.equal(await store.acquire("r"), false);
      await store.close();
    });
  }

  it("a process with a lower limit holds it against admissions a process with a higher limit recorded", async () => {
    const clock = new ManualClock();
    const prefix = env.prefix();
    const wide = open("fetch", clock, 10, prefix);
    const narrow = open("fetch", clock, 5, prefix);
    for (let i = 0; i < 6; i++) assert.equal(await wide.acquire("r"), true);
    assert.equal(await narrow.acquire("r"), false, "6 in the window, limit 5");
    assert.equal(await narrow.getWaitTime("r"), WINDOW_MS);
    for (let i = 0; i < 4; i++) assert.equal(await wide.acquire("r"), true);
    assert.equal(await wide.acquire("r"), false);
    await Promise.all([wide.close(), narrow.close()]);
  });

  it("a smaller background share is held exactly against background admissions recorded under a larger one", async () => {
    const clock = new ManualClock();
    const window = new _DynamoRateWindow("test", {
      ...env.connect("fetch"),
      clock,
    });
    const background = (backgroundMax: number) =>
      window.admit("r", request({ backgroundMax }));
    for (let i = 0; i < 6; i++) {
      assert.equal((await background(10)).admitted, true);
    }
    const refused = await background(4);
    assert.equal(refused.admitted, false, "6 background admissions, share 4");
    assert.equal(refused.backgroundWaitMs, WINDOW_MS);
    assert.equal(
      (await window.admit("r", request({ priority: "user", backgroundMax: 4 })))
        .admitted,
      true,
      "users still have room",
    );
    clock.advance(WINDOW_MS);
    for (let i = 0; i < 4; i++) {
      assert.equal((await background(4)).admitted, true, `share ${i}`);
    }
    assert.equal((await background(4)).admitted, false);
    const status = await window.status("r", request({ backgroundMax: 4 }));
    assert.equal(status.background, 4);
    assert.equal(status.total, 4);
    await window.close();
  });

  it("record() beyond a full ring counts against every later admission", async () => {
    const clock = new ManualClock();
    const store = open("fetch", clock, 2, env.prefix());
    assert.equal(await store.acquire("r"), true);
    assert.equal(await store.acquire("r"), true);
    clock.advance(300);
    await store.record("r");
    assert.equal((await store.getStatus("r")).remaining, 0);
    clock.advance(WINDOW_MS - 300);
    assert.equal(await store.acquire("r"), true, "the two acquired left");
    assert.equal(await store.acquire("r"), false, "the record still counts");
    clock.advance(300);
    assert.equal(await store.acquire("r"), true);
    await store.close();
  });

  it("postpone() moves a recorded admission to now less the margin, and not one gone from the window", async () => {
    const clock = new ManualClock();
    const window = new _DynamoRateWindow("test", {
      ...env.connect("sdk"),
      clock,
    });
    const admitted = await window.admit("r", request());
    assert.equal(admitted.admitted, true);
    clock.advance(300);
    assert.equal(await window.postpone("r", admitted.ref, 50), true);
    let status = await window.status("r", request());
    assert.equal(status.oldestAt, admitted.now + 250);
    assert.equal(await window.postpone("r", admitted.ref, 100), true);
    status = await window.status("r", request());
    assert.equal(status.oldestAt, admitted.now + 250, "never moved earlier");
    clock.advance(WINDOW_MS);
    assert.equal(await window.postpone("r", admitted.ref, 50), false);
    assert.equal(await window.postpone("r", { nothing: true }, 50), false);
    await window.close();
  });

  it("a refusal leaves a hint, and reset() forgets it with the window and the cooldown", async () => {
    const clock = new ManualClock();
    const store = open("fetch", clock, 1, env.prefix());
    assert.equal(await store.acquire("r"), true);
    assert.equal((await store.admit("r")).waitMs, WINDOW_MS);
    clock.advance(100);
    assert.equal((await store.admit("r")).waitMs, WINDOW_MS - 100);
    await store.setCooldown("r", 60_000);
    await store.reset("r");
    assert.equal(await store.getCooldown("r"), 0);
    assert.deepEqual(await store.admit("r"), {
      admitted: true,
      waitMs: 0,
      cooldownMs: 0,
    });
    await store.close();
  });

  it("a cooldown longer than the window outlives the window in DynamoDB's TTL", async () => {
    const clock = new ManualClock();
    const connection = env.connect("fetch");
    const store = new DynamoDBRateLimitStore({
      ...connection,
      clock,
      defaultConfig: { limit: 5, windowMs: WINDOW_MS },
    });
    await store.setCooldown("r", 3_600_000);
    assert.equal(await store.acquire("r"), true, "acquire() ignores cooldowns");
    const meta = await env.sdk().send(
      new GetItemCommand({
        TableName: env.table,
        Key: {
          pk: { S: `${connection.keyPrefix}ratelimit:r` },
          sk: { S: "m" },
        },
      }),
    );
    const ttl = Number(meta.Item?.ttl?.N);
    assert.ok(
      ttl * 1_000 >= clock.now() + 3_600_000,
      `ttl ${ttl} keeps the cooldown`,
    );
    assert.equal(await store.getCooldown("r"), 3_600_000);
    await store.close();
  });

  it("getStats() counts admissions, spent budgets and cooldowns of this key prefix only", async () => {
    const clock = new ManualClock();
    const store = open("fetch", clock, 2, env.prefix());
    const other = open("fetch", clock, 2, env.prefix());
    await store.acquire("spent");
    await store.acquire("spent");
    await store.acquire("used");
    await store.setCooldown("cooling", 60_000);
    await other.acquire("elsewhere");
    const stats = await store.getStats();
    assert.equal(stats.totalRequests, 3);
    assert.equal(stats.uniqueResources, 2);
    assert.deepEqual(stats.rateLimitedResources, ["spent"]);
    assert.deepEqual(stats.coolingDownResources, ["cooling"]);
    await Promise.all([store.close(), other.close()]);
  });
});

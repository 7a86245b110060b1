import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  UpstashCacheStore,
  UpstashDedupeStore,
  UpstashRateLimitStore,
  type UpstashStoreEvent,
} from "../../../adapters/upstash/mod.ts";
import { joinKey } from "../../../src/stores/keys.ts";
import { startUpstashEnv, type UpstashEnv } from "./_env.ts";

let env: UpstashEnv;

function bytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

describe("UpstashCacheStore", () => {
  before(async () => {
    env = await startUpstashEnv();
  });
  after(async () => {
    await env.close();
  });

  it("get(), set() and delete() cost one HTTP request each, once Redis knows the scripts", async () => {
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    // Redis learns each script once, for every client (EVAL after NOSCRIPT).
    await store.set("warm", 1, 60);
    await store.delete("warm");
    const counts: number[] = [];
    for (
      const step of [
        () => store.set("k", { a: 1 }, 60),
        () => store.get("k"),
        () => store.set("k", { a: 2 }, 0),
        () => store.get("missing"),
        () => store.delete("k"),
        () => store.set("k", { a: 3 }, -1),
      ]
    ) {
      env.bridge.resetCounts();
      await step();
      counts.push(env.bridge.requests());
    }
    assert.deepEqual(counts, [1, 1, 1, 1, 1, 1]);
    // A refused write removes the entry with its tags, in one script.
    assert.deepEqual(
      env.bridge.log().map((r) => r.commands),
      [["EVALSHA"]],
    );
    await store.close();
  });

  it("round-trips every byte value and a 256 KiB body exactly, with or without automatic deserialization", async () => {
    const prefix = env.prefix();
    const all = new Uint8Array(256).map((_, i) => i);
    const value = {
      status: 200,
      headers: [["content-type", "application/octet-stream"]],
      body: all,
      big: bytes(256 * 1024),
      text: 'é ✓ 𝄞 \u0000 "quoted"',
      nested: { deep: [new Uint8Array(0), null, 1.5, true] },
    };
    for (const automaticDeserialization of [false, true]) {
      const store = new UpstashCacheStore({
        redis: env.client({ automaticDeserialization }),
        keyPrefix: prefix,
      });
      await store.set(`v:${automaticDeserialization}`, value, 60);
      assert.deepEqual(
        await store.get(`v:${automaticDeserialization}`),
        value,
      );
      await store.close();
    }
    // Values that look like JSON primitives stay what they were.
    const store = new UpstashCacheStore({
      redis: env.client({ automaticDeserialization: true }),
      keyPrefix: prefix,
    });
    for (const primitive of ["123", 123, "true", null, "", "null", [1, "2"]]) {
      await store.set("p", primitive, 60);
      assert.deepEqual(await store.get("p"), primitive);
    }
    await store.close();
  });

  it("set() skips an entry larger than maxEntrySizeBytes and reports cache.skipped instead of failing", async () => {
    const events: UpstashStoreEvent[] = [];
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
      maxEntrySizeBytes: 4_096,
      onEvent: (event) => events.push(event),
    });
    await store.set("small", { body: bytes(1_000) }, 60);
    await store.set("large", { body: bytes(4_000) }, 60);
    assert.ok(await store.get("small"));
    assert.equal(await store.get("large"), undefined);
    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.type, "cache.skipped");
    assert.ok(event.type === "cache.skipped");
    assert.equal(event.key, "large");
    assert.equal(event.limit, 4_096);
    assert.ok(event.bytes > 4_096 && event.bytes < 6_000);
    await store.close();
  });

  it("get() treats a value it did not write as a miss and deletes it", async () => {
    const prefix = env.prefix();
    const raw = env.client();
    const events: UpstashStoreEvent[] = [];
    const store = new UpstashCacheStore({
      redis: raw,
      keyPrefix: prefix,
      onEvent: (event) => {
        events.push(event);
        throw new Error("a listener that throws is ignored");
      },
    });
    const corrupt = ['{"status":200}', "v1:{not json", "v1:", "plain"];
    for (const [i, text] of corrupt.entries()) {
      await raw.set(`${prefix}cache:c${i}`, text);
      assert.equal(await store.get(`c${i}`), undefined);
      assert.equal(await raw.exists(`${prefix}cache:c${i}`), 0);
    }
    assert.deepEqual(
      events.map(({ type, key }) => ({ type, key })),
      corrupt.map((_, i) => ({ type: "cache.corrupt", key: `c${i}` })),
    );
    assert.ok(events.every((event) => "reason" in event && event.reason));
    await store.close();
  });

  it("stores entries with Redis's own millisecond expiry: fractional TTLs, 0 for none, negative to delete", async () => {
    const prefix = env.prefix();
    const raw = env.client();
    const store = new UpstashCacheStore({ redis: raw, keyPrefix: prefix });
    await store.set("short", "x", 0.25);
    const pttl = await raw.pttl(`${prefix}cache:short`);
    assert.ok(pttl > 0 && pttl <= 250, `PTTL was ${pttl}`);
    await store.set("forever", "y", 0);
    assert.equal(await raw.pttl(`${prefix}cache:forever`), -1);
    await store.set("forever", "z", -5);
    assert.equal(await raw.exists(`${prefix}cache:forever`), 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await store.get("short"), undefined);
    await store.close();
  });

  it("clear(prefix) removes only that client's or scope's entries, with SCAN and UNLINK, never KEYS", async () => {
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    const github = joinKey("github");
    const tenantA = joinKey("github", "tenant=a");
    const gitlab = joinKey("gitlab");
    await store.set(`${github}:cache:1`, 1, 60);
    await store.set(`${tenantA}:cache:2`, 2, 60);
    await store.set(`${gitlab}:cache:3`, 3, 60);
    env.bridge.resetCounts();
    await store.clear(`${tenantA}:`);
    const commands = env.bridge.log().flatMap((r) => r.commands);
    assert.ok(commands.includes("SCAN"));
    assert.ok(commands.includes("UNLINK"));
    assert.ok(!commands.includes("KEYS"));
    assert.equal(await store.get(`${tenantA}:cache:2`), undefined);
    assert.equal(await store.get(`${github}:cache:1`), 1);
    await store.clear(`${github}:`);
    assert.equal(await store.get(`${github}:cache:1`), undefined);
    assert.equal(await store.get(`${gitlab}:cache:3`), 3);
    await store.close();
  });

  it("clear(prefix) takes glob metacharacters in the prefix literally", async () => {
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    const names = ["a*", "ab", "a?", "[a]", "a", "a\\", "a]"];
    for (const name of names) await store.set(`${name}:cache:1`, name, 60);
    await store.clear("a*:");
    await store.clear("[a]:");
    await store.clear("a\\:");
    const left: string[] = [];
    for (const name of names) {
      if ((await store.get(`${name}:cache:1`)) !== undefined) left.push(name);
    }
    assert.deepEqual(left, ["ab", "a?", "a", "a]"]);
    await store.close();
  });

  it("a scope's clear cannot reach a scope whose id contains the separator", async () => {
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    // A tenant id crafted to look like tenant "a" plus more parts.
    const victim = joinKey("api", "tenant=a");
    const attacker = joinKey("api", "tenant=a:cache:x");
    await store.set(`${victim}:cache:1`, "victim", 60);
    await store.set(`${attacker}:cache:1`, "attacker", 60);
    assert.notEqual(`${attacker}:cache:1`, `${victim}:cache:x:cache:1`);
    await store.clear(`${attacker}:`);
    assert.equal(await store.get(`${victim}:cache:1`), "victim");
    assert.equal(await store.get(`${attacker}:cache:1`), undefined);
    await store.close();
  });

  it("clear() walks every SCAN step and leaves dedupe jobs and rate-limit windows alone", async () => {
    const prefix = env.prefix();
    const redis = env.client();
    const store = new UpstashCacheStore({
      redis,
      keyPrefix: prefix,
      scanCount: 10,
    });
    const dedupe = new UpstashDedupeStore({ redis, keyPrefix: prefix });
    const limits = new UpstashRateLimitStore({
      redis,
      keyPrefix: prefix,
      defaultConfig: { limit: 5, windowMs: 60_000 },
    });
    for (let i = 0; i < 55; i++) await store.set(`k${i}`, i, 60);
    await dedupe.registerOrJoin("job");
    await limits.acquire("resource");
    await limits.setCooldown("resource", 60_000);
    env.bridge.resetCounts();
    await store.clear();
    const scans = env.bridge.log().filter((r) => r.commands[0] === "SCAN");
    assert.ok(scans.length > 1, `${scans.length} SCAN steps`);
    for (let i = 0; i < 55; i++) {
      assert.equal(await store.get(`k${i}`), undefined);
    }
    assert.equal(await dedupe.isInProgress("job"), true);
    assert.equal((await limits.getStatus("resource")).remaining, 4);
    assert.ok((await limits.getCooldown("resource")) > 50_000);
    await Promise.all([store.close(), dedupe.close(), limits.close()]);
  });

  it("given url and token instead of a client, talks to the REST API with fetch, one command per request", async () => {
    const store = new UpstashCacheStore({
      url: env.bridge.url,
      token: env.bridge.token,
      keyPrefix: env.prefix(),
    });
    env.bridge.resetCounts();
    await store.set("k", { body: bytes(3_000) }, 60);
    assert.deepEqual(await store.get("k"), { body: bytes(3_000) });
    await store.clear();
    assert.equal(await store.get("k"), undefined);
    assert.equal(env.bridge.requests("/pipeline"), 0);
    assert.ok(env.bridge.requests("/") >= 5);
    await store.close();
  });

  it("rejects operations after close() with a StoreError", async () => {
    const store = new UpstashCacheStore({
      redis: env.client(),
      keyPrefix: env.prefix(),
    });
    await store.close();
    await store.close();
    await assert.rejects(store.get("k"), {
      name: "StoreError",
      backend: "upstash",
      operation: "get",
    });
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheStoreMetric,
  ConfigError,
  MemoryCacheStore,
  MonitoredCacheStore,
} from "../../../mod.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { until } from "../../client/_helpers.ts";
import { testDecorator } from "./_backends.ts";
import { entry, jsonBody } from "./_entries.ts";

testDecorator(
  "MonitoredCacheStore",
  (inner, { options }) => new MonitoredCacheStore(inner, () => {}, options),
  { invalidOptions: [{ clock: {} }, { clock: { now: 1 } }] },
);

describe("MonitoredCacheStore", () => {
  it("reports each operation with its duration on the clock, its outcome and its bytes", async () => {
    const clock = new ManualClock();
    const inner = new MemoryCacheStore({ clock });
    // A store that takes 30 ms of the clock to read.
    const get = inner.get.bind(inner);
    inner.get = async (key) => {
      await clock.sleep(30);
      return await get(key);
    };
    const metrics: CacheStoreMetric[] = [];
    const store = new MonitoredCacheStore(inner, (m) => metrics.push(m), {
      clock,
    });
    const value = entry({ body: new Uint8Array(1_000) });
    await store.set("k", value, 60);
    const reading = store.get("k");
    await until(() => clock.pendingSleeps === 1);
    clock.advance(30);
    assert.deepStrictEqual(await reading, value);
    const missing = store.get("missing");
    await until(() => clock.pendingSleeps === 1);
    clock.advance(30);
    assert.equal(await missing, undefined);
    await store.delete("k");
    await store.clear("p:");
    await store.getStats!();
    await store.cleanup!();

    assert.deepStrictEqual(metrics.map((m) => m.op), [
      "set",
      "get",
      "get",
      "delete",
      "clear",
      "getStats",
      "cleanup",
    ]);
    const [set, hit, miss] = metrics;
    assert.equal(set!.ok, true);
    assert.ok(set!.bytes >= 1_000 && set!.bytes < 1_400, `${set!.bytes} bytes`);
    assert.equal(set!.durationMs, 0);
    assert.deepStrictEqual(
      { ...hit, bytes: hit!.bytes === set!.bytes },
      { op: "get", durationMs: 30, ok: true, bytes: true, hit: true },
    );
    assert.deepStrictEqual(miss, {
      op: "get",
      durationMs: 30,
      ok: true,
      bytes: 0,
      hit: false,
    });
  });

  it("reports a failure by its error type, never by its message, keys or values", async () => {
    const inner = new MemoryCacheStore();
    const metrics: CacheStoreMetric[] = [];
    const store = new MonitoredCacheStore(inner, (m) => metrics.push(m));
    await store.set(
      "tenant=acme:cache:secret-key",
      entry({ body: jsonBody(3, "BODY-MARKER") }),
      60,
    );
    await inner.close();
    await assert.rejects(store.get("tenant=acme:cache:secret-key"), {
      code: "ERR_STORE",
    });
    const failure = metrics[1]!;
    assert.deepStrictEqual(failure.ok, false);
    assert.equal(failure.errorType, "ERR_STORE");
    assert.equal(failure.hit, undefined);
    const text = JSON.stringify(metrics);
    assert.doesNotMatch(text, /acme|secret-key|BODY-MARKER|closed/);
  });

  it("a listener that throws or rejects changes nothing for the caller", async () => {
    const store = new MonitoredCacheStore(new MemoryCacheStore(), () => {
      throw new Error("listener bug");
    });
    assert.equal(await store.set("k", "v", 60), true);
    assert.equal(await store.get("k"), "v");
    const rejecting = new MonitoredCacheStore(
      new MemoryCacheStore(),
      (() => Promise.reject(new Error("async listener bug"))) as never,
    );
    assert.equal(await rejecting.set("k", "v", 60), true);
    assert.equal(await rejecting.get("k"), "v");
  });

  it("refuses a listener that is not a function", () => {
    assert.throws(
      () => new MonitoredCacheStore(new MemoryCacheStore(), "log" as never),
      (e: unknown) => e instanceof ConfigError && e.option === "listener",
    );
  });
});

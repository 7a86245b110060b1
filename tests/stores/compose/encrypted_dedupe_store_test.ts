import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DedupeStore,
  EncryptedCacheStore,
  EncryptedDedupeStore,
  MemoryCacheStore,
  MemoryDedupeStore,
  type StoreEvent,
} from "../../../mod.ts";
import { showsPlaintext, testDedupeDecorator } from "./_backends.ts";
import { jsonBody } from "./_entries.ts";

const k1 = crypto.getRandomValues(new Uint8Array(32));

testDedupeDecorator(
  "EncryptedDedupeStore",
  (inner, options) =>
    new EncryptedDedupeStore(inner, { keys: { k1 }, ...options }),
  [
    { keys: {} },
    { keys: { k1: "not a key" } },
    { current: "k2" },
    { compress: 1 },
    { onEvent: 42 },
  ],
);

/** A memory dedupe store that remembers every result it was handed. */
function recording(): { store: DedupeStore<unknown>; results: unknown[] } {
  const inner = new MemoryDedupeStore();
  const results: unknown[] = [];
  const complete = inner.complete.bind(inner);
  inner.complete = (hash, value) => {
    results.push(value);
    return complete(hash, value);
  };
  return { store: inner, results };
}

/** A result shaped as the client shares one: a response's parts. */
function shared(marker: string) {
  return {
    sluice: 1,
    raw: {
      url: "https://api.example/users",
      status: 200,
      statusText: "OK",
      headers: [["x-account", `HEADER-${marker}`]],
      body: jsonBody(20, `BODY-${marker}`),
    },
    vary: {},
  };
}

describe("EncryptedDedupeStore", () => {
  it("hands the inner store no plaintext: neither the body nor a header value of a result", async () => {
    const { store: inner, results } = recording();
    const store = new EncryptedDedupeStore(inner, { keys: { k1 } });
    const result = shared("c0ffee");
    await store.registerOrJoin("h");
    const waiting = store.waitFor("h");
    await store.complete("h", result);
    assert.deepStrictEqual(await waiting, result);
    assert.equal(results.length, 1);
    const held = results[0];
    assert.ok(held instanceof Uint8Array);
    assert.equal(showsPlaintext(held, "BODY-c0ffee"), false);
    assert.equal(showsPlaintext(held, "HEADER-c0ffee"), false);
    await store.close();
  });

  it("a result changed in the store, or sealed with another key, reaches waiters as no result and is reported", async () => {
    const inner = new MemoryDedupeStore();
    const events: StoreEvent[] = [];
    const reader = new EncryptedDedupeStore(inner, {
      keys: { k1 },
      onEvent: (e) => events.push(e),
    });
    const other = new EncryptedDedupeStore(inner, {
      keys: { k1: crypto.getRandomValues(new Uint8Array(32)) },
    });
    await other.registerOrJoin("h");
    const waiting = reader.waitFor("h");
    await other.complete("h", shared("x"));
    assert.equal(await waiting, undefined);
    assert.deepStrictEqual(events.map((e) => e.type), ["dedupe.corrupt"]);
    // Waiters elect a new owner.
    assert.equal((await reader.registerOrJoin("h")).isOwner, true);
    await reader.close();
  });

  it("a result never opens as a cache entry, nor a cache entry as a result", async () => {
    const cacheInner = new MemoryCacheStore();
    const cache = new EncryptedCacheStore(cacheInner, { keys: { k1 } });
    const { store: inner, results } = recording();
    const dedupe = new EncryptedDedupeStore(inner, { keys: { k1 } });
    await dedupe.registerOrJoin("same");
    await dedupe.complete("same", { v: 1 });
    await cacheInner.set("same", results[0], 60);
    assert.equal(await cache.get("same"), undefined);

    await cache.set("entry", { v: 2 }, 60);
    const sealed = await cacheInner.get("entry");
    const plain = new MemoryDedupeStore();
    const reader = new EncryptedDedupeStore(plain, { keys: { k1 } });
    await plain.registerOrJoin("entry");
    const waiting = reader.waitFor("entry");
    await plain.complete("entry", sealed);
    assert.equal(await waiting, undefined);
    await reader.close();
    await dedupe.close();
  });

  it("a result that cannot be encoded rejects complete(), and fail() then frees the job", async () => {
    const store = new EncryptedDedupeStore(new MemoryDedupeStore<unknown>(), {
      keys: { k1 },
    });
    await store.registerOrJoin("h");
    const waiting = store.waitFor("h");
    await assert.rejects(store.complete("h", { n: 1n }), { code: "ERR_STORE" });
    await store.fail("h", new Error("not shareable"));
    assert.equal(await waiting, undefined);
    await store.close();
  });
});

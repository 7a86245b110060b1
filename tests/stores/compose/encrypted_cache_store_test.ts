import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CacheStore,
  ConfigError,
  EncryptedCacheStore,
  type EncryptedCacheStoreOptions,
  MemoryCacheStore,
  type StoreEvent,
} from "../../../mod.ts";
import { isCachedResponse } from "../../../src/cache/entry.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { backends, showsPlaintext, testDecorator } from "./_backends.ts";
import { entry, jsonBody } from "./_entries.ts";

const k1 = crypto.getRandomValues(new Uint8Array(32));
const k2 = crypto.getRandomValues(new Uint8Array(32));

function encrypted(
  inner: CacheStore<unknown>,
  options: Partial<EncryptedCacheStoreOptions> = {},
): EncryptedCacheStore<unknown> {
  return new EncryptedCacheStore(inner, { keys: { k1 }, ...options });
}

const invalidOptions = [
  { keys: {} },
  { keys: [] },
  { keys: { k1: new ArrayBuffer(16) } },
  { keys: { k1: "a passphrase" } },
  { keys: { "": k1 } },
  { keys: { ["x".repeat(256)]: k1 } },
  { keys: { k1, k2 } },
  { keys: { k1 }, current: "k2" },
  { compress: "yes" },
  { compress: { minBytes: -1 } },
  { compress: { maxDecompressedBytes: 0 } },
  { onEvent: "log" },
];

testDecorator(
  "EncryptedCacheStore",
  (inner, { options }) => encrypted(inner, options),
  { invalidOptions },
);
testDecorator(
  "EncryptedCacheStore with compress",
  (inner, { options }) => encrypted(inner, { compress: true, ...options }),
);

/** The key id a sealed value names, read from its clear header. */
function keyIdOf(sealed: unknown): string {
  assert.ok(sealed instanceof Uint8Array);
  return new TextDecoder().decode(sealed.subarray(5, 5 + sealed[4]!));
}

/** A copy of `bytes` with one bit flipped at `at` (from the end when negative). */
function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  const i = at < 0 ? out.length + at : at;
  out[i]! ^= 0x01;
  return out;
}

for (const backend of backends) {
  describe(`EncryptedCacheStore over ${backend.name}`, () => {
    backend.hooks();
    const open = () =>
      backend.open({ clock: new ManualClock(), namespace: "enc" });

    it("the inner store holds no plaintext: neither a marker from the body nor a header value", async () => {
      const value = entry({
        body: jsonBody(20, "SECRET-BODY-7f3a"),
        headers: { "x-account": "HEADER-VALUE-91c2" },
      });
      // The search finds both markers where a store holds the value as it is.
      const plain = open();
      await plain.store.set("github:cache:plain", value, 60);
      const plainRaw = await plain.raw("github:cache:plain");
      assert.ok(showsPlaintext(plainRaw, "SECRET-BODY-7f3a"));
      assert.ok(showsPlaintext(plainRaw, "HEADER-VALUE-91c2"));
      await plain.store.close();

      for (const compress of [false, true]) {
        const { store: inner, raw } = open();
        const store = encrypted(inner, { compress });
        await store.set("github:cache:1", value, 60);
        const held = await raw("github:cache:1");
        assert.notEqual(held, undefined);
        assert.equal(showsPlaintext(held, "SECRET-BODY-7f3a"), false);
        assert.equal(showsPlaintext(held, "HEADER-VALUE-91c2"), false);
        assert.equal(showsPlaintext(held, "api.example"), false);
        const back = await store.get("github:cache:1");
        assert.ok(isCachedResponse(back));
        assert.deepStrictEqual(back, value);
        await store.close();
      }
    });

    it("a flipped byte anywhere in the stored value is a miss, reported, and the entry is deleted", async () => {
      const { store: inner } = open();
      const events: StoreEvent[] = [];
      const store = encrypted(inner, { onEvent: (e) => events.push(e) });
      const value = entry();
      // The key id, the IV, the ciphertext and the tag.
      for (const at of [5, 8, 40, -1]) {
        await store.set("k", value, 60);
        const sealed = await inner.get("k") as Uint8Array;
        await inner.set("k", flipped(sealed, at), 60);
        assert.equal(await store.get("k"), undefined, `flipped at ${at}`);
        assert.equal(await inner.get("k"), undefined, "the entry is deleted");
      }
      assert.equal(events.length, 4);
      assert.ok(
        events.every((e) => e.type === "cache.corrupt" && e.key === "k"),
      );
      await store.close();
    });

    it("an entry under another key id, another key, or a value copied to another key or tenant is a miss and is deleted", async () => {
      const { store: inner } = open();
      const writer = encrypted(inner);
      const value = entry();
      await writer.set("github:tenant=a:cache:1", value, 60);
      const sealed = await inner.get("github:tenant=a:cache:1");

      // Copied under another tenant's key: the key is bound to the value.
      await inner.set("github:tenant=b:cache:1", sealed, 60);
      assert.equal(await writer.get("github:tenant=b:cache:1"), undefined);
      assert.equal(await inner.get("github:tenant=b:cache:1"), undefined);
      assert.deepStrictEqual(
        await writer.get("github:tenant=a:cache:1"),
        value,
      );

      // Another key under the same id.
      const wrongKey = encrypted(inner, {
        keys: { k1: crypto.getRandomValues(new Uint8Array(32)) },
      });
      assert.equal(await wrongKey.get("github:tenant=a:cache:1"), undefined);
      assert.equal(await inner.get("github:tenant=a:cache:1"), undefined);

      // A key id the ring lacks.
      await writer.set("k", value, 60);
      const otherRing = encrypted(inner, { keys: { k9: k1 } });
      assert.equal(await otherRing.get("k"), undefined);
      assert.equal(await inner.get("k"), undefined);

      // A value stored without encryption.
      await inner.set("plain", value, 60);
      assert.equal(await writer.get("plain"), undefined);
      assert.equal(await inner.get("plain"), undefined);
      await writer.close();
    });

    it("rotation: entries written with k1 still read once k2 is current, and new writes use k2", async () => {
      const { store: inner } = open();
      const before = encrypted(inner, { keys: { k1 } });
      const old = entry({ url: "https://api.example/old" });
      await before.set("old", old, 60);
      assert.equal(keyIdOf(await inner.get("old")), "k1");

      const rotated = encrypted(inner, { keys: { k2, k1 }, current: "k2" });
      assert.deepStrictEqual(await rotated.get("old"), old);
      const fresh = entry({ url: "https://api.example/new" });
      await rotated.set("new", fresh, 60);
      assert.equal(keyIdOf(await inner.get("new")), "k2");

      // Once k1 is dropped, only what k2 wrote reads.
      const after = encrypted(inner, { keys: { k2 } });
      assert.deepStrictEqual(await after.get("new"), fresh);
      assert.equal(await after.get("old"), undefined);
      await after.close();
    });
  });
}

describe("EncryptedCacheStore", () => {
  it("draws a fresh IV for every write: the same value never encrypts twice the same", async () => {
    const inner = new MemoryCacheStore();
    const store = encrypted(inner);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await store.set("k", { same: true }, 60);
      const sealed = await inner.get("k") as Uint8Array;
      seen.add(Array.from(sealed, (b) => b.toString(16)).join(""));
    }
    assert.equal(seen.size, 20);
  });

  it("accepts Web Crypto AES-GCM-256 keys, and refuses keys that cannot do the job", async () => {
    const key = await crypto.subtle.generateKey(
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    const inner = new MemoryCacheStore();
    const store = encrypted(inner, { keys: { web: key } });
    await store.set("k", { n: 1 }, 60);
    assert.deepStrictEqual(await store.get("k"), { n: 1 });
    // The same key as raw bytes opens what the CryptoKey sealed.
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const imported = await crypto.subtle.importKey(
      "raw",
      raw,
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
    await encrypted(inner, { keys: { a: imported } }).set("k", { n: 2 }, 60);
    assert.deepStrictEqual(
      await encrypted(inner, { keys: { a: raw } }).get("k"),
      { n: 2 },
    );

    const decryptOnly = await crypto.subtle.generateKey(
      { name: "AES-GCM", length: 256 },
      false,
      ["decrypt"],
    );
    assert.throws(
      () => encrypted(inner, { keys: { d: decryptOnly } }),
      (e: unknown) => e instanceof ConfigError && e.option === "keys.d",
    );
    // A decrypt-only key may stay in the ring to read older entries.
    encrypted(inner, { keys: { k1, d: decryptOnly }, current: "k1" });
    const short = await crypto.subtle.generateKey(
      { name: "AES-GCM", length: 128 },
      false,
      ["encrypt", "decrypt"],
    );
    assert.throws(
      () => encrypted(inner, { keys: { s: short } }),
      ConfigError,
    );
  });

  it("never puts a rejected key or passphrase in its error", () => {
    const inner = new MemoryCacheStore();
    try {
      encrypted(inner, {
        keys: { k1: "correct horse battery staple" as unknown as Uint8Array },
      });
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.option, "keys.k1");
      assert.doesNotMatch(error.message, /horse/);
      assert.doesNotMatch(String(error.value), /horse/);
    }
  });

  it("with compress, a JSON body is stored at least 5 times smaller than without", async () => {
    const value = entry({ body: jsonBody(2_000) });
    const plain = new MemoryCacheStore();
    const packed = new MemoryCacheStore();
    await encrypted(plain).set("k", value, 60);
    await encrypted(packed, { compress: true }).set("k", value, 60);
    const without = (await plain.get("k") as Uint8Array).byteLength;
    const withCompression = (await packed.get("k") as Uint8Array).byteLength;
    assert.ok(
      without >= 5 * withCompression,
      `${without} bytes against ${withCompression}`,
    );
    // A store without compress reads what one with compress wrote.
    assert.deepStrictEqual(await encrypted(packed).get("k"), value);
  });

  it("a negative TTL removes the entry and hands nothing to the inner store", async () => {
    const inner = new MemoryCacheStore();
    const store = encrypted(inner);
    await store.set("k", "v", 60);
    assert.equal(await store.set("k", "secret", -1), false);
    assert.equal(await inner.get("k"), undefined);
    assert.equal(inner.size, 0);
  });

  it("a value that cannot be encoded is a StoreError, and the older entry stays readable", async () => {
    const store = encrypted(new MemoryCacheStore());
    await store.set("k", "old", 60);
    await assert.rejects(
      store.set("k", { n: 10n }, 60),
      (e: unknown) => (e as { code?: string }).code === "ERR_STORE",
    );
    assert.equal(await store.get("k"), "old");
  });

  it("forwards getStats() and cleanup() when the inner store has them, and has none when it does not", async () => {
    const clock = new ManualClock();
    const inner = new MemoryCacheStore({ clock });
    const store = encrypted(inner);
    await store.set("a", "x", 1);
    clock.advance(2_000);
    assert.equal((await store.getStats!()).totalItems, 1);
    assert.equal(await store.cleanup!(), 1);
    const bare: CacheStore<unknown> = {
      get: () => Promise.resolve(undefined),
      set: () => Promise.resolve(true),
      delete: () => Promise.resolve(),
      clear: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const wrapped = encrypted(bare);
    assert.equal(typeof wrapped.getStats, "undefined");
    assert.equal(typeof wrapped.cleanup, "undefined");
  });
});

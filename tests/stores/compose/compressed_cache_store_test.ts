import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CompressedCacheStore,
  MemoryCacheStore,
  type StoreEvent,
} from "../../../mod.ts";
import { encodeBinary } from "../../../src/stores/codec.ts";
import { ManualClock } from "../../../testing/mod.ts";
import { backends, testDecorator } from "./_backends.ts";
import { entry, jsonBody, noise } from "./_entries.ts";

testDecorator(
  "CompressedCacheStore",
  (inner, { options }) => new CompressedCacheStore(inner, options),
  {
    invalidOptions: [
      { minBytes: -1 },
      { minBytes: 1.5 },
      { minBytes: "1kb" },
      { maxDecompressedBytes: 0 },
      { maxDecompressedBytes: Infinity },
      { onEvent: true },
    ],
  },
);

function size(raw: Uint8Array | string | undefined): number {
  assert.notEqual(raw, undefined);
  return typeof raw === "string" ? raw.length : raw!.byteLength;
}

async function gzipped(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A stored value in the compressed form, declaring `length` bytes inflated. */
function packed(compressed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(8 + compressed.byteLength);
  out.set([0x53, 0x5a, 0x01, 0x01]);
  new DataView(out.buffer).setUint32(4, length);
  out.set(compressed, 8);
  return out;
}

for (const backend of backends) {
  describe(`CompressedCacheStore over ${backend.name}`, () => {
    backend.hooks();
    const open = () =>
      backend.open({ clock: new ManualClock(), namespace: "gz" });

    it("stores a JSON response at least 5 times smaller, and reads it back exactly", async () => {
      const value = entry({ body: jsonBody(2_000) });
      const plain = open();
      const inner = open();
      const store = new CompressedCacheStore(inner.store);
      await plain.store.set("k", value, 60);
      await store.set("k", value, 60);
      const without = size(await plain.raw("k"));
      const withCompression = size(await inner.raw("k"));
      assert.ok(
        without >= 5 * withCompression,
        `${without} bytes stored plain, ${withCompression} compressed`,
      );
      assert.deepStrictEqual(await store.get("k"), value);
      await plain.store.close();
      await store.close();
    });

    it("stores an incompressible response unchanged, as the inner store alone would", async () => {
      const value = entry({
        body: noise(50_000),
        headers: { "content-type": "application/octet-stream" },
      });
      const plain = open();
      const inner = open();
      const store = new CompressedCacheStore(inner.store);
      await plain.store.set("k", value, 60);
      await store.set("k", value, 60);
      assert.deepStrictEqual(await inner.raw("k"), await plain.raw("k"));
      assert.deepStrictEqual(await store.get("k"), value);
      await plain.store.close();
      await store.close();
    });
  });
}

describe("CompressedCacheStore", () => {
  it("stores unchanged what would not pay: short values, compressed media types, bodies still in their coding", async () => {
    const inner = new MemoryCacheStore();
    const store = new CompressedCacheStore(inner, { minBytes: 1024 });
    const zeros = new Uint8Array(20_000);
    const gzipBody = await gzipped(jsonBody(500));
    const unchanged = {
      short: entry({ body: jsonBody(5) }),
      png: entry({ body: zeros, headers: { "content-type": "image/png" } }),
      video: entry({ body: zeros, headers: { "content-type": "video/mp4" } }),
      audio: entry({ body: zeros, headers: { "content-type": "audio/ogg" } }),
      zip: entry({
        body: zeros,
        headers: { "content-type": "application/zip" },
      }),
      woff2: entry({ body: zeros, headers: { "content-type": "font/woff2" } }),
      epub: entry({
        body: zeros,
        headers: { "content-type": "application/epub+zip" },
      }),
      gzipped: entry({
        body: gzipBody,
        headers: { "content-encoding": "gzip" },
      }),
    };
    for (const [key, value] of Object.entries(unchanged)) {
      await store.set(key, value, 60);
      assert.equal(await inner.get(key), value, `${key} is stored as it is`);
    }
    // What a runtime's fetch stores: the header kept, the body decoded.
    const compressible = {
      svg: entry({ body: zeros, headers: { "content-type": "image/svg+xml" } }),
      decoded: entry({
        body: jsonBody(500),
        headers: { "content-encoding": "gzip" },
      }),
      brotliDecoded: entry({
        body: jsonBody(500),
        headers: { "content-encoding": "br" },
      }),
      text: "lorem ipsum ".repeat(500),
    };
    for (const [key, value] of Object.entries(compressible)) {
      await store.set(key, value, 60);
      assert.ok(
        await inner.get(key) instanceof Uint8Array,
        `${key} is compressed`,
      );
      assert.deepStrictEqual(await store.get(key), value);
    }
  });

  it("stores a value unchanged when gzip saves less than 10 %", async () => {
    const inner = new MemoryCacheStore();
    const store = new CompressedCacheStore(inner, { minBytes: 0 });
    // 8 % of the bytes compress away, at most.
    const body = noise(20_000);
    body.fill(0, 0, 1_600);
    const value = { body };
    await store.set("k", value, 60);
    assert.equal(await inner.get("k"), value);
  });

  it("reads values stored before compression was added, and bytes that look compressed round-trip", async () => {
    const inner = new MemoryCacheStore();
    await inner.set("old", { v: "stored plain" }, 60);
    const store = new CompressedCacheStore(inner, { minBytes: 0 });
    assert.deepStrictEqual(await store.get("old"), { v: "stored plain" });
    const lookalike = new Uint8Array([0x53, 0x5a, 0x01, 0x01, 0, 0, 0, 9, 1]);
    await store.set("bytes", lookalike, 60);
    assert.deepStrictEqual(await store.get("bytes"), lookalike);
  });

  it("a decompression bomb is a miss: inflating stops at maxDecompressedBytes, and the entry is deleted", async () => {
    const inner = new MemoryCacheStore();
    const events: StoreEvent[] = [];
    const store = new CompressedCacheStore(inner, {
      maxDecompressedBytes: 1_048_576,
      onEvent: (e) => events.push(e),
    });
    const frame = encodeBinary(new Uint8Array(16 * 1_048_576));
    const bomb = await gzipped(frame);
    assert.ok(bomb.byteLength < 100_000, `${bomb.byteLength} bytes of gzip`);

    // Declared as what it is: over the limit, never inflated.
    await inner.set("honest", packed(bomb, frame.byteLength), 60);
    assert.equal(await store.get("honest"), undefined);
    assert.equal(await inner.get("honest"), undefined);

    // Declared small: inflating stops at the declared length.
    await inner.set("lying", packed(bomb, 1_000), 60);
    assert.equal(await store.get("lying"), undefined);
    assert.equal(await inner.get("lying"), undefined);

    // Not gzip at all, or cut short.
    await inner.set("garbage", packed(noise(64), 100), 60);
    assert.equal(await store.get("garbage"), undefined);
    const text = encodeBinary({ v: "x".repeat(5_000) });
    const whole = await gzipped(text);
    await inner.set(
      "cut",
      packed(whole.subarray(0, whole.length - 9), text.byteLength),
      60,
    );
    assert.equal(await store.get("cut"), undefined);

    assert.deepStrictEqual(events.map((e) => e.type), [
      "cache.corrupt",
      "cache.corrupt",
      "cache.corrupt",
      "cache.corrupt",
    ]);
  });

  it("a value that cannot be encoded is a StoreError", async () => {
    const store = new CompressedCacheStore(new MemoryCacheStore<unknown>());
    await assert.rejects(store.set("k", { n: 1n }, 60), { code: "ERR_STORE" });
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CodecError,
  decodeBinary,
  decodeText,
  encodeBinary,
  encodeText,
  fromBase64,
  toBase64,
} from "../../src/stores/codec.ts";

const samples: Record<string, unknown> = {
  "a string": "hello",
  "unicode": "héllo 🌊 \u0000 \u2028",
  "an empty string": "",
  "nested JSON": { a: [1, 2, { b: null, c: true }], d: { e: "f" } },
  "a Uint8Array": new Uint8Array([0, 1, 2, 254, 255]),
  "an empty Uint8Array": new Uint8Array(0),
  "bytes inside an object": {
    status: 200,
    headers: [["content-type", "application/octet-stream"]],
    body: new Uint8Array([0xff, 0xfe, 0x00, 0x80]),
    parts: [new Uint8Array([1]), new Uint8Array([2, 3])],
  },
  "an object using the reserved key": { "\u0001sluice.bytes": [0, 1], x: 1 },
  "null": null,
  "zero": 0,
};

describe("store codec", () => {
  for (const [name, value] of Object.entries(samples)) {
    it(`encodeBinary()/decodeBinary() round-trips ${name} exactly`, () => {
      assert.deepEqual(decodeBinary(encodeBinary(value)), value);
    });
    it(`encodeText()/decodeText() round-trips ${name} exactly`, () => {
      assert.deepEqual(decodeText(encodeText(value)), value);
    });
  }

  it("decodeBinary() copies bytes, so mutating a result never changes the frame", () => {
    const frame = encodeBinary({ body: new Uint8Array([1, 2, 3]) });
    const first = decodeBinary(frame) as { body: Uint8Array };
    first.body[0] = 99;
    assert.deepEqual(
      (decodeBinary(frame) as { body: Uint8Array }).body,
      new Uint8Array([1, 2, 3]),
    );
  });

  it("decodeBinary() rejects foreign, truncated and corrupt frames with CodecError", () => {
    const good = encodeBinary({ body: new Uint8Array(10) });
    assert.throws(
      () => decodeBinary(new TextEncoder().encode("{}")),
      CodecError,
    );
    assert.throws(() => decodeBinary(good.subarray(0, 8)), CodecError);
    assert.throws(
      () => decodeBinary(good.subarray(0, good.length - 5)),
      CodecError,
    );
    const corrupt = good.slice();
    corrupt[7] = 0xff;
    assert.throws(() => decodeBinary(corrupt), CodecError);
  });

  it("decodeText() rejects invalid JSON and bad base64 with CodecError", () => {
    assert.throws(() => decodeText("{not json"), CodecError);
    assert.throws(
      () => decodeText('{"\\u0001sluice.bytes":"@@@"}'),
      CodecError,
    );
    assert.throws(() => decodeText('{"\\u0001sluice.bytes":7}'), CodecError);
  });

  it("toBase64()/fromBase64() agree with btoa/atob for every length up to 64", () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from(
        { length: n },
        (_, i) => (i * 37 + n) & 0xff,
      );
      const expected = btoa(String.fromCharCode(...bytes));
      assert.equal(toBase64(bytes), expected);
      assert.deepEqual(fromBase64(expected), bytes);
    }
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyJson } from "../../src/client/_data.ts";

describe("copyJson()", () => {
  it("copies JSON nested 100,000 levels deep: __proto__ keys as data, key order, no shared parts", () => {
    const depth = 100_000;
    const leaf = '{"b":1,"a":[true,null,"x",{"z":[[]],"y":{}}],"1":2.5}';
    const source = JSON.parse(
      '{"__proto__":'.repeat(depth) + leaf + "}".repeat(depth),
    );
    const copy = copyJson(source);
    let a: unknown = source;
    let b: unknown = copy;
    for (let level = 0; level < depth; level++) {
      assert.notEqual(a, b);
      assert.equal(Object.getPrototypeOf(b), Object.prototype);
      assert.deepEqual(Object.keys(b as object), ["__proto__"]);
      a = Object.getOwnPropertyDescriptor(a, "__proto__")?.value;
      b = Object.getOwnPropertyDescriptor(b, "__proto__")?.value;
    }
    const from = a as { a: unknown[] };
    const to = b as { a: unknown[] };
    assert.deepEqual(to, JSON.parse(leaf));
    assert.deepEqual(Object.keys(to), ["1", "b", "a"]);
    assert.notEqual(to, from);
    assert.notEqual(to.a, from.a);
    assert.notEqual(to.a[3], from.a[3]);
    assert.equal(copyJson("text"), "text");
    assert.equal(copyJson(null), null);
  });
});

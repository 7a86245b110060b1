import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  normaliseFieldValue,
  variantKey,
  varyMatches,
  varyNames,
  varySelection,
} from "../../src/cache/vary.ts";
import { entry } from "./_entry.ts";

describe("varyNames()", () => {
  const cases: [string | null, string[]][] = [
    [null, []],
    ["", []],
    [" , ", []],
    ["Accept", ["accept"]],
    ["accept-encoding, Accept, ACCEPT", ["accept", "accept-encoding"]],
    ["Accept, *", ["*"]],
    ["*", ["*"]],
    ["foo bar", ["*"]],
    ["a=b", ["*"]],
    ["é", ["*"]],
    ["Accept, x y", ["*"]],
    ['"accept"', ["*"]],
    ["accept;q=1", ["*"]],
  ];
  for (const [input, expected] of cases) {
    it(`reads ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(varyNames(input), expected);
    });
  }
});

describe("normaliseFieldValue()", () => {
  const cases: [string, string | null, string | null][] = [
    ["x-tenant", null, null],
    ["x-tenant", "  Acme   Corp\t ", "Acme Corp"],
    ["x-api-version", "V2", "V2"],
    ["accept-encoding", "GZIP,  br ,deflate", "gzip,br,deflate"],
    [
      "accept",
      "Text/HTML ; q=0.9 , application/json",
      "text/html;q=0.9,application/json",
    ],
    ["accept-language", "en-US, de ; q = 0.5", "en-us,de;q=0.5"],
    ["x-empty", "", ""],
  ];
  for (const [name, input, expected] of cases) {
    it(`normalises ${name}: ${JSON.stringify(input)}`, () => {
      assert.equal(normaliseFieldValue(name, input), expected);
    });
  }
});

describe("normaliseFieldValue() on credentials", () => {
  it("never keeps a credential in clear, yet tells credentials apart", () => {
    for (const name of ["authorization", "cookie", "proxy-authorization"]) {
      const a = normaliseFieldValue(name, "Bearer secret-token-a");
      const b = normaliseFieldValue(name, "Bearer secret-token-b");
      assert.ok(a !== null && !a.includes("secret"), name);
      assert.notEqual(a, b);
      assert.equal(a, normaliseFieldValue(name, "  Bearer secret-token-a "));
    }
  });

  it("keeps a missing credential distinct from an empty one", () => {
    assert.equal(normaliseFieldValue("cookie", null), null);
    assert.notEqual(normaliseFieldValue("cookie", ""), null);
  });

  it("matches a stored entry that varies on Authorization by digest", () => {
    const e = entry({
      headers: { vary: "Authorization" },
      requestHeaders: { authorization: "Bearer t1" },
    });
    assert.ok(!JSON.stringify(e).includes("Bearer t1"));
    assert.equal(
      varyMatches(e, new Headers({ authorization: "Bearer t1" })),
      true,
    );
    assert.equal(
      varyMatches(e, new Headers({ authorization: "Bearer t2" })),
      false,
    );
  });
});

describe("varySelection() and varyMatches()", () => {
  it("captures null for a varied field the request did not carry", () => {
    assert.deepEqual(
      varySelection("X-Tenant", new Headers()),
      { "x-tenant": null },
    );
  });

  it("accepts a list of names as well as a Vary value", () => {
    const headers = new Headers({ accept: "A/B" });
    assert.deepEqual(
      varySelection(["accept"], headers),
      varySelection("Accept", headers),
    );
  });

  const stored = entry({
    headers: { vary: "Accept-Encoding, X-Tenant" },
    requestHeaders: { "accept-encoding": "gzip, br", "x-tenant": "t1" },
  });
  const matches: [string, Record<string, string>, boolean][] = [
    ["matches identical fields", {
      "accept-encoding": "gzip, br",
      "x-tenant": "t1",
    }, true],
    ["matches fields that differ only in case and spacing where safe", {
      "Accept-Encoding": "GZIP,br",
      "x-tenant": " t1 ",
    }, true],
    ["refuses a different value", {
      "accept-encoding": "gzip, br",
      "x-tenant": "t2",
    }, false],
    ["refuses a case change where case may matter", {
      "accept-encoding": "gzip, br",
      "x-tenant": "T1",
    }, false],
    ["refuses a missing field that was present", {
      "accept-encoding": "gzip, br",
    }, false],
    ["refuses reordered token lists", {
      "accept-encoding": "br, gzip",
      "x-tenant": "t1",
    }, false],
  ];
  for (const [name, request, expected] of matches) {
    it(`varyMatches() ${name}`, () => {
      assert.equal(varyMatches(stored, new Headers(request)), expected);
    });
  }

  it("varyMatches() refuses a field present now but absent when stored", () => {
    const e = entry({ headers: { vary: "X-Tenant" } });
    assert.equal(varyMatches(e, new Headers()), true);
    assert.equal(varyMatches(e, new Headers({ "x-tenant": "" })), false);
  });

  it("varyMatches() never matches Vary: *", () => {
    const e = { varyHeaders: varySelection("*", new Headers()) };
    assert.equal(varyMatches(e, new Headers()), false);
  });

  it("treats a Vary naming something that is not a field name as Vary: *", () => {
    const request = new Headers({ accept: "a/b" });
    for (const vary of ["foo bar", "a=b", "é", "accept, x y"]) {
      const selection = varySelection(vary, request);
      assert.deepEqual(selection, { "*": null }, vary);
      assert.equal(varyMatches({ varyHeaders: selection }, request), false);
    }
    assert.deepEqual(varySelection(["accept", "a b"], request), { "*": null });
  });

  it("varyMatches() refuses, without throwing, a stored name that is not a field name", () => {
    assert.equal(
      varyMatches({ varyHeaders: { "foo bar": null } }, new Headers()),
      false,
    );
  });

  it("varyMatches() matches anything when nothing varies", () => {
    assert.equal(varyMatches(entry(), new Headers({ a: "b" })), true);
  });
});

describe("variantKey()", () => {
  it("is empty when nothing varies", () => {
    assert.equal(variantKey({}), "");
  });

  it("ignores the order of names", () => {
    assert.equal(
      variantKey({ a: "1", b: null }),
      variantKey({ b: null, a: "1" }),
    );
  });

  it("tells apart every different selection", () => {
    const selections: Record<string, string | null>[] = [
      { a: null },
      { a: "" },
      { a: "null" },
      { a: "1" },
      { a: "1", b: null },
      { "a,b": "1" },
      { a: '1"],["b', b: null },
      { a: "1", b: "2" },
      { a: "12" },
    ];
    const keys = new Set(selections.map(variantKey));
    assert.equal(keys.size, selections.length);
  });

  it("gives equal keys to requests that normalise alike", () => {
    const vary = "Accept-Encoding";
    assert.equal(
      variantKey(
        varySelection(vary, new Headers({ "accept-encoding": "GZIP, br" })),
      ),
      variantKey(
        varySelection(vary, new Headers({ "accept-encoding": "gzip,br" })),
      ),
    );
  });
});

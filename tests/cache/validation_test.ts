import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  conditionalHeaders,
  mergeNotModified,
  notModifiedMatches,
} from "../../src/cache/validation.ts";
import { evaluate } from "../../src/cache/evaluate.ts";
import { toResponse } from "../../src/cache/entry.ts";
import { fieldValue } from "../../src/cache/_fields.ts";
import { entry, httpDate, T0 } from "./_entry.ts";

const LM = httpDate(T0 - 86_400_000);

describe("conditionalHeaders()", () => {
  const cases: [string, Record<string, string>, [string, string][]][] = [
    ["sends If-None-Match from ETag", { etag: '"v1"' }, [[
      "if-none-match",
      '"v1"',
    ]]],
    ["keeps a weak ETag as is", { etag: 'W/"v1"' }, [[
      "if-none-match",
      'W/"v1"',
    ]]],
    ["sends If-Modified-Since from Last-Modified", { "last-modified": LM }, [[
      "if-modified-since",
      LM,
    ]]],
    ["sends both when both exist", { etag: '"v1"', "last-modified": LM }, [
      ["if-none-match", '"v1"'],
      ["if-modified-since", LM],
    ]],
    ["skips an invalid Last-Modified", { "last-modified": "yesterday" }, []],
    ["sends nothing without validators", {}, []],
  ];
  for (const [name, headers, expected] of cases) {
    it(name, () => {
      assert.deepEqual(conditionalHeaders(entry({ headers })), expected);
    });
  }
});

describe("notModifiedMatches()", () => {
  const stored = entry({ headers: { etag: '"v1"', "last-modified": LM } });
  const cases: [string, Record<string, string>, boolean][] = [
    ["accepts the same ETag", { etag: '"v1"' }, true],
    ["accepts a weak form of the same ETag", { etag: 'W/"v1"' }, true],
    ["refuses another ETag", { etag: '"v2"' }, false],
    [
      "accepts the same Last-Modified without ETag",
      { "last-modified": LM },
      true,
    ],
    ["refuses another Last-Modified without ETag", {
      "last-modified": httpDate(T0),
    }, false],
    ["accepts a 304 without validators", {}, true],
  ];
  for (const [name, headers, expected] of cases) {
    it(name, () => {
      assert.equal(notModifiedMatches(stored, new Headers(headers)), expected);
    });
  }

  it("refuses a 304 with an ETag when the stored response had none", () => {
    assert.equal(
      notModifiedMatches(entry(), new Headers({ etag: '"v1"' })),
      false,
    );
  });
});

describe("mergeNotModified()", () => {
  const stored = entry({
    headers: {
      "cache-control": "max-age=10",
      etag: '"v1"',
      "content-type": "application/json",
      "content-length": "7",
      "x-old": "kept",
      "x-replaced": "old",
    },
    body: "payload",
  });

  it("replaces stored fields with those of the 304 and keeps the others", () => {
    const merged = mergeNotModified(
      stored,
      new Headers({ "x-replaced": "new", "x-added": "1" }),
      T0 + 20_000,
      T0 + 20_100,
      {},
    );
    assert.equal(fieldValue(merged.headers, "x-replaced"), "new");
    assert.equal(fieldValue(merged.headers, "x-added"), "1");
    assert.equal(fieldValue(merged.headers, "x-old"), "kept");
  });

  it("never takes framing or coding fields from the 304", () => {
    const merged = mergeNotModified(
      stored,
      new Headers({
        "content-length": "0",
        "content-type": "text/html",
        "content-encoding": "gzip",
        "transfer-encoding": "chunked",
        connection: "x-hop",
        "x-hop": "1",
      }),
      T0 + 20_000,
      T0 + 20_000,
      {},
    );
    assert.equal(fieldValue(merged.headers, "content-length"), "7");
    assert.equal(
      fieldValue(merged.headers, "content-type"),
      "application/json",
    );
    for (const name of ["content-encoding", "transfer-encoding", "x-hop"]) {
      assert.equal(fieldValue(merged.headers, name), null, name);
    }
  });

  it("keeps the stored body and returns a new entry", async () => {
    const merged = mergeNotModified(stored, new Headers(), T0, T0, {});
    assert.notEqual(merged, stored);
    assert.equal(await toResponse(merged).text(), "payload");
    assert.equal(fieldValue(stored.headers, "x-replaced"), "old");
  });

  it("refreshes freshness from the 304's times and directives", () => {
    assert.equal(evaluate(new Headers(), stored, T0 + 20_000).kind, "stale");
    const date = httpDate(T0 + 20_000);
    const merged = mergeNotModified(
      stored,
      new Headers({ "cache-control": "max-age=60", date }),
      T0 + 20_000,
      T0 + 20_000,
      {},
    );
    assert.equal(merged.policy.freshnessLifetimeMs, 60_000);
    assert.equal(merged.responseTime, T0 + 20_000);
    assert.deepEqual(evaluate(new Headers(), merged, T0 + 50_000), {
      kind: "fresh",
      ageSeconds: 30,
      servedStale: false,
    });
  });

  it("keeps the old lifetime when the 304 carries no directives, counted from the new time", () => {
    const merged = mergeNotModified(
      stored,
      new Headers({ date: httpDate(T0 + 30_000) }),
      T0 + 30_000,
      T0 + 30_000,
      {},
    );
    assert.equal(evaluate(new Headers(), merged, T0 + 35_000).kind, "fresh");
    assert.equal(evaluate(new Headers(), merged, T0 + 41_000).kind, "stale");
  });

  it("applies a new qualified no-cache to the merged fields", () => {
    const merged = mergeNotModified(
      stored,
      new Headers({
        "cache-control": 'max-age=60, no-cache="x-old"',
      }),
      T0,
      T0,
      {},
    );
    assert.equal(fieldValue(merged.headers, "x-old"), null);
  });

  it("replaces every Set-Cookie line at once", () => {
    const withCookies = entry({
      headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["etag", '"v"']],
    });
    const fresh = new Headers();
    fresh.append("set-cookie", "c=3");
    const merged = mergeNotModified(withCookies, fresh, T0, T0, {});
    assert.deepEqual(
      merged.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v),
      ["c=3"],
    );
  });

  it("keeps the Vary selection of the stored response", () => {
    const varied = entry({
      headers: { vary: "Accept", etag: '"v"' },
      requestHeaders: { accept: "text/csv" },
    });
    const merged = mergeNotModified(varied, new Headers(), T0, T0, {});
    assert.deepEqual(merged.varyHeaders, { accept: "text/csv" });
  });
});

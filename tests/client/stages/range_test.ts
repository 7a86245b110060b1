// The Range stage alone: parsing the field, placing the range in a body,
// If-Range, and the 206 or 416 cut from a stored response.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { entryOutcome } from "../../../src/client/_call.ts";
import {
  answersRange,
  ifRangeMatches,
  parseRange,
  rangedOutcome,
  sliceOf,
} from "../../../src/client/_range.ts";
import { testEntry } from "./_pipeline.ts";

const T = Date.UTC(2030, 0, 1);
const LAST_MODIFIED = "Tue, 01 Jan 2030 00:00:00 GMT";

describe("parseRange", () => {
  it("reads the three forms of one byte range", () => {
    assert.deepEqual(parseRange("bytes=0-499"), { first: 0, last: 499 });
    assert.deepEqual(parseRange("bytes=500-"), { first: 500, last: undefined });
    assert.deepEqual(parseRange("bytes=-20"), { suffix: 20 });
    assert.deepEqual(parseRange("bytes=7-7"), { first: 7, last: 7 });
  });

  it("takes the unit in any case, and ignores empty list elements", () => {
    assert.deepEqual(parseRange("Bytes=1-2"), { first: 1, last: 2 });
    assert.deepEqual(parseRange("BYTES= 1-2 ,"), { first: 1, last: 2 });
    assert.deepEqual(parseRange("bytes=, ,-3"), { suffix: 3 });
  });

  it("refuses several ranges, other units and malformed ranges", () => {
    for (
      const value of [
        "bytes=0-1,5-6",
        "bytes=0-1, -2",
        "items=0-1",
        "bytes 0-1",
        "bytes =0-1",
        "bytes=",
        "bytes=,",
        "bytes=-",
        "bytes=5-2",
        "bytes=1 - 2",
        "bytes=a-2",
        "bytes=0x1-2",
        "bytes=+1-2",
        "bytes=1.5-2",
        "bytes=--1",
        "bytes=١-٢",
        "=0-1",
        "",
      ]
    ) {
      assert.equal(parseRange(value), undefined, value);
    }
  });

  it("keeps positions past what a body can hold unsatisfiable or clamped, never wrong", () => {
    const huge = "99999999999999999999";
    assert.deepEqual(parseRange(`bytes=0-${huge}`), {
      first: 0,
      last: Number.MAX_SAFE_INTEGER,
    });
    assert.equal(parseRange(`bytes=${huge}1-${huge}`), undefined);
    const far = parseRange(`bytes=${huge}-`)!;
    assert.equal(sliceOf(far, 10), "unsatisfiable");
    assert.deepEqual(sliceOf(parseRange(`bytes=-${huge}`)!, 10), {
      start: 0,
      end: 9,
    });
  });
});

describe("sliceOf", () => {
  it("places a range in a body, stopping at its end", () => {
    assert.deepEqual(sliceOf({ first: 2, last: 5 }, 10), { start: 2, end: 5 });
    assert.deepEqual(sliceOf({ first: 8, last: 50 }, 10), { start: 8, end: 9 });
    assert.deepEqual(sliceOf({ first: 3, last: undefined }, 10), {
      start: 3,
      end: 9,
    });
    assert.deepEqual(sliceOf({ suffix: 3 }, 10), { start: 7, end: 9 });
    assert.deepEqual(sliceOf({ suffix: 30 }, 10), { start: 0, end: 9 });
  });

  it("finds a range that starts at or past the end, or an empty suffix, unsatisfiable", () => {
    assert.equal(sliceOf({ first: 10, last: undefined }, 10), "unsatisfiable");
    assert.equal(sliceOf({ first: 11, last: 20 }, 10), "unsatisfiable");
    assert.equal(sliceOf({ suffix: 0 }, 10), "unsatisfiable");
    assert.equal(sliceOf({ first: 0, last: 0 }, 0), "unsatisfiable");
    assert.equal(sliceOf({ suffix: 5 }, 0), "whole");
  });
});

describe("ifRangeMatches", () => {
  it("matches the stored ETag by strong comparison only", () => {
    const entry = testEntry(T, { etag: '"v1"' });
    assert.equal(ifRangeMatches('"v1"', entry), true);
    assert.equal(ifRangeMatches(' "v1" ', entry), true);
    assert.equal(ifRangeMatches('"v2"', entry), false);
    assert.equal(ifRangeMatches('W/"v1"', entry), false);
    const weak = testEntry(T, { etag: 'W/"v1"' });
    assert.equal(ifRangeMatches('W/"v1"', weak), false);
    assert.equal(ifRangeMatches('"v1"', weak), false);
    assert.equal(ifRangeMatches('"v1"', testEntry(T, {})), false);
  });

  it("matches the stored Last-Modified exactly, when the stored Date makes it strong", () => {
    const strong = testEntry(T, {
      "last-modified": LAST_MODIFIED,
      date: "Tue, 01 Jan 2030 00:00:01 GMT",
    });
    assert.equal(ifRangeMatches(LAST_MODIFIED, strong), true);
    assert.equal(
      ifRangeMatches("Tue, 01 Jan 2030 00:00:02 GMT", strong),
      false,
    );
    assert.equal(
      ifRangeMatches("Tuesday, 01-Jan-30 00:00:00 GMT", strong),
      false,
    );
    const sameSecond = testEntry(T, {
      "last-modified": LAST_MODIFIED,
      date: LAST_MODIFIED,
    });
    assert.equal(ifRangeMatches(LAST_MODIFIED, sameSecond), false);
    const undated = testEntry(T, { "last-modified": LAST_MODIFIED });
    assert.equal(ifRangeMatches(LAST_MODIFIED, undated), false);
  });
});

describe("answersRange", () => {
  const range = { range: { first: 0, last: 1 }, ifRange: null };

  it("answers one byte range of a 200, and leaves the rest to the origin", () => {
    const entry = testEntry(T, { etag: '"v1"' });
    assert.equal(answersRange(entry, range), true);
    assert.equal(
      answersRange(entry, { range: undefined, ifRange: null }),
      false,
    );
    assert.equal(answersRange(entry, { ...range, ifRange: '"v1"' }), true);
    assert.equal(answersRange(entry, { ...range, ifRange: '"v0"' }), false);
  });

  it("leaves a content-coded body to the origin: the range counts encoded bytes", () => {
    const gzip = testEntry(T, { "content-encoding": "gzip" });
    assert.equal(answersRange(gzip, range), false);
    const identity = testEntry(T, { "content-encoding": "identity" });
    assert.equal(answersRange(identity, range), true);
  });

  it("serves a stored response that is not a 200 as it is", () => {
    const entry = { ...testEntry(T, {}), status: 404 };
    assert.equal(
      answersRange(entry, { range: undefined, ifRange: null }),
      true,
    );
    const outcome = entryOutcome(entry, T, "cache");
    assert.equal(rangedOutcome(outcome, range), outcome);
  });
});

describe("rangedOutcome", () => {
  it("cuts a 206 with Content-Range and the slice's Content-Length, keeping the other fields", () => {
    const entry = testEntry(T, {
      "content-type": "text/plain",
      "content-length": "10",
      "cache-control": "max-age=60",
      etag: '"v1"',
    }, "0123456789");
    const outcome = rangedOutcome(entryOutcome(entry, T + 3_000, "cache"), {
      range: { first: 2, last: 4 },
      ifRange: null,
    });
    assert.equal(outcome.kind, "raw");
    if (outcome.kind !== "raw") return;
    assert.equal(outcome.source, "cache");
    assert.equal(outcome.raw.status, 206);
    assert.equal(new TextDecoder().decode(outcome.raw.body), "234");
    assert.deepEqual(Object.fromEntries(outcome.raw.headers), {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      etag: '"v1"',
      "content-range": "bytes 2-4/10",
      "content-length": "3",
      age: "3",
    });
    // The stored entry is unchanged.
    assert.equal((entry.body as Uint8Array).byteLength, 10);
  });

  it("answers an unsatisfiable range with a 416 naming the length, and no stored body", () => {
    const entry = testEntry(T, {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      etag: '"v1"',
      "last-modified": LAST_MODIFIED,
    }, "0123456789");
    const outcome = rangedOutcome(entryOutcome(entry, T, "cache"), {
      range: { first: 10, last: undefined },
      ifRange: null,
    });
    assert.equal(outcome.kind, "raw");
    if (outcome.kind !== "raw") return;
    assert.equal(outcome.raw.status, 416);
    assert.equal(outcome.raw.body.byteLength, 0);
    assert.deepEqual(Object.fromEntries(outcome.raw.headers), {
      etag: '"v1"',
      "last-modified": LAST_MODIFIED,
      "content-range": "bytes */10",
      "content-length": "0",
    });
  });

  it("serves an empty body whole for a suffix range", () => {
    const outcome = entryOutcome(testEntry(T, {}, ""), T, "cache");
    assert.equal(
      rangedOutcome(outcome, { range: { suffix: 4 }, ifRange: null }),
      outcome,
    );
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { storageTtlSeconds } from "../../src/cache/storage_ttl.ts";
import type { CachePolicyOptions } from "../../src/cache/options.ts";
import { entry, httpDate, T0 } from "./_entry.ts";

const DAY_S = 86_400;

describe("storageTtlSeconds()", () => {
  const cases: [string, Record<string, string>, CachePolicyOptions, number][] =
    [
      [
        "keeps a fresh entry for its lifetime",
        { "cache-control": "max-age=60" },
        { staleStorageMs: 0 },
        60,
      ],
      [
        "adds the stale-while-revalidate window",
        {
          "cache-control": "max-age=60, stale-while-revalidate=30",
        },
        { staleStorageMs: 0 },
        90,
      ],
      [
        "adds the longer of the two stale windows",
        {
          "cache-control":
            "max-age=60, stale-while-revalidate=30, stale-if-error=300",
        },
        { staleStorageMs: 0 },
        360,
      ],
      [
        "adds no stale window under must-revalidate",
        {
          "cache-control": "max-age=60, stale-if-error=300, must-revalidate",
        },
        {},
        60,
      ],
      [
        "keeps an entry with a validator for a day after it goes stale",
        {
          "cache-control": "max-age=60",
          etag: '"v"',
        },
        {},
        60 + DAY_S,
      ],
      [
        "keeps an entry with only Last-Modified for revalidation too",
        {
          "cache-control": "max-age=0",
          "last-modified": httpDate(T0 - 1000),
        },
        {},
        DAY_S,
      ],
      [
        "uses revalidationStorageMs",
        {
          "cache-control": "max-age=60",
          etag: '"v"',
        },
        { revalidationStorageMs: 10_000, staleStorageMs: 0 },
        70,
      ],
      [
        "prefers a stale window longer than the revalidation time",
        {
          "cache-control": "max-age=60, stale-if-error=600",
          etag: '"v"',
        },
        { revalidationStorageMs: 10_000, staleStorageMs: 0 },
        660,
      ],
      [
        "keeps a no-cache entry with a validator",
        {
          "cache-control": "no-cache, max-age=60",
          etag: '"v"',
        },
        { revalidationStorageMs: 1_000 },
        61,
      ],
      [
        "deducts the age on arrival",
        { "cache-control": "max-age=60", age: "45" },
        { staleStorageMs: 0 },
        15,
      ],
      ["allows fractional seconds", { "cache-control": "max-age=1" }, {
        overrides: { maxTtlMs: 250 },
        staleStorageMs: 0,
      }, 0.25],
      [
        "keeps an entry an hour after it goes stale, for requests that accept it stale",
        { "cache-control": "max-age=60" },
        {},
        60 + 3_600,
      ],
      [
        "uses staleStorageMs",
        { "cache-control": "max-age=60" },
        { staleStorageMs: 120_000 },
        180,
      ],
      [
        "prefers a stale window longer than staleStorageMs",
        { "cache-control": "max-age=60, stale-if-error=600" },
        { staleStorageMs: 60_000 },
        660,
      ],
      [
        "keeps an entry with a validator for the longer of staleStorageMs and revalidationStorageMs",
        { "cache-control": "max-age=60", etag: '"v"' },
        { revalidationStorageMs: 10_000, staleStorageMs: 120_000 },
        180,
      ],
      [
        "keeps what is left of staleStorageMs for an entry stale on arrival",
        { "cache-control": "max-age=60", age: "120" },
        {},
        3_540,
      ],
      [
        "adds no staleStorageMs under must-revalidate",
        { "cache-control": "max-age=60, must-revalidate", etag: '"v"' },
        { revalidationStorageMs: 10_000, staleStorageMs: 120_000 },
        70,
      ],
      [
        "adds no staleStorageMs to an entry that was never fresh",
        { "cache-control": "max-age=0, stale-if-error=30" },
        {},
        30,
      ],
    ];
  for (const [name, headers, options, expected] of cases) {
    it(name, () => {
      assert.equal(
        storageTtlSeconds(entry({ headers, options }), options),
        expected,
      );
    });
  }

  const useless: [string, Record<string, string>, CachePolicyOptions][] = [
    ["an entry stale on arrival without validator or window", {
      "cache-control": "max-age=0",
    }, {}],
    ["an entry without any freshness, validator or window", {}, {}],
    ["an entry older than its lifetime on arrival, without staleStorageMs", {
      "cache-control": "max-age=60",
      age: "120",
    }, { staleStorageMs: 0 }],
    ["a no-cache entry without a validator", {
      "cache-control": "no-cache, max-age=60",
    }, {}],
  ];
  for (const [name, headers, options] of useless) {
    it(`returns -1, never 0, for ${name}`, () => {
      assert.equal(storageTtlSeconds(entry({ headers }), options), -1);
    });
  }

  it("counts from the time of storing", () => {
    const e = entry({ headers: { "cache-control": "max-age=60" } });
    assert.equal(storageTtlSeconds(e, {}, T0 + 20_000), 40 + 3_600);
    assert.equal(storageTtlSeconds(e, {}, T0 + 60_000), 3_600);
    const none = { staleStorageMs: 0 };
    assert.equal(storageTtlSeconds(e, none, T0 + 20_000), 40);
    assert.equal(storageTtlSeconds(e, none, T0 + 60_000), -1);
  });

  it("never returns 0 for any lifetime", () => {
    for (let ms = 0; ms < 3_000; ms += 7) {
      const e = entry({
        headers: { "cache-control": "max-age=0" },
        options: { overrides: { minTtlMs: ms } },
      });
      const ttl = storageTtlSeconds(e, {});
      assert.ok(ttl > 0 || ttl === -1, `${ms}: ${ttl}`);
    }
  });
});

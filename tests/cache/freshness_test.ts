import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  currentAgeMs,
  freshnessLifetimeMs,
  initialAgeMs,
  isHeuristicallyCacheable,
} from "../../src/cache/freshness.ts";
import type { CachePolicyOptions } from "../../src/cache/options.ts";
import { formatHttpDate, parseHttpDate } from "../../src/cache/http_date.ts";
import { entry, httpDate, T0 } from "./_entry.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("freshnessLifetimeMs()", () => {
  const cases: [
    string,
    Record<string, string>,
    CachePolicyOptions,
    number,
    number?,
  ][] = [
    ["reads max-age", { "cache-control": "max-age=60" }, {}, 60_000],
    [
      "prefers max-age over Expires",
      {
        "cache-control": "max-age=60",
        expires: httpDate(T0 + HOUR),
      },
      {},
      60_000,
    ],
    [
      "ignores s-maxage in a private cache",
      {
        "cache-control": "s-maxage=5, max-age=60",
      },
      {},
      60_000,
    ],
    [
      "prefers s-maxage over max-age in a shared cache",
      {
        "cache-control": "s-maxage=5, max-age=60",
      },
      { shared: true },
      5_000,
    ],
    ["reads Expires minus Date", { expires: httpDate(T0 + HOUR) }, {}, HOUR],
    [
      "measures Expires from Date, not from the receive time",
      {
        date: httpDate(T0 - 10_000),
        expires: httpDate(T0 + 50_000),
      },
      {},
      60_000,
    ],
    [
      "treats an invalid Expires as already expired",
      {
        expires: "0",
        "last-modified": httpDate(T0 - 10 * DAY),
      },
      {},
      0,
    ],
    [
      "treats an Expires before Date as already expired",
      {
        expires: httpDate(T0 - HOUR),
      },
      {},
      0,
    ],
    [
      "treats an invalid max-age as already expired",
      {
        "cache-control": "max-age=soon",
        expires: httpDate(T0 + HOUR),
      },
      {},
      0,
    ],
    [
      "uses 10% of the time since Last-Modified as heuristic freshness",
      {
        "last-modified": httpDate(T0 - 10 * HOUR),
      },
      {},
      HOUR,
    ],
    [
      "caps heuristic freshness at 24 hours by default",
      {
        "last-modified": httpDate(T0 - 1000 * DAY),
      },
      {},
      DAY,
    ],
    [
      "caps heuristic freshness at maxHeuristicMs",
      {
        "last-modified": httpDate(T0 - 1000 * DAY),
      },
      { maxHeuristicMs: HOUR },
      HOUR,
    ],
    [
      "turns heuristic freshness off with maxHeuristicMs 0",
      {
        "last-modified": httpDate(T0 - 10 * HOUR),
      },
      { maxHeuristicMs: 0 },
      0,
    ],
    ["gives no heuristic freshness without Last-Modified", {}, {}, 0],
    [
      "gives no heuristic freshness to a status that is not heuristically cacheable",
      {
        "last-modified": httpDate(T0 - 10 * HOUR),
      },
      {},
      0,
      500,
    ],
    [
      "gives heuristic freshness to a public response of any status",
      {
        "cache-control": "public",
        "last-modified": httpDate(T0 - 10 * HOUR),
      },
      {},
      HOUR,
      302,
    ],
    ["applies defaultTtlMs without explicit freshness", {}, {
      defaultTtlMs: 5_000,
    }, 5_000],
    [
      "prefers defaultTtlMs over heuristic freshness",
      {
        "last-modified": httpDate(T0 - 10 * HOUR),
      },
      { defaultTtlMs: 5_000 },
      5_000,
    ],
    [
      "prefers explicit freshness over defaultTtlMs",
      {
        "cache-control": "max-age=1",
      },
      { defaultTtlMs: 5_000 },
      1_000,
    ],
    [
      "counts an invalid Expires as explicit, ignoring defaultTtlMs",
      {
        expires: "never",
      },
      { defaultTtlMs: 5_000 },
      0,
    ],
    [
      "never applies defaultTtlMs to a 503",
      {},
      { defaultTtlMs: 5_000 },
      0,
      503,
    ],
    [
      "raises a short lifetime to overrides.minTtlMs",
      {
        "cache-control": "max-age=1",
      },
      { overrides: { minTtlMs: 30_000 } },
      30_000,
    ],
    [
      "cuts a long lifetime to overrides.maxTtlMs",
      {
        "cache-control": "max-age=86400",
      },
      { overrides: { maxTtlMs: 30_000 } },
      30_000,
    ],
    [
      "keeps a lifetime between the override bounds",
      {
        "cache-control": "max-age=20",
      },
      { overrides: { minTtlMs: 10_000, maxTtlMs: 30_000 } },
      20_000,
    ],
  ];
  for (const [name, headers, options, expected, status] of cases) {
    it(name, () => {
      const e = entry({ headers, status: status ?? 200, options });
      assert.equal(freshnessLifetimeMs(e, options), expected);
      assert.equal(e.policy.freshnessLifetimeMs, expected);
    });
  }

  it("marks heuristic lifetimes as heuristic in the precomputed policy", () => {
    const e = entry({ headers: { "last-modified": httpDate(T0 - 10 * HOUR) } });
    assert.equal(e.policy.heuristic, true);
    assert.equal(
      entry({ headers: { "cache-control": "max-age=5" } }).policy.heuristic,
      false,
    );
  });
});

describe("initialAgeMs() and currentAgeMs()", () => {
  it("is the resident time alone for a response with no Age and a correct Date", () => {
    const e = entry({ headers: { "cache-control": "max-age=60" } });
    assert.equal(initialAgeMs(e), 0);
    assert.equal(currentAgeMs(e, T0 + 7_000), 7_000);
  });

  it("adds the Age field and the response delay", () => {
    const e = entry({
      headers: { age: "30" },
      requestTime: T0 - 2_000,
      responseTime: T0,
    });
    assert.equal(initialAgeMs(e), 32_000);
    assert.equal(currentAgeMs(e, T0 + 1_000), 33_000);
  });

  it("uses the apparent age when Date is further in the past", () => {
    const e = entry({ headers: { date: httpDate(T0 - 100_000), age: "5" } });
    assert.equal(initialAgeMs(e), 100_000);
  });

  it("ignores a Date in the future (clock skew) rather than going negative", () => {
    const e = entry({ headers: { date: httpDate(T0 + 100_000) } });
    assert.equal(initialAgeMs(e), 0);
  });

  it("ignores an invalid Age", () => {
    const e = entry({ headers: { age: "-5" } });
    assert.equal(initialAgeMs(e), 0);
  });

  it("never goes backwards when the clock is before the response time", () => {
    const e = entry({ headers: { age: "3" } });
    assert.equal(currentAgeMs(e, T0 - 50_000), 3_000);
  });

  it("computes the same age from headers as from the precomputed age", () => {
    const e = entry({
      headers: { age: "12", date: httpDate(T0 - 3_000) },
      requestTime: T0 - 500,
    });
    const { initialAgeMs: _, ...withoutAge } = e;
    assert.equal(currentAgeMs(withoutAge, T0 + 9_000), 21_500);
    assert.equal(currentAgeMs(e, T0 + 9_000), 21_500);
  });
});

describe("isHeuristicallyCacheable()", () => {
  it("accepts exactly the heuristically cacheable statuses sluice stores", () => {
    const accepted = [];
    for (let status = 100; status < 600; status++) {
      if (isHeuristicallyCacheable(status)) accepted.push(status);
    }
    assert.deepEqual(
      accepted,
      [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501],
    );
  });
});

describe("parseHttpDate()", () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  const valid: [string, string][] = [
    ["IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ["RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT"],
    ["asctime", "Sun Nov  6 08:49:37 1994"],
    [
      "lower-case IMF-fixdate with surrounding spaces",
      "  sun, 06 nov 1994 08:49:37 gmt ",
    ],
  ];
  for (const [name, value] of valid) {
    it(`reads the ${name} format`, () => {
      assert.equal(parseHttpDate(value, Date.UTC(2026, 0, 1)), expected);
    });
  }

  const invalid = [
    "0",
    "-1",
    "1",
    "",
    "tomorrow",
    "Sun, 31 Feb 1994 08:49:37 GMT",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 PST",
    "2026-01-01T00:00:00Z",
  ];
  for (const value of invalid) {
    it(`rejects ${JSON.stringify(value)}`, () => {
      assert.equal(parseHttpDate(value), undefined);
    });
  }

  it("reads a two-digit RFC 850 year more than 50 years ahead as the past century", () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(
      parseHttpDate("Thursday, 01-Jan-80 00:00:00 GMT", now),
      Date.UTC(1980, 0, 1),
    );
    assert.equal(
      parseHttpDate("Thursday, 01-Jan-70 00:00:00 GMT", now),
      Date.UTC(2070, 0, 1),
    );
    assert.equal(
      parseHttpDate("Friday, 01-Jan-99 00:00:00 GMT", now),
      Date.UTC(1999, 0, 1),
    );
  });

  it("round-trips formatHttpDate()", () => {
    for (const ms of [0, T0, Date.UTC(2099, 11, 31, 23, 59, 59)]) {
      assert.equal(parseHttpDate(formatHttpDate(ms)), ms);
    }
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheEvaluation,
  evaluate,
  staleIfErrorApplies,
} from "../../src/cache/evaluate.ts";
import type { CachePolicyOptions } from "../../src/cache/options.ts";
import {
  onlyIfCached,
  onlyIfCachedMiss,
  requestCacheControl,
} from "../../src/cache/request.ts";
import { entry, T0 } from "./_entry.ts";

interface Case {
  name: string;
  response: Record<string, string>;
  request?: Record<string, string>;
  /** Milliseconds after the response was received. */
  after: number;
  options?: CachePolicyOptions;
  expected: CacheEvaluation;
}

const cases: Case[] = [
  {
    name: "serves a fresh entry",
    response: { "cache-control": "max-age=60" },
    after: 59_000,
    expected: { kind: "fresh", ageSeconds: 59, servedStale: false },
  },
  {
    name: "refuses an entry exactly at the end of its lifetime",
    response: { "cache-control": "max-age=60" },
    after: 60_000,
    expected: { kind: "stale", ageSeconds: 60, staleIfError: false },
  },
  {
    name: "counts the Age field in the age",
    response: { "cache-control": "max-age=60", age: "50" },
    after: 11_000,
    expected: { kind: "stale", ageSeconds: 61, staleIfError: false },
  },
  {
    name: "makes a response no-cache entry validate even when fresh",
    response: { "cache-control": "max-age=60, no-cache" },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "serves a no-cache entry without validation when overridden",
    response: { "cache-control": "max-age=60, no-cache" },
    options: { overrides: { ignoreNoCache: true } },
    after: 1_000,
    expected: { kind: "fresh", ageSeconds: 1, servedStale: false },
  },
  {
    name: "does not force validation for a qualified no-cache",
    response: { "cache-control": 'max-age=60, no-cache="set-cookie"' },
    after: 1_000,
    expected: { kind: "fresh", ageSeconds: 1, servedStale: false },
  },
  {
    name: "makes a request no-cache validate a fresh entry",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "no-cache" },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "reads Pragma: no-cache when the request has no Cache-Control",
    response: { "cache-control": "max-age=60" },
    request: { pragma: "no-cache" },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "ignores Pragma when the request has Cache-Control",
    response: { "cache-control": "max-age=60" },
    request: { pragma: "no-cache", "cache-control": "max-stale=5" },
    after: 1_000,
    expected: { kind: "fresh", ageSeconds: 1, servedStale: false },
  },
  {
    name: "serves an entry despite a request no-store",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "no-store" },
    after: 1_000,
    expected: { kind: "fresh", ageSeconds: 1, servedStale: false },
  },
  {
    name: "refuses an entry older than the request max-age",
    response: { "cache-control": "max-age=600" },
    request: { "cache-control": "max-age=10" },
    after: 11_000,
    expected: { kind: "stale", ageSeconds: 11, staleIfError: false },
  },
  {
    name: "serves an entry as old as the request max-age",
    response: { "cache-control": "max-age=600" },
    request: { "cache-control": "max-age=10" },
    after: 10_000,
    expected: { kind: "fresh", ageSeconds: 10, servedStale: false },
  },
  {
    name: "reads a request max-age=0 as a demand for validation",
    response: { "cache-control": "max-age=600" },
    request: { "cache-control": "max-age=0" },
    after: 1,
    expected: { kind: "stale", ageSeconds: 0, staleIfError: false },
  },
  {
    name: "refuses an entry with less freshness left than min-fresh",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "min-fresh=20" },
    after: 41_000,
    expected: { kind: "stale", ageSeconds: 41, staleIfError: false },
  },
  {
    name: "serves an entry with enough freshness left for min-fresh",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "min-fresh=20" },
    after: 40_000,
    expected: { kind: "fresh", ageSeconds: 40, servedStale: false },
  },
  {
    name: "serves a stale entry within the request max-stale",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-stale=30" },
    after: 90_000,
    expected: { kind: "fresh", ageSeconds: 90, servedStale: true },
  },
  {
    name: "refuses a stale entry beyond the request max-stale",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-stale=30" },
    after: 90_001,
    expected: { kind: "stale", ageSeconds: 90, staleIfError: false },
  },
  {
    name: "serves any stale entry for a request max-stale without value",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-stale" },
    after: 365 * 86_400_000,
    expected: { kind: "fresh", ageSeconds: 365 * 86_400, servedStale: true },
  },
  {
    name: "refuses a stale must-revalidate entry even with max-stale",
    response: { "cache-control": "max-age=60, must-revalidate" },
    request: { "cache-control": "max-stale" },
    after: 61_000,
    expected: { kind: "stale", ageSeconds: 61, staleIfError: false },
  },
  {
    name: "serves a fresh must-revalidate entry",
    response: { "cache-control": "max-age=60, must-revalidate" },
    after: 59_000,
    expected: { kind: "fresh", ageSeconds: 59, servedStale: false },
  },
  {
    name:
      "lets a shared cache refuse a stale proxy-revalidate entry with max-stale",
    response: { "cache-control": "max-age=60, proxy-revalidate" },
    request: { "cache-control": "max-stale" },
    options: { shared: true },
    after: 61_000,
    expected: { kind: "stale", ageSeconds: 61, staleIfError: false },
  },
  {
    name: "lets a private cache ignore proxy-revalidate",
    response: { "cache-control": "max-age=60, proxy-revalidate" },
    request: { "cache-control": "max-stale" },
    after: 61_000,
    expected: { kind: "fresh", ageSeconds: 61, servedStale: true },
  },
  {
    name: "serves stale within stale-while-revalidate",
    response: { "cache-control": "max-age=60, stale-while-revalidate=30" },
    after: 90_000,
    expected: { kind: "stale-while-revalidate", ageSeconds: 90 },
  },
  {
    name: "requires validation past stale-while-revalidate",
    response: { "cache-control": "max-age=60, stale-while-revalidate=30" },
    after: 90_001,
    expected: { kind: "stale", ageSeconds: 90, staleIfError: false },
  },
  {
    name: "never serves stale-while-revalidate with must-revalidate",
    response: {
      "cache-control": "max-age=60, stale-while-revalidate=30, must-revalidate",
    },
    after: 61_000,
    expected: { kind: "stale", ageSeconds: 61, staleIfError: false },
  },
  {
    name: "never serves stale-while-revalidate for a request no-cache",
    response: { "cache-control": "max-age=60, stale-while-revalidate=30" },
    request: { "cache-control": "no-cache" },
    after: 61_000,
    expected: { kind: "stale", ageSeconds: 61, staleIfError: false },
  },
  {
    name: "reports stale-if-error within its window",
    response: { "cache-control": "max-age=60, stale-if-error=600" },
    after: 120_000,
    expected: { kind: "stale", ageSeconds: 120, staleIfError: true },
  },
  {
    name: "reports no stale-if-error past its window",
    response: { "cache-control": "max-age=60, stale-if-error=600" },
    after: 660_001,
    expected: { kind: "stale", ageSeconds: 660, staleIfError: false },
  },
  {
    name: "honours a request stale-if-error",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-age=0, stale-if-error=100" },
    after: 120_000,
    expected: { kind: "stale", ageSeconds: 120, staleIfError: true },
  },
  {
    name: "refuses stale-if-error with must-revalidate",
    response: {
      "cache-control": "max-age=60, stale-if-error=600, must-revalidate",
    },
    after: 120_000,
    expected: { kind: "stale", ageSeconds: 120, staleIfError: false },
  },
  {
    name: "refuses stale-if-error with no-cache",
    response: { "cache-control": "no-cache, stale-if-error=600" },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "reads an entry without freshness as stale at once",
    response: { etag: '"v1"' },
    after: 0,
    expected: { kind: "stale", ageSeconds: 0, staleIfError: false },
  },
  {
    name: "serves within the user's defaultTtlMs",
    response: {},
    options: { defaultTtlMs: 5_000 },
    after: 4_999,
    expected: { kind: "fresh", ageSeconds: 4, servedStale: false },
  },
  {
    name: "reads a response max-age with a space after '=' as stale at once",
    response: { "cache-control": "max-age= 3600" },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "reads a response max-age with a space before '=' as stale at once",
    response: {
      "cache-control": "max-age =3600",
      expires: "Fri, 01 Jan 2100 00:00:00 GMT",
    },
    after: 1_000,
    expected: { kind: "stale", ageSeconds: 1, staleIfError: false },
  },
  {
    name: "ignores a response stale-while-revalidate with a space after '='",
    response: { "cache-control": "max-age=60, stale-while-revalidate= 30" },
    after: 70_000,
    expected: { kind: "stale", ageSeconds: 70, staleIfError: false },
  },
  {
    name: "ignores a response stale-if-error with a space before '='",
    response: { "cache-control": "max-age=60, stale-if-error =600" },
    after: 120_000,
    expected: { kind: "stale", ageSeconds: 120, staleIfError: false },
  },
  {
    name:
      "reads a request max-age with a space before '=' as a demand for validation",
    response: { "cache-control": "max-age=600" },
    request: { "cache-control": "max-age =10" },
    after: 5_000,
    expected: { kind: "stale", ageSeconds: 5, staleIfError: false },
  },
  {
    name: "ignores a request max-stale with a space before '='",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-stale =30" },
    after: 70_000,
    expected: { kind: "stale", ageSeconds: 70, staleIfError: false },
  },
  {
    name: "ignores a request max-stale with a space after '='",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-stale= 30" },
    after: 70_000,
    expected: { kind: "stale", ageSeconds: 70, staleIfError: false },
  },
  {
    name:
      "ignores a request min-fresh with spaces around '=', as any invalid one",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "min-fresh = 20" },
    after: 50_000,
    expected: { kind: "fresh", ageSeconds: 50, servedStale: false },
  },
  {
    name: "ignores a request stale-if-error with a space after '='",
    response: { "cache-control": "max-age=60" },
    request: { "cache-control": "max-age=0, stale-if-error= 100" },
    after: 120_000,
    expected: { kind: "stale", ageSeconds: 120, staleIfError: false },
  },
  {
    name: "refuses a mismatched Vary",
    response: { "cache-control": "max-age=60", vary: "Accept-Language" },
    request: { "accept-language": "de" },
    after: 1_000,
    expected: { kind: "unusable", reason: "vary" },
  },
];

describe("evaluate()", () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = entry({
        headers: c.response,
        requestHeaders: { "accept-language": "en" },
        ...(c.options ? { options: c.options } : {}),
      });
      assert.deepEqual(
        evaluate(new Headers(c.request ?? {}), e, T0 + c.after),
        c.expected,
      );
    });
  }

  it("survives a JSON round trip of the entry (the precomputed policy is plain data)", () => {
    const e = entry({
      headers: { "cache-control": "max-age=60, stale-while-revalidate=30" },
    });
    const copy = JSON.parse(JSON.stringify({ ...e, body: [] }));
    copy.body = e.body;
    for (const after of [0, 59_000, 61_000, 95_000]) {
      assert.deepEqual(
        evaluate(new Headers(), copy, T0 + after),
        evaluate(new Headers(), e, T0 + after),
      );
    }
  });
});

describe("staleIfErrorApplies()", () => {
  it("applies within the window counted from the end of freshness", () => {
    const e = entry({
      headers: { "cache-control": "max-age=60, stale-if-error=60" },
    });
    assert.equal(staleIfErrorApplies(e, T0 + 30_000), true);
    assert.equal(staleIfErrorApplies(e, T0 + 120_000), true);
    assert.equal(staleIfErrorApplies(e, T0 + 120_001), false);
  });

  it("never applies without a window", () => {
    const e = entry({ headers: { "cache-control": "max-age=60" } });
    assert.equal(staleIfErrorApplies(e, T0 + 61_000), false);
  });

  it("widens to the request's own window", () => {
    const e = entry({
      headers: { "cache-control": "max-age=60, stale-if-error=10" },
    });
    assert.equal(staleIfErrorApplies(e, T0 + 100_000), false);
    assert.equal(staleIfErrorApplies(e, T0 + 100_000, 60), true);
  });

  it("never applies to a must-revalidate entry, whatever the request says", () => {
    const e = entry({
      headers: { "cache-control": "max-age=60, must-revalidate" },
    });
    assert.equal(staleIfErrorApplies(e, T0 + 61_000, 3_600), false);
  });
});

describe("onlyIfCached() and requestCacheControl()", () => {
  it("detects only-if-cached in any case and position", () => {
    assert.equal(
      onlyIfCached(
        new Headers({ "cache-control": "max-age=5, Only-If-Cached" }),
      ),
      true,
    );
    assert.equal(onlyIfCached(new Headers()), false);
    assert.equal(
      onlyIfCached(new Headers({ "cache-control": "no-cache" })),
      false,
    );
  });

  it("answers an only-if-cached miss with a 504 that is never stored", () => {
    const response = onlyIfCachedMiss();
    assert.equal(response.status, 504);
    assert.match(response.headers.get("cache-control") ?? "", /no-store/);
  });

  it("reads Pragma: no-cache only as a member of the list", () => {
    assert.equal(
      requestCacheControl(new Headers({ pragma: "foo, no-cache" })).noCache,
      true,
    );
    assert.equal(
      requestCacheControl(new Headers({ pragma: "no-cache-please" })).noCache,
      false,
    );
  });

  it("returns a shared frozen object for requests without directives", () => {
    const a = requestCacheControl(new Headers());
    assert.equal(a, requestCacheControl(new Headers()));
    assert.ok(Object.isFrozen(a));
  });
});

describe("evaluate() on generated inputs", () => {
  let seed = 99;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)]!;
  const responseDirectives = [
    "max-age=60",
    "max-age=0",
    "no-cache",
    "must-revalidate",
    "stale-while-revalidate=30",
    "stale-if-error=30",
    "public",
    "s-maxage=5",
    "",
  ];
  const requestDirectives = [
    "no-cache",
    "max-age=10",
    "max-stale",
    "max-stale=20",
    "min-fresh=5",
    "only-if-cached",
    "stale-if-error=9",
    'max-age="x',
    ",,=;",
  ];

  it("never throws and always reports a whole, non-negative age", () => {
    for (let n = 0; n < 2_000; n++) {
      const e = entry({
        headers: {
          "cache-control": `${pick(responseDirectives)}, ${
            pick(responseDirectives)
          }`,
          age: String(Math.floor(random() * 100)),
        },
      });
      const request = new Headers({
        "cache-control": `${pick(requestDirectives)}, ${
          pick(requestDirectives)
        }`,
      });
      const decision = evaluate(
        request,
        e,
        T0 + Math.floor(random() * 200_000),
      );
      assert.ok(
        ["fresh", "stale-while-revalidate", "stale"].includes(decision.kind),
      );
      if (decision.kind !== "unusable") {
        assert.ok(
          Number.isInteger(decision.ageSeconds) && decision.ageSeconds >= 0,
        );
      }
    }
  });

  it("serves a plain request without validation exactly while the entry is fresh", () => {
    for (let n = 0; n < 2_000; n++) {
      const e = entry({
        headers: {
          "cache-control": `${pick(responseDirectives)}, ${
            pick(responseDirectives)
          }`,
          age: String(Math.floor(random() * 100)),
        },
      });
      const now = T0 + Math.floor(random() * 200_000);
      const age = e.initialAgeMs + (now - T0);
      const fresh = age < e.policy.freshnessLifetimeMs &&
        !e.policy.requiresValidation;
      assert.equal(evaluate(new Headers(), e, now).kind === "fresh", fresh);
    }
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  parseRetryAfter,
  type RateLimitSignals,
  readRateLimitSignals,
} from "../../src/rate_limit/server_signals.ts";

const NOW = Date.UTC(2026, 0, 1);
const NOW_S = NOW / 1000;

describe("parseRetryAfter()", () => {
  const cases: [string, string | null, number | undefined][] = [
    ["reads delta-seconds", "120", 120_000],
    ["reads 0", "0", 0],
    ["reads fractional seconds", "1.5", 1_500],
    ["reads surrounding whitespace", "  7 ", 7_000],
    ["reads a negative number as 0", "-30", 0],
    [
      "reads an HTTP-date in the future",
      new Date(NOW + 45_000).toUTCString(),
      45_000,
    ],
    [
      "reads an HTTP-date in the past as 0",
      new Date(NOW - 45_000).toUTCString(),
      0,
    ],
    ["reads the obsolete asctime format", "Thu Jan  1 00:01:00 2026", 60_000],
    ["clamps absurd values", "99999999999999999999", 2_147_483_647_000],
    ["rejects absence", null, undefined],
    ["rejects an empty value", "", undefined],
    ["rejects words", "soon", undefined],
    ["rejects a number with units", "10s", undefined],
    ["rejects an ISO date", "2026-01-01T00:01:00Z", undefined],
    ["rejects 1e3", "1e3", undefined],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      assert.equal(parseRetryAfter(value, NOW), expected);
    });
  }
});

describe("readRateLimitSignals()", () => {
  const cases: [string, Record<string, string>, RateLimitSignals, number?][] = [
    ["reads nothing from a response without signals", {
      "content-type": "text/plain",
    }, {}],
    ["derives a cooldown from Retry-After", { "retry-after": "30" }, {
      cooldownMs: 30_000,
    }],
    ["derives no cooldown from Retry-After: 0", { "retry-after": "0" }, {}],
    ["ignores Retry-After on a redirect", { "retry-after": "30" }, {}, 301],
    ["honours Retry-After on a 429", { "retry-after": "30" }, {
      cooldownMs: 30_000,
    }, 429],
    ["honours Retry-After on a 503", { "retry-after": "30" }, {
      cooldownMs: 30_000,
    }, 503],
    ["reads draft RateLimit-* fields", {
      "ratelimit-limit": "100",
      "ratelimit-remaining": "42",
      "ratelimit-reset": "30",
    }, { limit: 100, remaining: 42, resetMs: 30_000 }],
    ["derives a cooldown when the remaining quota is 0", {
      "ratelimit-limit": "100",
      "ratelimit-remaining": "0",
      "ratelimit-reset": "30",
    }, { limit: 100, remaining: 0, resetMs: 30_000, cooldownMs: 30_000 }],
    ["derives no cooldown when quota remains", {
      "ratelimit-remaining": "1",
      "ratelimit-reset": "30",
    }, { remaining: 1, resetMs: 30_000 }],
    ["derives no cooldown from remaining 0 without a reset", {
      "ratelimit-remaining": "0",
    }, { remaining: 0 }],
    ["prefers Retry-After over the reset for the cooldown", {
      "retry-after": "5",
      "ratelimit-remaining": "0",
      "ratelimit-reset": "30",
    }, { remaining: 0, resetMs: 30_000, cooldownMs: 5_000 }],
    ["reads a RateLimit-Reset that is really an epoch time", {
      "ratelimit-remaining": "0",
      "ratelimit-reset": String(NOW_S + 90),
    }, { remaining: 0, resetMs: 90_000, cooldownMs: 90_000 }],
    ["reads a draft RateLimit-Limit with a policy list", {
      "ratelimit-limit": "10, 10;w=1, 50;w=60",
    }, { limit: 10 }],
    ["reads GitHub's X-RateLimit-* fields (reset in epoch seconds)", {
      "x-ratelimit-limit": "60",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(NOW_S + 600),
    }, { limit: 60, remaining: 0, resetMs: 600_000, cooldownMs: 600_000 }],
    ["reads an X-RateLimit-Reset in delta-seconds", {
      "x-ratelimit-remaining": "3",
      "x-ratelimit-reset": "12",
    }, { remaining: 3, resetMs: 12_000 }],
    ["reads an X-RateLimit-Reset in epoch milliseconds", {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(NOW + 2_000),
    }, { remaining: 0, resetMs: 2_000, cooldownMs: 2_000 }],
    ["reads X-RateLimit-Reset-After with fractions", {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset-after": "1.25",
      "x-ratelimit-reset": String(NOW_S + 100),
    }, { remaining: 0, resetMs: 1_250, cooldownMs: 1_250 }],
    ["reads a past epoch reset as 0 and derives no cooldown", {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(NOW_S - 100),
    }, { remaining: 0, resetMs: 0 }],
    ["prefers RateLimit-* over X-RateLimit-*", {
      "ratelimit-remaining": "5",
      "x-ratelimit-remaining": "9",
    }, { remaining: 5 }],
    ["reads the structured RateLimit list with its policy", {
      ratelimit: '"default";r=0;t=30',
      "ratelimit-policy": '"default";q=100;w=60',
    }, {
      remaining: 0,
      resetMs: 30_000,
      limit: 100,
      windowMs: 60_000,
      cooldownMs: 30_000,
    }],
    ["picks the most restrictive of several structured policies", {
      ratelimit: '"burst";r=5;t=1, "daily";r=0;t=3600, "hourly";r=0;t=60',
      "ratelimit-policy": '"burst";q=10;w=1, "daily";q=1000;w=86400',
    }, {
      remaining: 0,
      resetMs: 3_600_000,
      limit: 1000,
      windowMs: 86_400_000,
      cooldownMs: 3_600_000,
    }],
    ["reads the structured list without a policy field", {
      ratelimit: '"x";r=7;t=2',
    }, { remaining: 7, resetMs: 2_000 }],
    ["reads a policy given as a bare number", {
      ratelimit: '"x";r=7;t=2',
      "ratelimit-policy": "100;w=10",
    }, { remaining: 7, resetMs: 2_000, limit: 100, windowMs: 10_000 }],
    ["reads the dictionary form of earlier drafts", {
      ratelimit: "limit=100, remaining=0, reset=7",
    }, { limit: 100, remaining: 0, resetMs: 7_000, cooldownMs: 7_000 }],
    ["prefers the structured field over the separate ones", {
      ratelimit: '"x";r=3;t=4',
      "ratelimit-remaining": "50",
      "ratelimit-reset": "60",
      "ratelimit-limit": "100",
    }, { remaining: 3, resetMs: 4_000, limit: 100 }],
    ["falls back to separate fields when the structured one is garbage", {
      ratelimit: "%%%garbage",
      "ratelimit-remaining": "2",
    }, { remaining: 2 }],
    ["ignores malformed numbers", {
      "ratelimit-remaining": "-1",
      "ratelimit-reset": "soon",
      "ratelimit-limit": "lots",
    }, {}],
  ];
  for (const [name, headers, expected, status] of cases) {
    it(name, () => {
      assert.deepEqual(
        readRateLimitSignals(new Headers(headers), NOW, status),
        expected,
      );
    });
  }

  it("never throws and never reports a negative or non-finite number on random input", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = '0123456789-.;=,"rtqw \tlimitremaining\\*';
    const pick = () => {
      let text = "";
      const length = Math.floor(random() * 30);
      for (let i = 0; i < length; i++) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      return text;
    };
    const names = [
      "retry-after",
      "ratelimit",
      "ratelimit-policy",
      "ratelimit-remaining",
      "ratelimit-reset",
      "ratelimit-limit",
      "x-ratelimit-reset",
      "x-ratelimit-remaining",
      "x-ratelimit-reset-after",
    ];
    for (let n = 0; n < 3_000; n++) {
      const headers = new Headers();
      for (const name of names) if (random() < 0.5) headers.set(name, pick());
      const signals = readRateLimitSignals(headers, NOW);
      for (const value of Object.values(signals)) {
        assert.ok(
          Number.isFinite(value) && value >= 0,
          `${JSON.stringify([...headers])} gave ${JSON.stringify(signals)}`,
        );
      }
      if (signals.cooldownMs !== undefined) assert.ok(signals.cooldownMs > 0);
    }
  });
});

describe("readRateLimitSignals(): X-RateLimit-Retry-After and RateLimit-Policy", () => {
  const read = (fields: Record<string, string>, status?: number) =>
    readRateLimitSignals(new Headers(fields), NOW, status);

  it("reads X-RateLimit-Retry-After as seconds, an epoch time or a date", () => {
    assert.equal(
      read({ "x-ratelimit-retry-after": "30" }, 429).cooldownMs,
      30_000,
    );
    assert.equal(
      read({ "x-ratelimit-retry-after": String(NOW_S + 45) }, 429).cooldownMs,
      45_000,
    );
    assert.equal(
      read({
        "x-ratelimit-retry-after": new Date(NOW + 9_000).toUTCString(),
      }, 503).cooldownMs,
      9_000,
    );
  });

  it("lets Retry-After win over X-RateLimit-Retry-After, and counts neither on a 3xx", () => {
    assert.equal(
      read({ "retry-after": "5", "x-ratelimit-retry-after": "60" }, 429)
        .cooldownMs,
      5_000,
    );
    assert.equal(
      read({ "x-ratelimit-retry-after": "60" }, 302).cooldownMs,
      undefined,
    );
    assert.equal(
      read({ "x-ratelimit-retry-after": "soon" }, 429).cooldownMs,
      undefined,
    );
  });

  it("reads the quota and window of a RateLimit-Policy beside the separate fields", () => {
    assert.deepEqual(
      read({
        "ratelimit-limit": "100",
        "ratelimit-remaining": "40",
        "ratelimit-reset": "20",
        "ratelimit-policy": "100;w=60",
      }),
      { remaining: 40, resetMs: 20_000, limit: 100, windowMs: 60_000 },
    );
    assert.deepEqual(
      read({
        "x-ratelimit-limit": "10",
        "ratelimit-policy": "10;w=1, 1000;w=3600",
      }),
      { limit: 10, windowMs: 1_000 },
    );
    assert.deepEqual(read({ "ratelimit-policy": "garbage" }), {});
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ANY_STALENESS,
  type CacheControl,
  MAX_DELTA_SECONDS,
  parseCacheControl,
  parseDeltaSeconds,
} from "../../src/cache/cache_control.ts";

describe("parseCacheControl()", () => {
  const cases: [string, string | null, Record<string, unknown>][] = [
    ["reads nothing from an absent field", null, {
      noCache: false,
      noStore: false,
      maxAge: undefined,
    }],
    ["reads max-age", "max-age=60", { maxAge: 60 }],
    ["is case-insensitive on names", "MAX-AGE=60, No-Store", {
      maxAge: 60,
      noStore: true,
    }],
    ["reads a quoted max-age", 'max-age="60"', { maxAge: 60 }],
    ["treats a negative max-age as 0", "max-age=-1", { maxAge: 0 }],
    ["treats a fractional max-age as 0", "max-age=1.5", { maxAge: 0 }],
    ["treats a non-numeric max-age as 0", "max-age=abc", { maxAge: 0 }],
    ["treats a max-age without value as 0", "max-age", { maxAge: 0 }],
    ["treats an empty max-age as 0", "max-age=", { maxAge: 0 }],
    ["treats an invalid s-maxage as 0", "s-maxage=x", { sMaxAge: 0 }],
    ["clamps huge delta-seconds to 2^31", "max-age=99999999999999999999", {
      maxAge: MAX_DELTA_SECONDS,
    }],
    [
      "keeps the smallest of duplicate max-age values",
      "max-age=600, max-age=5",
      {
        maxAge: 5,
      },
    ],
    [
      "keeps the smallest of duplicate s-maxage values",
      "s-maxage=1, s-maxage=9",
      {
        sMaxAge: 1,
      },
    ],
    [
      "keeps the first stale-while-revalidate",
      "stale-while-revalidate=5, stale-while-revalidate=50",
      {
        staleWhileRevalidate: 5,
      },
    ],
    ["ignores an invalid stale-if-error", "stale-if-error=soon", {
      staleIfError: undefined,
    }],
    ["reads max-stale without a value as any staleness", "max-stale", {
      maxStale: ANY_STALENESS,
    }],
    ["reads max-stale with a value", "max-stale=30", { maxStale: 30 }],
    ["ignores an invalid max-stale", "max-stale=-3", { maxStale: undefined }],
    ["reads min-fresh", "min-fresh=10", { minFresh: 10 }],
    [
      "reads qualified no-cache field names, lower-cased",
      'no-cache="Set-Cookie, X-Secret"',
      {
        noCache: true,
        noCacheFields: ["set-cookie", "x-secret"],
      },
    ],
    [
      "lets unqualified no-cache win over a qualified one",
      'no-cache="set-cookie", no-cache',
      {
        noCache: true,
        noCacheFields: [],
      },
    ],
    [
      "lets unqualified no-cache win when it comes first",
      'no-cache, no-cache="a"',
      {
        noCache: true,
        noCacheFields: [],
      },
    ],
    ["merges qualified private field lists", 'private="a", private="b"', {
      private: true,
      privateFields: ["a", "b"],
    }],
    ["keeps commas inside quoted strings", 'no-cache="a,b", max-age=3', {
      noCacheFields: ["a", "b"],
      maxAge: 3,
    }],
    ["honours escapes inside quoted strings", 'private="x\\"y", public', {
      privateFields: ['x"y'],
      public: true,
    }],
    ["treats max-age with a space before '=' as 0", "max-age =3600", {
      maxAge: 0,
    }],
    ["treats max-age with a space after '=' as 0", "max-age= 3600", {
      maxAge: 0,
    }],
    ["treats max-age with spaces around '=' as 0", "max-age = 30", {
      maxAge: 0,
    }],
    ["treats max-age with a tab after '=' as 0", "max-age=\t30", {
      maxAge: 0,
    }],
    ["treats a spaced quoted max-age as 0", 'max-age= "30"', { maxAge: 0 }],
    [
      "lets a spaced max-age count against a valid duplicate",
      "max-age=600, max-age =3600",
      { maxAge: 0 },
    ],
    ["treats s-maxage with a space before '=' as 0", "s-maxage =3600", {
      sMaxAge: 0,
    }],
    ["treats s-maxage with a space after '=' as 0", "s-maxage= 3600", {
      sMaxAge: 0,
    }],
    ["ignores max-stale with a space before '='", "max-stale =60", {
      maxStale: undefined,
    }],
    ["ignores max-stale with a space after '='", "max-stale= 60", {
      maxStale: undefined,
    }],
    ["ignores min-fresh with spaces around '='", "min-fresh = 60", {
      minFresh: undefined,
    }],
    [
      "ignores stale-while-revalidate with a space after '='",
      "stale-while-revalidate= 60",
      { staleWhileRevalidate: undefined },
    ],
    [
      "ignores stale-while-revalidate with a space before '='",
      "stale-while-revalidate =60",
      { staleWhileRevalidate: undefined },
    ],
    ["ignores stale-if-error with a space after '='", "stale-if-error= 60", {
      staleIfError: undefined,
    }],
    ["ignores stale-if-error with a space before '='", "stale-if-error =60", {
      staleIfError: undefined,
    }],
    [
      "reads the directives around a spaced one",
      "public, max-stale =60 , min-fresh=5, stale-if-error= 9, max-age=10",
      { public: true, maxStale: undefined, minFresh: 5, maxAge: 10 },
    ],
    [
      "treats a spaced qualified no-cache as unqualified",
      'no-cache= "set-cookie", max-age=5',
      { noCache: true, noCacheFields: [], maxAge: 5 },
    ],
    [
      "treats a spaced qualified private as unqualified",
      'private ="x-secret"',
      { private: true, privateFields: [] },
    ],
    [
      "accepts spaces around the commas between directives",
      "public , max-age=30 ,s-maxage=9",
      {
        public: true,
        maxAge: 30,
        sMaxAge: 9,
      },
    ],
    [
      "reads every flag",
      "public, must-revalidate, proxy-revalidate, must-understand, no-transform, immutable, only-if-cached",
      {
        public: true,
        mustRevalidate: true,
        proxyRevalidate: true,
        mustUnderstand: true,
        noTransform: true,
        immutable: true,
        onlyIfCached: true,
      },
    ],
    [
      "ignores unknown directives and empty members",
      ",, foo=bar, ,max-age=1,",
      {
        maxAge: 1,
      },
    ],
    ["survives an unterminated quote", 'no-cache="abc, max-age=5', {
      noCache: true,
      maxAge: undefined,
    }],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const cc = parseCacheControl(input);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(
          cc[key as keyof CacheControl],
          value,
          `${key} of ${JSON.stringify(input)}`,
        );
      }
    });
  }

  it("never throws on garbage and always returns the full shape", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = 'maxgeno-cahst=,;"\\ \t0123456789\u0000\u00ff\ud800é*';
    for (let n = 0; n < 5000; n++) {
      let text = "";
      const length = Math.floor(random() * 40);
      for (let i = 0; i < length; i++) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      const cc = parseCacheControl(text);
      assert.equal(typeof cc.noCache, "boolean");
      assert.ok(Array.isArray(cc.noCacheFields));
      for (
        const value of [cc.maxAge, cc.sMaxAge, cc.minFresh, cc.maxStale]
      ) {
        if (value !== undefined) {
          assert.ok(Number.isInteger(value) && value >= 0, text);
        }
      }
    }
  });
});

describe("parseDeltaSeconds()", () => {
  const cases: [string, number | undefined][] = [
    ["0", 0],
    ["007", 7],
    ["2147483648", MAX_DELTA_SECONDS],
    ["2147483649", MAX_DELTA_SECONDS],
    ["", undefined],
    ["-1", undefined],
    ["+1", undefined],
    ["1e3", undefined],
    [" 1", undefined],
  ];
  for (const [input, expected] of cases) {
    it(`reads ${JSON.stringify(input)} as ${expected}`, () => {
      assert.equal(parseDeltaSeconds(input), expected);
    });
  }
});

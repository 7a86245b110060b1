import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  backoffDelayMs,
  isRetryableError,
  type ResolvedRetryOptions,
  shouldRetry,
  validateRetryOptions,
} from "../../src/retry/retry_policy.ts";
import { ConfigError, TimeoutError } from "../../src/errors.ts";

describe("validateRetryOptions()", () => {
  it("fills in the defaults", () => {
    const options = validateRetryOptions(undefined);
    assert.equal(options.attempts, 2);
    assert.equal(options.baseDelayMs, 100);
    assert.equal(options.maxDelayMs, 10_000);
    assert.deepEqual(
      [...options.methods].sort(),
      ["DELETE", "GET", "HEAD", "OPTIONS", "PUT", "TRACE"],
    );
    assert.deepEqual([...options.statuses].sort(), [
      408,
      429,
      500,
      502,
      503,
      504,
    ]);
  });

  it("reads false as no retries and a number as the retry count", () => {
    assert.equal(validateRetryOptions(false).attempts, 0);
    assert.equal(validateRetryOptions(true).attempts, 2);
    assert.equal(validateRetryOptions(5).attempts, 5);
  });

  it("upper-cases the methods", () => {
    const options = validateRetryOptions({ methods: ["get", "post"] });
    assert.deepEqual([...options.methods], ["GET", "POST"]);
  });

  const bad: [string, unknown, string][] = [
    ["a string", "3", "retry"],
    ["negative attempts", { attempts: -1 }, "retry.attempts"],
    ["fractional attempts", { attempts: 1.5 }, "retry.attempts"],
    ["a negative number", -2, "retry.attempts"],
    ["a NaN baseDelayMs", { baseDelayMs: NaN }, "retry.baseDelayMs"],
    ["a negative maxDelayMs", { maxDelayMs: -1 }, "retry.maxDelayMs"],
    [
      "a maxDelayMs below baseDelayMs",
      { baseDelayMs: 500, maxDelayMs: 100 },
      "retry.maxDelayMs",
    ],
    ["methods that are not an array", { methods: "GET" }, "retry.methods"],
    ["a method that is not a token", { methods: ["GE T"] }, "retry.methods"],
    [
      "statuses that are not status codes",
      { statuses: [999] },
      "retry.statuses",
    ],
    ["statuses that are strings", { statuses: ["503"] }, "retry.statuses"],
  ];
  for (const [name, value, option] of bad) {
    it(`throws ConfigError naming '${option}' for ${name}`, () => {
      assert.throws(() => validateRetryOptions(value), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.option, option);
        assert.match(
          error.message,
          new RegExp(
            `^Cannot create HttpClient as '${option.replace(".", "\\.")}'`,
          ),
        );
        return true;
      });
    });
  }

  it("says what it expected and what it received", () => {
    assert.throws(
      () => validateRetryOptions({ attempts: -1 }),
      {
        message:
          "Cannot create HttpClient as 'retry.attempts' must be a non-negative integer: received -1",
      },
    );
  });
});

describe("shouldRetry()", () => {
  const options = validateRetryOptions({});
  const cases: [
    string,
    string,
    number,
    { status: number } | { error: unknown },
    boolean,
  ][] = [
    ["retries a GET on 503", "GET", 0, { status: 503 }, true],
    ["retries a GET on 429", "GET", 1, { status: 429 }, true],
    ["retries a PUT on 502", "PUT", 0, { status: 502 }, true],
    ["retries a DELETE on 408", "delete", 0, { status: 408 }, true],
    ["never retries a POST", "POST", 0, { status: 503 }, false],
    ["never retries a PATCH", "PATCH", 0, {
      error: new TypeError("fetch failed"),
    }, false],
    ["never retries a 404", "GET", 0, { status: 404 }, false],
    ["never retries a 501", "GET", 0, { status: 501 }, false],
    ["never retries a success", "GET", 0, { status: 200 }, false],
    ["stops once the retries are spent", "GET", 2, { status: 503 }, false],
    ["retries a network error", "GET", 0, {
      error: new TypeError("fetch failed"),
    }, true],
    ["retries a per-attempt TimeoutError", "GET", 0, {
      error: new TimeoutError("t", 10, "attempt"),
    }, true],
    ["never retries a total TimeoutError", "GET", 0, {
      error: new TimeoutError("t", 10, "total"),
    }, false],
    ["retries a DOMException TimeoutError", "GET", 0, {
      error: new DOMException("t", "TimeoutError"),
    }, true],
    ["never retries an abort", "GET", 0, {
      error: new DOMException("a", "AbortError"),
    }, false],
    [
      "never retries an arbitrary error",
      "GET",
      0,
      { error: new Error("boom") },
      false,
    ],
    ["never retries a thrown string", "GET", 0, { error: "boom" }, false],
  ];
  for (const [name, method, retries, outcome, expected] of cases) {
    it(name, () => {
      assert.equal(shouldRetry(method, retries, outcome, options), expected);
    });
  }

  it("retries nothing with attempts 0", () => {
    assert.equal(
      shouldRetry("GET", 0, { status: 503 }, validateRetryOptions(false)),
      false,
    );
  });

  it("honours custom methods and statuses", () => {
    const custom = validateRetryOptions({ methods: ["POST"], statuses: [418] });
    assert.equal(shouldRetry("POST", 0, { status: 418 }, custom), true);
    assert.equal(shouldRetry("GET", 0, { status: 418 }, custom), false);
    assert.equal(shouldRetry("POST", 0, { status: 503 }, custom), false);
  });

  it("isRetryableError() tells network failures from the rest", () => {
    assert.equal(isRetryableError(new TypeError("x")), true);
    assert.equal(isRetryableError(null), false);
    assert.equal(isRetryableError({ name: "TimeoutError" }), false);
  });
});

describe("backoffDelayMs()", () => {
  const options: ResolvedRetryOptions = validateRetryOptions({
    baseDelayMs: 100,
    maxDelayMs: 1_000,
  });

  it("doubles the ceiling with each retry, up to maxDelayMs", () => {
    const top = () => 0.999999;
    const ceilings = [0, 1, 2, 3, 4, 5].map((n) =>
      Math.round(backoffDelayMs(n, options, top))
    );
    assert.deepEqual(ceilings, [100, 200, 400, 800, 1_000, 1_000]);
  });

  it("applies full jitter: the delay is random() times the ceiling", () => {
    assert.equal(backoffDelayMs(2, options, () => 0), 0);
    assert.equal(backoffDelayMs(2, options, () => 0.25), 100);
    assert.equal(backoffDelayMs(2, options, () => 0.5), 200);
  });

  it("stays within [0, ceiling) for Math.random over many draws", () => {
    for (let n = 0; n < 2_000; n++) {
      const retry = n % 8;
      const delay = backoffDelayMs(retry, options);
      assert.ok(delay >= 0 && delay < Math.min(1_000, 100 * 2 ** retry));
    }
  });

  it("uses Retry-After as a floor", () => {
    assert.equal(backoffDelayMs(0, options, () => 0.5, 700), 700);
    assert.equal(backoffDelayMs(4, options, () => 0.9, 100), 900);
  });

  it("lets a Retry-After above maxDelayMs win", () => {
    assert.equal(backoffDelayMs(0, options, () => 0.5, 60_000), 60_000);
  });

  it("ignores a non-finite Retry-After", () => {
    assert.equal(backoffDelayMs(1, options, () => 0.5, NaN), 100);
    assert.equal(backoffDelayMs(1, options, () => 0.5, Infinity), 100);
  });

  it("stays finite for huge or bogus retry numbers and random values", () => {
    for (const retry of [1e9, -5, NaN, Infinity]) {
      for (const r of [NaN, -1, 2, 0.5]) {
        const delay = backoffDelayMs(retry, options, () => r);
        assert.ok(Number.isFinite(delay) && delay >= 0 && delay <= 1_000);
      }
    }
  });

  it("returns 0 with a zero base delay", () => {
    const zero = validateRetryOptions({ baseDelayMs: 0, maxDelayMs: 0 });
    assert.equal(backoffDelayMs(60, zero, () => 0.9), 0);
  });
});

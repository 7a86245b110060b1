import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateCachePolicyOptions } from "../../src/cache/options.ts";
import { ConfigError } from "../../src/errors.ts";

describe("validateCachePolicyOptions()", () => {
  it("returns no options for undefined", () => {
    assert.deepEqual(validateCachePolicyOptions(undefined), {});
  });

  it("copies valid options", () => {
    const input = {
      shared: true,
      defaultTtlMs: 1_000,
      maxHeuristicMs: 0,
      revalidationStorageMs: 5,
      staleStorageMs: 7,
      overrides: {
        ignoreNoStore: true,
        ignoreNoCache: false,
        minTtlMs: 1,
        maxTtlMs: 2,
      },
    };
    const out = validateCachePolicyOptions(input);
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
  });

  const bad: [string, unknown, string, string][] = [
    [
      "a non-object",
      5,
      "cache",
      "Cannot create HttpClient as 'cache' must be an object: received 5",
    ],
    [
      "a negative defaultTtlMs",
      { defaultTtlMs: -1 },
      "cache.defaultTtlMs",
      "Cannot create HttpClient as 'cache.defaultTtlMs' must be a non-negative number of milliseconds: received -1",
    ],
    [
      "an infinite maxHeuristicMs",
      { maxHeuristicMs: Infinity },
      "cache.maxHeuristicMs",
      "",
    ],
    [
      "a string revalidationStorageMs",
      { revalidationStorageMs: "1" },
      "cache.revalidationStorageMs",
      "",
    ],
    [
      "a negative staleStorageMs",
      { staleStorageMs: -5 },
      "cache.staleStorageMs",
      "Cannot create HttpClient as 'cache.staleStorageMs' must be a non-negative number of milliseconds: received -5",
    ],
    [
      "a non-boolean shared",
      { shared: "yes" },
      "cache.shared",
      "Cannot create HttpClient as 'cache.shared' must be a boolean: received \"yes\"",
    ],
    [
      "overrides that are not an object",
      { overrides: [] },
      "cache.overrides",
      "",
    ],
    [
      "a non-boolean ignoreNoStore",
      { overrides: { ignoreNoStore: 1 } },
      "cache.overrides.ignoreNoStore",
      "",
    ],
    [
      "a NaN minTtlMs",
      { overrides: { minTtlMs: NaN } },
      "cache.overrides.minTtlMs",
      "",
    ],
    [
      "minTtlMs above maxTtlMs",
      { overrides: { minTtlMs: 10, maxTtlMs: 5 } },
      "cache.overrides.minTtlMs",
      "",
    ],
  ];
  for (const [name, value, option, message] of bad) {
    it(`throws ConfigError naming '${option}' for ${name}`, () => {
      assert.throws(
        () => validateCachePolicyOptions(value),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.option, option);
          if (message !== "") assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  it("names the given component and prefix", () => {
    assert.throws(
      () =>
        validateCachePolicyOptions(
          { defaultTtlMs: -5 },
          "MyClient",
          "http.cache",
        ),
      /Cannot create MyClient as 'http\.cache\.defaultTtlMs'/,
    );
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  ConfigError,
  HttpError,
  isSluiceError,
  RateLimitError,
  SluiceError,
  StoreError,
  TimeoutError,
  ValidationError,
} from "../mod.ts";

describe("errors", () => {
  it("every error carries a stable code and is recognised by isSluiceError()", () => {
    const cause = new Error("root");
    const errors: [SluiceError, string][] = [
      [new SluiceError("x", { cause }), "ERR_SLUICE"],
      [new HttpError("x", { status: 503 }), "ERR_HTTP"],
      [new TimeoutError("x", 100, "attempt"), "ERR_TIMEOUT"],
      [new RateLimitError("x", "api", 250), "ERR_RATE_LIMIT"],
      [new ValidationError("x", [{ message: "bad" }]), "ERR_VALIDATION"],
      [new StoreError("x", "memory", "get", { cause }), "ERR_STORE"],
      [
        new ConfigError("Thing", "limit", 0, "a positive integer"),
        "ERR_CONFIG",
      ],
      [
        new BodyTooLargeError("x", {
          maxBodyBytes: 10,
          status: 200,
          method: "GET",
          url: "https://api.example/",
        }),
        "ERR_BODY_TOO_LARGE",
      ],
    ];
    for (const [error, code] of errors) {
      assert.equal(error.code, code);
      assert.ok(error instanceof SluiceError);
      assert.ok(error instanceof Error);
      assert.ok(isSluiceError(error));
    }
    assert.equal(errors[0]![0].cause, cause);
  });

  it("isSluiceError() recognises errors from another copy of the library by brand", () => {
    const foreign = Object.assign(new Error("other realm"), {
      code: "ERR_STORE",
    });
    Object.defineProperty(foreign, Symbol.for("sluice.error"), { value: true });
    assert.ok(isSluiceError(foreign));
    assert.ok(!isSluiceError(new Error("plain")));
    assert.ok(!isSluiceError({ code: "ERR_STORE" }));
    assert.ok(!isSluiceError(null));
  });

  it("ConfigError names the component, the option and the value received", () => {
    const error = new ConfigError(
      "MemoryCacheStore",
      "maxEntries",
      0,
      "a positive integer",
    );
    assert.equal(
      error.message,
      "Cannot create MemoryCacheStore as 'maxEntries' must be a positive integer: received 0",
    );
    assert.equal(error.option, "maxEntries");
    assert.equal(error.value, 0);
    assert.match(
      new ConfigError("C", "name", "", "a non-empty string").message,
      /received ""$/,
    );
    assert.match(
      new ConfigError("C", "limit", NaN, "a positive integer").message,
      /received NaN$/,
    );
  });

  it("RateLimitError carries retryAfterMs and the resource", () => {
    const error = new RateLimitError("spent", "https://api.example", 1500);
    assert.equal(error.retryAfterMs, 1500);
    assert.equal(error.resource, "https://api.example");
  });
});

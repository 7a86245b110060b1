import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { invalidationTargets } from "../../src/cache/invalidation.ts";
import { normaliseUrl } from "../../src/cache/key.ts";

const URL_ = "https://api.example.com/users?page=1";

describe("invalidationTargets()", () => {
  const cases: [string, string, number, Record<string, string>, string[]][] = [
    ["invalidates the target of a successful POST", "POST", 201, {}, [URL_]],
    [
      "invalidates the target of a PUT, PATCH and DELETE alike",
      "DELETE",
      204,
      {},
      [URL_],
    ],
    ["invalidates after a redirect status", "PATCH", 303, {}, [URL_]],
    [
      "invalidates for any unsafe method, even an unknown one",
      "PURGE",
      200,
      {},
      [URL_],
    ],
    ["treats the method case-insensitively", "post", 200, {}, [URL_]],
    ["leaves GET alone", "GET", 200, {}, []],
    ["leaves HEAD, OPTIONS and TRACE alone", "OPTIONS", 200, {}, []],
    ["leaves everything alone after a 4xx", "POST", 404, {}, []],
    ["leaves everything alone after a 5xx", "DELETE", 500, {}, []],
    ["leaves everything alone after a 1xx", "POST", 100, {}, []],
    ["adds a relative Location, resolved against the request", "POST", 201, {
      location: "/users/42",
    }, [URL_, "https://api.example.com/users/42"]],
    ["adds a same-origin Content-Location", "PUT", 200, {
      "content-location": "https://API.example.com:443/users/7#x",
    }, [URL_, "https://api.example.com/users/7"]],
    ["ignores a Location on another origin", "POST", 201, {
      location: "https://evil.example/users/42",
    }, [URL_]],
    ["ignores a Location on another scheme or port", "POST", 201, {
      location: "http://api.example.com/users/42",
      "content-location": "https://api.example.com:8443/x",
    }, [URL_]],
    ["does not repeat the target", "POST", 200, {
      location: "/users?page=1",
      "content-location": "/users?page=1",
    }, [URL_]],
    ["ignores an unparseable Location", "POST", 201, {
      location: "http://[::1",
    }, [URL_]],
  ];
  for (const [name, method, status, headers, expected] of cases) {
    it(name, () => {
      assert.deepEqual(
        invalidationTargets(method, URL_, status, new Headers(headers)),
        expected,
      );
    });
  }

  it("normalises the target like cache keys are", () => {
    assert.deepEqual(
      invalidationTargets(
        "POST",
        new URL("HTTPS://API.EXAMPLE.COM:443/users?page=1#frag"),
        200,
        new Headers(),
      ),
      [URL_],
    );
  });

  it("returns nothing for an unparseable request URL instead of throwing", () => {
    assert.deepEqual(
      invalidationTargets("POST", "not a url", 200, new Headers()),
      [],
    );
  });
});

describe("normaliseUrl()", () => {
  const cases: [string, string, string][] = [
    [
      "lower-cases scheme and host",
      "HTTPS://API.Example.COM/Path",
      "https://api.example.com/Path",
    ],
    [
      "drops the default port",
      "https://a.example:443/x",
      "https://a.example/x",
    ],
    [
      "keeps a non-default port",
      "https://a.example:8443/x",
      "https://a.example:8443/x",
    ],
    [
      "drops the fragment",
      "https://a.example/x?q=1#part",
      "https://a.example/x?q=1",
    ],
    [
      "keeps the query order",
      "https://a.example/x?b=2&a=1",
      "https://a.example/x?b=2&a=1",
    ],
    ["keeps an empty query", "https://a.example/x?", "https://a.example/x?"],
    [
      "resolves dot segments",
      "https://a.example/a/./b/../c",
      "https://a.example/a/c",
    ],
    ["adds the root path", "https://a.example", "https://a.example/"],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.equal(normaliseUrl(new URL(input)), expected);
      assert.equal(normaliseUrl(input), expected);
    });
  }
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  isStorable,
  notStorableReason,
  UNDERSTOOD_STATUSES,
} from "../../src/cache/storability.ts";
import type { CachePolicyOptions } from "../../src/cache/options.ts";

interface Case {
  name: string;
  method?: string;
  requestHeaders?: Record<string, string>;
  status?: number;
  headers?: Record<string, string>;
  options?: CachePolicyOptions;
  expected: ReturnType<typeof notStorableReason>;
}

const cases: Case[] = [
  {
    name: "stores a GET 200 with max-age",
    headers: { "cache-control": "max-age=60" },
    expected: undefined,
  },
  {
    name: "stores a HEAD response",
    method: "HEAD",
    headers: { "cache-control": "max-age=60" },
    expected: undefined,
  },
  { name: "stores a plain 200 (heuristically cacheable)", expected: undefined },
  {
    name: "stores a plain 404 (heuristically cacheable)",
    status: 404,
    expected: undefined,
  },
  {
    name: "refuses POST",
    method: "POST",
    headers: { "cache-control": "max-age=60" },
    expected: "method",
  },
  {
    name: "refuses PUT",
    method: "PUT",
    headers: { "cache-control": "max-age=60" },
    expected: "method",
  },
  {
    name: "refuses a request with no-store",
    requestHeaders: { "cache-control": "no-store" },
    headers: { "cache-control": "max-age=60" },
    expected: "request-no-store",
  },
  {
    name: "refuses a response with no-store",
    headers: { "cache-control": "max-age=60, no-store" },
    expected: "no-store",
  },
  {
    name: "stores a no-store response when overridden",
    headers: { "cache-control": "no-store" },
    options: { overrides: { ignoreNoStore: true } },
    expected: undefined,
  },
  {
    name: "keeps refusing a request no-store even when overridden",
    requestHeaders: { "cache-control": "no-store" },
    options: { overrides: { ignoreNoStore: true } },
    expected: "request-no-store",
  },
  {
    name: "refuses 206",
    status: 206,
    headers: { "cache-control": "max-age=60" },
    expected: "status",
  },
  {
    name: "refuses 304",
    status: 304,
    headers: { "cache-control": "max-age=60" },
    expected: "status",
  },
  {
    name: "refuses a 500 without explicit freshness",
    status: 500,
    expected: "no-freshness",
  },
  {
    name: "refuses a 302 without explicit freshness",
    status: 302,
    headers: { etag: '"v"' },
    expected: "no-freshness",
  },
  {
    name: "stores a 500 with max-age",
    status: 500,
    headers: { "cache-control": "max-age=5" },
    expected: undefined,
  },
  {
    name: "stores a 302 with Expires",
    status: 302,
    headers: { expires: "Thu, 01 Jan 2099 00:00:00 GMT" },
    expected: undefined,
  },
  {
    name: "refuses must-understand with a status it does not implement",
    status: 418,
    headers: { "cache-control": "max-age=60, must-understand" },
    expected: "must-understand",
  },
  {
    name:
      "stores must-understand with an understood status, ignoring its no-store",
    headers: { "cache-control": "max-age=60, must-understand, no-store" },
    expected: undefined,
  },
  {
    name: "stores private responses in a private cache",
    status: 500,
    headers: { "cache-control": "private" },
    expected: undefined,
  },
  {
    name: "refuses private responses in a shared cache",
    headers: { "cache-control": "private, max-age=60" },
    options: { shared: true },
    expected: "private",
  },
  {
    name:
      "stores qualified private responses in a shared cache (the fields are dropped)",
    headers: { "cache-control": 'private="x-user", max-age=60' },
    options: { shared: true },
    expected: undefined,
  },
  {
    name: "stores responses to requests with Authorization in a private cache",
    requestHeaders: { authorization: "Bearer a" },
    headers: { "cache-control": "max-age=60" },
    expected: undefined,
  },
  {
    name: "refuses responses to requests with Authorization in a shared cache",
    requestHeaders: { authorization: "Bearer a" },
    headers: { "cache-control": "max-age=60" },
    options: { shared: true },
    expected: "authorization",
  },
  {
    name: "stores an authorised response marked public in a shared cache",
    requestHeaders: { authorization: "Bearer a" },
    headers: { "cache-control": "public, max-age=60" },
    options: { shared: true },
    expected: undefined,
  },
  {
    name: "stores an authorised response with s-maxage in a shared cache",
    requestHeaders: { authorization: "Bearer a" },
    headers: { "cache-control": "s-maxage=60" },
    options: { shared: true },
    expected: undefined,
  },
  {
    name:
      "stores an authorised response with must-revalidate in a shared cache",
    requestHeaders: { authorization: "Bearer a" },
    headers: { "cache-control": "must-revalidate, max-age=60" },
    options: { shared: true },
    expected: undefined,
  },
  {
    name: "refuses Vary: *",
    headers: { "cache-control": "max-age=60", vary: "Accept, *" },
    expected: "vary-star",
  },
  {
    name:
      "refuses a Vary naming something that is not a field name, as Vary: *",
    headers: { "cache-control": "max-age=60", vary: "Accept, foo bar" },
    expected: "vary-star",
  },
  {
    name: "stores other Vary values",
    headers: { "cache-control": "max-age=60", vary: "Accept" },
    expected: undefined,
  },
  {
    name: "stores a public 302",
    status: 302,
    headers: { "cache-control": "public" },
    expected: undefined,
  },
  {
    name: "counts s-maxage as freshness only in a shared cache",
    status: 500,
    headers: { "cache-control": "s-maxage=60" },
    expected: "no-freshness",
  },
];

describe("isStorable() and notStorableReason()", () => {
  for (const c of cases) {
    it(c.name, () => {
      const request = {
        method: c.method ?? "GET",
        headers: new Headers(c.requestHeaders ?? {}),
      };
      const response = {
        status: c.status ?? 200,
        headers: new Headers(c.headers ?? {}),
      };
      const options = c.options ?? {};
      assert.equal(notStorableReason(request, response, options), c.expected);
      assert.equal(
        isStorable(request, response, options),
        c.expected === undefined,
      );
    });
  }

  it("accepts real Request and Response objects", () => {
    assert.ok(
      isStorable(
        new Request("https://a.example/"),
        new Response("x", { headers: { "cache-control": "max-age=1" } }),
        {},
      ),
    );
  });

  it("treats the method case-insensitively", () => {
    assert.equal(
      notStorableReason(
        { method: "get", headers: new Headers() },
        { status: 200, headers: new Headers() },
        {},
      ),
      undefined,
    );
  });

  it("refuses must-understand for every status it does not understand", () => {
    for (const status of [202, 207, 226, 418, 429]) {
      assert.ok(!UNDERSTOOD_STATUSES.has(status));
      assert.equal(
        notStorableReason(
          { method: "GET", headers: new Headers() },
          {
            status,
            headers: new Headers({
              "cache-control": "max-age=9, must-understand",
            }),
          },
          {},
        ),
        "must-understand",
      );
    }
  });
});

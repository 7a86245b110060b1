import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  bodyBytes,
  createCachedResponse,
  etagOf,
  inMemoryEntry,
  isCachedResponse,
  lastModifiedOf,
  TEXT_BODY_MAX_BYTES,
  toResponse,
} from "../../src/cache/entry.ts";
import {
  decodeBinary,
  decodeText,
  encodeBinary,
  encodeText,
} from "../../src/stores/codec.ts";
import { entry, T0 } from "./_entry.ts";

describe("createCachedResponse()", () => {
  it("keeps status, fields and body, and names the request URL", () => {
    const e = entry({
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
      body: "hello",
    });
    assert.equal(e.url, "https://api.example.com/items");
    assert.equal(e.method, "GET");
    assert.equal(e.status, 200);
    assert.equal(new TextDecoder().decode(e.body as Uint8Array), "hello");
    assert.ok(
      e.headers.some(([n, v]) => n === "content-type" && v === "text/plain"),
    );
  });

  it("no entry can change a field of another entry that holds the same field", () => {
    const [a, b, c] = [1, 2, 3].map(() =>
      entry({ headers: { "content-type": "application/json" } })
    );
    const pairOf = (e: typeof a): [string, string] =>
      e!.headers.find(([n]) => n === "content-type")!;
    for (const e of [a, b]) {
      try {
        pairOf(e)[1] = "text/html";
      } catch (error) {
        // A pair that entries share is frozen.
        assert.ok(error instanceof TypeError);
      }
    }
    // Once a value repeats, its entries share one pair, which none can change.
    assert.equal(pairOf(b), pairOf(c));
    assert.equal(pairOf(c)[1], "application/json");
    a!.headers.push(["x-added", "1"]);
    a!.headers.length = 0;
    assert.equal(pairOf(b)[1], "application/json");
    assert.ok(!b!.headers.some(([n]) => n === "x-added"));
  });

  it("keeps a body given as a view of a larger buffer as bytes of its own", () => {
    const buffer = new TextEncoder().encode("xxhelloxx");
    const e = createCachedResponse({
      url: "https://api.example.com/items",
      method: "GET",
      requestHeaders: new Headers(),
      status: 200,
      statusText: "OK",
      headers: new Headers({ "cache-control": "max-age=60" }),
      body: buffer.subarray(2, 7),
      requestTime: T0,
      responseTime: T0,
    }, {});
    assert.equal(new TextDecoder().decode(e.body as Uint8Array), "hello");
    assert.equal((e.body as Uint8Array).buffer.byteLength, 5);
    buffer.fill(0);
    assert.equal(new TextDecoder().decode(e.body as Uint8Array), "hello");
  });

  it("drops hop-by-hop fields and those named by Connection", () => {
    const e = entry({
      headers: {
        connection: "x-trace, close",
        "x-trace": "1",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "x-kept": "yes",
      },
    });
    const names = e.headers.map(([n]) => n);
    for (
      const dropped of [
        "connection",
        "x-trace",
        "keep-alive",
        "transfer-encoding",
      ]
    ) {
      assert.ok(!names.includes(dropped), dropped);
    }
    assert.ok(names.includes("x-kept"));
  });

  it("drops the fields named by a qualified no-cache", () => {
    const e = entry({
      headers: {
        "cache-control": 'max-age=60, no-cache="x-secret"',
        "x-secret": "s",
      },
    });
    assert.ok(!e.headers.some(([n]) => n === "x-secret"));
  });

  it("keeps Set-Cookie in a private cache and drops it in a shared cache", () => {
    const headers: [string, string][] = [
      ["cache-control", "public, max-age=60"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ];
    const privateEntry = entry({ headers });
    assert.deepEqual(
      privateEntry.headers.filter(([n]) => n === "set-cookie").map(([, v]) =>
        v
      ),
      ["a=1", "b=2"],
    );
    const sharedEntry = entry({ headers, options: { shared: true } });
    assert.ok(!sharedEntry.headers.some(([n]) => n === "set-cookie"));
  });

  it("drops the fields named by a qualified private in a shared cache only", () => {
    const headers = {
      "cache-control": 'private="x-user", max-age=60',
      "x-user": "alice",
    };
    assert.ok(entry({ headers }).headers.some(([n]) => n === "x-user"));
    assert.ok(
      !entry({ headers, options: { shared: true } }).headers.some(([n]) =>
        n === "x-user"
      ),
    );
  });

  it("stores no body for HEAD", () => {
    const e = entry({ method: "head", body: "ignored" });
    assert.equal(e.method, "HEAD");
    assert.equal((e.body as Uint8Array).byteLength, 0);
  });

  it("captures the Vary selection from the request", () => {
    const e = entry({
      headers: { vary: "Accept-Encoding, X-Tenant" },
      requestHeaders: { "accept-encoding": "GZIP" },
    });
    assert.deepEqual(e.varyHeaders, {
      "accept-encoding": "gzip",
      "x-tenant": null,
    });
  });

  it("precomputes the serve-time facts", () => {
    const e = entry({
      headers: {
        "cache-control":
          "max-age=60, stale-while-revalidate=5, stale-if-error=7, must-revalidate, no-cache",
        etag: ' "v1" ',
        "last-modified": new Date(T0 - 1000).toUTCString(),
        age: "3",
      },
    });
    assert.deepEqual(e.policy, {
      freshnessLifetimeMs: 60_000,
      heuristic: false,
      requiresValidation: true,
      noStaleServing: true,
      staleWhileRevalidateMs: 5_000,
      staleIfErrorMs: 7_000,
    });
    assert.equal(e.initialAgeMs, 3_000);
    assert.equal(etagOf(e), '"v1"');
    assert.equal(lastModifiedOf(e), new Date(T0 - 1000).toUTCString());
  });

  it("shares one frozen policy between entries with the same facts, each keeping its own age", () => {
    const a = entry({ headers: { "cache-control": "max-age=60", age: "1" } });
    const b = entry({ headers: { "cache-control": "max-age=60", age: "9" } });
    const c = entry({ headers: { "cache-control": "max-age=61" } });
    assert.equal(a.policy, b.policy);
    assert.ok(Object.isFrozen(a.policy));
    assert.notEqual(a.policy, c.policy);
    assert.equal(c.policy.freshnessLifetimeMs, 61_000);
    assert.deepEqual([a.initialAgeMs, b.initialAgeMs], [1_000, 9_000]);
    const shared = entry({
      headers: { "cache-control": "max-age=60" },
      options: { shared: true },
    });
    assert.equal(shared.policy, a.policy);
    const overridden = entry({
      headers: { "cache-control": "max-age=60" },
      options: { overrides: { minTtlMs: 120_000 } },
    });
    assert.equal(overridden.policy.freshnessLifetimeMs, 120_000);
  });

  it("round-trips byte-exact through both store codecs", () => {
    const e = createCachedResponse({
      url: "https://a.example/bin",
      method: "GET",
      requestHeaders: new Headers(),
      status: 200,
      statusText: "OK",
      headers: new Headers({ "cache-control": "max-age=60" }),
      body: new Uint8Array([0, 255, 1, 254, 0]),
      requestTime: T0,
      responseTime: T0,
    }, {});
    for (
      const copy of [decodeBinary(encodeBinary(e)), decodeText(encodeText(e))]
    ) {
      assert.deepEqual(copy, e);
      assert.ok(isCachedResponse(copy));
    }
  });
});

describe("toResponse()", () => {
  it("rebuilds status, status text, fields, body and url", async () => {
    const e = entry({
      headers: { "cache-control": "max-age=60", "x-a": "1" },
      body: "hello",
    });
    const response = toResponse(e);
    assert.equal(response.status, 200);
    assert.equal(response.statusText, "OK");
    assert.equal(response.headers.get("x-a"), "1");
    assert.equal(response.url, "https://api.example.com/items");
    assert.equal(await response.text(), "hello");
  });

  it("returns a new response with its own body on every call", async () => {
    const e = entry({ body: "same" });
    const a = toResponse(e);
    const b = toResponse(e);
    assert.notEqual(a, b);
    assert.equal(await a.text(), "same");
    assert.equal(a.bodyUsed, true);
    assert.equal(b.bodyUsed, false);
    assert.equal(await b.text(), "same");
  });

  it("is unaffected by later changes to the returned bytes", async () => {
    const e = entry({ body: "abc" });
    const first = new Uint8Array(await toResponse(e).arrayBuffer());
    first[0] = 0x7a;
    assert.equal(await toResponse(e).text(), "abc");
  });

  it("sets Age from the evaluation, replacing a stored one", () => {
    const e = entry({ headers: { age: "5" } });
    assert.equal(toResponse(e, { ageSeconds: 12.9 }).headers.get("age"), "12");
    assert.equal(toResponse(e).headers.get("age"), "5");
  });

  it("returns no body for HEAD entries, headOnly, and null-body statuses", async () => {
    assert.equal(toResponse(entry({ method: "HEAD" })).body, null);
    assert.equal(toResponse(entry({}), { headOnly: true }).body, null);
    const noContent = toResponse(entry({ status: 204, body: "" }));
    assert.equal(noContent.status, 204);
    assert.equal(await noContent.text(), "");
  });

  it("replays several Set-Cookie fields separately", () => {
    const e = entry({
      headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]],
    });
    assert.deepEqual(toResponse(e).headers.getSetCookie(), ["a=1", "b=2"]);
  });
});

describe("isCachedResponse()", () => {
  const valid = entry({ headers: { "cache-control": "max-age=60" } });
  const broken: [string, unknown][] = [
    ["null", null],
    ["a string", "entry"],
    ["an entry without policy", { ...valid, policy: undefined }],
    ["an entry with a body neither bytes nor text", {
      ...valid,
      body: [97, 98],
    }],
    ["an entry with a bad status", { ...valid, status: 42 }],
    ["an entry with malformed headers", { ...valid, headers: [["a"]] }],
    ["an entry with a numeric Vary value", { ...valid, varyHeaders: { a: 1 } }],
    ["an entry with a NaN lifetime", {
      ...valid,
      policy: { ...valid.policy, freshnessLifetimeMs: NaN },
    }],
    ["an entry with a negative age", {
      ...valid,
      initialAgeMs: -1,
    }],
    ["an entry with a non-finite response time", {
      ...valid,
      responseTime: Infinity,
    }],
  ];
  it("accepts an entry built by createCachedResponse()", () => {
    assert.equal(isCachedResponse(valid), true);
  });
  it("accepts an entry whose body is text", () => {
    assert.equal(isCachedResponse({ ...valid, body: "abc" }), true);
  });
  for (const [name, value] of broken) {
    it(`rejects ${name}`, () => {
      assert.equal(isCachedResponse(value), false);
    });
  }
});

describe("inMemoryEntry()", () => {
  const bytesOf = async (response: Response): Promise<number[]> => [
    ...new Uint8Array(await response.arrayBuffer()),
  ];

  it("holds a small ASCII body as text that serves the same response", async () => {
    const e = entry({
      headers: { "cache-control": "max-age=60", "content-type": "text/plain" },
      body: '{"a":"b"}',
    });
    const kept = inMemoryEntry(e);
    assert.equal(kept.body, '{"a":"b"}');
    assert.deepEqual({ ...kept, body: undefined }, { ...e, body: undefined });
    assert.ok(isCachedResponse(kept));
    const [a, b] = [toResponse(e), toResponse(kept)];
    assert.deepEqual([...b.headers], [...a.headers]);
    assert.deepEqual(await bytesOf(b), await bytesOf(a));
  });

  it("adds no Content-Type to a response whose entry has none", async () => {
    const kept = inMemoryEntry(entry({ body: "plain" }));
    assert.equal(typeof kept.body, "string");
    const response = toResponse(kept);
    assert.equal(response.headers.get("content-type"), null);
    assert.equal(await response.text(), "plain");
  });

  it("keeps bytes that are not ASCII text, and large or empty bodies, as they are", () => {
    const binary = createCachedResponse({
      url: "https://a.example/bin",
      method: "GET",
      requestHeaders: new Headers(),
      status: 200,
      statusText: "OK",
      headers: new Headers({ "cache-control": "max-age=60" }),
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      requestTime: T0,
      responseTime: T0,
    }, {});
    for (
      const e of [
        binary,
        entry({ body: "caf\u00e9" }),
        entry({ body: "\ufeff{}" }),
        entry({ body: "x".repeat(TEXT_BODY_MAX_BYTES + 1) }),
        entry({ body: "" }),
      ]
    ) {
      assert.equal(inMemoryEntry(e), e);
    }
    assert.equal(
      typeof inMemoryEntry(entry({ body: "x".repeat(TEXT_BODY_MAX_BYTES) }))
        .body,
      "string",
    );
  });

  it("round-trips a text body through both store codecs", () => {
    const kept = inMemoryEntry(entry({ body: "text" }));
    for (
      const copy of [
        decodeBinary(encodeBinary(kept)),
        decodeText(encodeText(kept)),
      ]
    ) {
      assert.deepEqual(copy, kept);
      assert.ok(isCachedResponse(copy));
    }
  });

  it("gives the bytes of either form of body", () => {
    assert.deepEqual([...bodyBytes("ab")], [97, 98]);
    const bytes = new Uint8Array([1, 2]);
    assert.equal(bodyBytes(bytes), bytes);
  });
});

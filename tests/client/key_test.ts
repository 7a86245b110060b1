// Request keys: the same hash as SHA-256 by crypto.subtle (so keys a store
// already holds stay valid), without waiting for a promise.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyHasher } from "../../src/client/_key.ts";
import { sha256 } from "../../src/client/_sha256.ts";

async function subtleSha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replace(/=+$/, "");
}

describe("request keys", () => {
  it("sha256() gives crypto.subtle's digest for texts of every length around the block boundaries, and for non-ASCII text", async () => {
    const texts = [""];
    for (let length = 1; length <= 300; length++) {
      texts.push(
        Array.from(
          { length },
          (_, i) => String.fromCharCode(32 + ((i * 7 + length) % 95)),
        ).join(""),
      );
    }
    texts.push(
      "GET\nhttps://api.example.com/caf\u00e9?q=\u65e5\u672c\n",
      "emoji \u{1f600} and a lone surrogate \ud800 end",
      "x".repeat(10_000),
    );
    for (const text of texts) {
      assert.deepEqual(
        sha256(text),
        await subtleSha256(text),
        `digest of ${JSON.stringify(text.slice(0, 40))} (${text.length} chars)`,
      );
    }
  });

  it("KeyHasher.hash() answers at once with the first 128 bits of the SHA-256 of method, URL and credentials", async () => {
    const hasher = new KeyHasher([]);
    const url = "https://api.example.com/users/1?fields=a,b";
    const credentials = hasher.credentials(
      new Headers({ authorization: "Bearer t_1" }),
    );
    const hash = hasher.hash("GET", url, credentials);
    assert.equal(typeof hash, "string");
    const expected = base64Url(
      (await subtleSha256(`GET\n${url}\n${credentials}`)).subarray(0, 16),
    );
    assert.equal(hash, expected);
    assert.equal(hash.length, 22);
    // Another credential, another key.
    assert.notEqual(hasher.hash("GET", url, ""), hash);
  });
});

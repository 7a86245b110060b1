// How an encrypted cache store hides the tags it passes on: the part after
// the last `:` (the label a caller chose) becomes a keyed hash, and the part
// before it (the client's name and scopes, visible in store keys anyway)
// stays, so that `clear(prefix)` still reaches the tags of one scope.
//
// The hash key comes from each AES key of the ring: AES-GCM of 32 zero bytes
// under a fixed IV, whose output is secret and fixed for that key, imported
// as an HMAC-SHA-256 key. A write hashes with the current key; an
// invalidation with every key that can encrypt, so that entries tagged
// before a rotation are still reached while their key is in the ring.

import { tagPrefix } from "../_tags.ts";
import type { _Keyring } from "./_keyring.ts";

/** A fixed IV used for nothing else: "sluice-tags\0". */
const DERIVE_IV = new TextEncoder().encode("sluice-tags\u0000");
const encoder = new TextEncoder();
const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Hashes tags with the keys of one keyring. */
export class _TagHasher {
  readonly #keyring: _Keyring;
  readonly #hmacs = new WeakMap<CryptoKey, Promise<CryptoKey>>();

  constructor(keyring: _Keyring) {
    this.#keyring = keyring;
  }

  /** The tags as a write with the current key stores them. */
  async current(tags: readonly string[]): Promise<string[]> {
    const [key] = await this.#keyring.encrypting();
    return await this.#hashAll(await this.#hmac(key!), tags);
  }

  /** The tags under every key of the ring that can encrypt, distinct. */
  async every(tags: readonly string[]): Promise<string[]> {
    const out = new Set<string>();
    for (const key of await this.#keyring.encrypting()) {
      for (const tag of await this.#hashAll(await this.#hmac(key), tags)) {
        out.add(tag);
      }
    }
    return [...out];
  }

  #hmac(key: CryptoKey): Promise<CryptoKey> {
    let hmac = this.#hmacs.get(key);
    if (hmac === undefined) {
      hmac = crypto.subtle.encrypt(
        { name: "AES-GCM", iv: DERIVE_IV },
        key,
        new Uint8Array(32),
      ).then((derived) =>
        crypto.subtle.importKey(
          "raw",
          new Uint8Array(derived, 0, 32),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        )
      );
      this.#hmacs.set(key, hmac);
    }
    return hmac;
  }

  #hashAll(hmac: CryptoKey, tags: readonly string[]): Promise<string[]> {
    return Promise.all(tags.map(async (tag) => {
      const mac = new Uint8Array(
        await crypto.subtle.sign("HMAC", hmac, encoder.encode(tag)),
      );
      return tagPrefix(tag) + _base64Url(mac.subarray(0, 18));
    }));
  }
}

/** Bytes (a multiple of 3) in unpadded base64url. */
function _base64Url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! +
      ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  return out;
}

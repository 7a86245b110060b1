/**
 * The options of the encrypted store decorators,
 * {@linkcode EncryptedCacheStore} and {@linkcode EncryptedDedupeStore}.
 *
 * @module
 */

import type { StoreEventListener } from "../store_events.ts";
import type { CompressionOptions } from "./compression_options.ts";

/**
 * A Web Crypto `CryptoKey`, as far as an encrypted store reads it. Typed by
 * its shape, so that using the stores needs no DOM types; any `CryptoKey`
 * fits.
 */
export interface WebCryptoKey {
  /** `"secret"` for an AES key. */
  readonly type: string;
  /** The algorithm: `{ name: "AES-GCM", length: 256 }` here. */
  readonly algorithm: { readonly name: string };
  /** What the key may do: `"decrypt"`, and `"encrypt"` for the current key. */
  readonly usages: readonly string[];
}

/**
 * An AES-GCM-256 key: a Web Crypto `CryptoKey` (algorithm `AES-GCM`, length
 * 256, with `decrypt` among its usages, and `encrypt` for the current key),
 * or its 32 raw bytes. Raw bytes are copied when the store is built and
 * imported as a non-extractable key on first use.
 */
export type EncryptionKey = WebCryptoKey | Uint8Array | ArrayBuffer;

/** How an encrypted store encrypts, and with which keys. */
export interface EncryptionOptions {
  /**
   * The keyring: every key decrypts the values it encrypted, and the
   * `current` one encrypts new writes. Ids are stored in the clear with
   * each value (1 to 255 bytes of UTF-8); keys never leave the process.
   *
   * @example A keyring being rotated from k1 to k2
   * ```ts ignore
   * { keys: { k2: newKey, k1: oldKey }, current: "k2" }
   * ```
   */
  keys: Readonly<Record<string, EncryptionKey>>;
  /**
   * The id of the key that encrypts. Required when `keys` holds more than
   * one key.
   *
   * @default {the only id of `keys`}
   */
  current?: string;
  /**
   * Compress values with gzip before encrypting them (see
   * {@linkcode CompressionOptions}; `true` takes its defaults). Ciphertext
   * does not compress, so this is the only place compression can happen.
   * Mind that the stored size then tells something of the content: do not
   * compress where an attacker can put chosen text next to a secret in one
   * body and watch the size (the CRIME / BREACH pattern).
   *
   * @default {false}
   */
  compress?: boolean | CompressionOptions;
  /**
   * Receives a `cache.corrupt` or `dedupe.corrupt` event for each value that
   * could not be opened (another key, an unknown key id, a changed byte, a
   * value copied from another key). The event names the store key and the
   * reason, never a key or a value. A listener that throws is ignored.
   *
   * @default {undefined}
   */
  onEvent?: StoreEventListener;
}

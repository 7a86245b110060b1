// The sealed form of a value: its packed form (see _packed.ts) encrypted
// with AES-GCM-256 under a random 96-bit IV, with the key id in the clear
// and the store key bound in as additional data.
//
//   "S" "E" 0x01 purpose idLength id... | IV (12) | ciphertext + tag (16)
//
// The additional data is the header (everything before the IV) followed by
// the store key. The header is length-prefixed, so the two parts cannot be
// confused; a value moved to another key, another tenant's key or from a
// dedupe result to a cache entry fails its tag.

import { ConfigError } from "../../errors.ts";
import { CodecError } from "../codec.ts";
import type { StoreEventListener } from "../store_events.ts";
import {
  compressionPolicy,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
} from "./_compression_policy.ts";
import { optionalFunction, optionsObject } from "./_inner.ts";
import { _Keyring } from "./_keyring.ts";
import { type _CompressionPolicy, pack, unpack } from "./_packed.ts";

const MAGIC_0 = 0x53; // "S"
const MAGIC_1 = 0x45; // "E"
const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a sealed value holds: a cache entry or a flight's result. */
export type _Purpose = "cache" | "dedupe";

const PURPOSE_BYTES: Record<_Purpose, number> = { cache: 0x43, dedupe: 0x44 };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** How a store seals its values. */
export interface _Sealer {
  keyring: _Keyring;
  purpose: _Purpose;
  /** When set, values are compressed (when worth it) before encryption. */
  compression: _CompressionPolicy | undefined;
  /** The most bytes an opened value may inflate to. */
  maxDecompressedBytes: number;
}

/**
 * Validates the options of an encrypted store into its sealer and listener.
 *
 * @throws {ConfigError} Naming the bad option.
 */
export function sealerOptions(
  component: string,
  purpose: _Purpose,
  options: unknown,
): { sealer: _Sealer; onEvent: StoreEventListener | undefined } {
  const record = optionsObject(component, options);
  const { keys, current, compress = false, onEvent } = record;
  const keyring = new _Keyring(component, { keys, current });
  let compression: _CompressionPolicy | undefined;
  if (compress === true) {
    compression = compressionPolicy(component, "compress.", {});
  } else if (compress !== false) {
    if (typeof compress !== "object" || compress === null) {
      throw new ConfigError(
        component,
        "compress",
        compress,
        "a boolean or an object { minBytes, maxDecompressedBytes }",
      );
    }
    compression = compressionPolicy(component, "compress.", compress);
  }
  return {
    sealer: {
      keyring,
      purpose,
      compression,
      maxDecompressedBytes: compression?.maxDecompressedBytes ??
        DEFAULT_MAX_DECOMPRESSED_BYTES,
    },
    onEvent: optionalFunction<StoreEventListener>(
      component,
      "onEvent",
      onEvent,
    ),
  };
}

/**
 * Seals a value stored under `key`.
 *
 * @throws What encoding the value throws (a BigInt, a cycle).
 */
export async function seal(
  sealer: _Sealer,
  key: string,
  value: unknown,
): Promise<Uint8Array> {
  const { bytes: plaintext } = await pack(value, sealer.compression);
  const { idBytes, key: cryptoKey } = await sealer.keyring.current();
  const headerBytes = 5 + idBytes.byteLength;
  const out = new Uint8Array(
    headerBytes + IV_BYTES + plaintext.byteLength + TAG_BYTES,
  );
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out[3] = PURPOSE_BYTES[sealer.purpose];
  out[4] = idBytes.byteLength;
  out.set(idBytes, 5);
  // A fresh IV for every write: with random IVs, one key may encrypt at most
  // 2^32 values (NIST SP 800-38D, 8.3).
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  out.set(iv, headerBytes);
  const ciphertext = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv,
      additionalData: _additionalData(out.subarray(0, headerBytes), key),
    },
    cryptoKey,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  out.set(new Uint8Array(ciphertext), headerBytes + IV_BYTES);
  return out;
}

/**
 * Opens a value sealed under `key`.
 *
 * @returns The value.
 * @throws {CodecError} When it is not a sealed value of this purpose, its
 * key id is not in the keyring, its tag fails (a wrong key, a changed byte,
 * another store key), or what it holds does not decode.
 */
export async function open(
  sealer: _Sealer,
  key: string,
  stored: unknown,
): Promise<unknown> {
  const bytes = _bytesOf(stored);
  if (
    bytes === undefined || bytes.byteLength < 5 || bytes[0] !== MAGIC_0 ||
    bytes[1] !== MAGIC_1 || bytes[2] !== VERSION
  ) {
    throw new CodecError("Cannot decode store value: not an encrypted value");
  }
  if (bytes[3] !== PURPOSE_BYTES[sealer.purpose]) {
    throw new CodecError(
      "Cannot decode store value: encrypted for another kind of store",
    );
  }
  const headerBytes = 5 + bytes[4]!;
  if (bytes.byteLength < headerBytes + IV_BYTES + TAG_BYTES) {
    throw new CodecError("Cannot decode store value: it is truncated");
  }
  let id: string;
  try {
    id = decoder.decode(bytes.subarray(5, headerBytes));
  } catch {
    throw new CodecError("Cannot decode store value: bad key id");
  }
  const cryptoKey = await sealer.keyring.find(id);
  if (cryptoKey === undefined) {
    throw new CodecError(
      "Cannot decode store value: encrypted with a key id the keyring lacks",
    );
  }
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes.subarray(
          headerBytes,
          headerBytes + IV_BYTES,
        ) as Uint8Array<ArrayBuffer>,
        additionalData: _additionalData(bytes.subarray(0, headerBytes), key),
      },
      cryptoKey,
      bytes.subarray(headerBytes + IV_BYTES) as Uint8Array<ArrayBuffer>,
    );
  } catch {
    throw new CodecError(
      "Cannot decode store value: authentication failed (another key, another store key, or changed bytes)",
    );
  }
  return await unpack(new Uint8Array(plaintext), sealer.maxDecompressedBytes);
}

function _additionalData(
  header: Uint8Array,
  key: string,
): Uint8Array<ArrayBuffer> {
  const keyBytes = encoder.encode(key);
  const out = new Uint8Array(header.byteLength + keyBytes.byteLength);
  out.set(header);
  out.set(keyBytes, header.byteLength);
  return out;
}

function _bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

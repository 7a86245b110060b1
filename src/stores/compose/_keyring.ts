// The AES-GCM-256 keys of an encrypted store, by id: validated when the
// store is built, raw keys imported into Web Crypto on first use (an import
// is asynchronous, and nothing may run before the store is used).

import { ConfigError } from "../../errors.ts";

/** The key ids of the store's keyring, and the one that encrypts. */
export interface _KeyringOptions {
  keys: unknown;
  current: unknown;
}

/** The longest key id, in UTF-8 bytes (its length is stored in one byte). */
const MAX_ID_BYTES = 255;

const encoder = new TextEncoder();

/** One key of the ring. */
interface _Entry {
  id: string;
  /** The id as stored in every value it encrypts. */
  idBytes: Uint8Array;
  /** The key, or its raw bytes until imported. */
  source: CryptoKey | Uint8Array;
  imported: Promise<CryptoKey> | undefined;
}

/** A keyring: every key decrypts, the current one also encrypts. */
export class _Keyring {
  readonly #entries = new Map<string, _Entry>();
  readonly #current: _Entry;

  /**
   * Validates the keys and the current key id.
   *
   * @throws {ConfigError} When `keys` is not a non-empty record of
   * AES-GCM-256 keys (CryptoKeys or 32 bytes) under ids of 1 to 255 bytes,
   * or `current` names none of them.
   */
  constructor(component: string, options: _KeyringOptions) {
    const { keys, current } = options;
    if (
      typeof keys !== "object" || keys === null || Array.isArray(keys) ||
      Object.keys(keys).length === 0
    ) {
      throw new ConfigError(
        component,
        "keys",
        keys,
        "a non-empty record of key id to key ({ k1: key })",
      );
    }
    for (const [id, key] of Object.entries(keys)) {
      const idBytes = encoder.encode(id);
      if (idBytes.byteLength === 0 || idBytes.byteLength > MAX_ID_BYTES) {
        throw new ConfigError(
          component,
          "keys",
          id,
          `keyed by ids of 1 to ${MAX_ID_BYTES} bytes`,
        );
      }
      this.#entries.set(id, {
        id,
        idBytes,
        source: _keySource(component, `keys.${id}`, key),
        imported: undefined,
      });
    }
    const ids = [...this.#entries.keys()];
    const currentId = current === undefined && ids.length === 1
      ? ids[0]
      : current;
    const entry = typeof currentId === "string"
      ? this.#entries.get(currentId)
      : undefined;
    if (entry === undefined) {
      throw new ConfigError(
        component,
        "current",
        current,
        `the id of one of 'keys' (${ids.map((id) => `"${id}"`).join(", ")})`,
      );
    }
    const { source } = entry;
    if (!(source instanceof Uint8Array) && !source.usages.includes("encrypt")) {
      throw new ConfigError(
        component,
        `keys.${entry.id}`,
        _described(source),
        'a CryptoKey whose usages include "encrypt", as it is the current key',
      );
    }
    this.#current = entry;
  }

  /** The id of the key that encrypts, as stored, and the key. */
  async current(): Promise<{ idBytes: Uint8Array; key: CryptoKey }> {
    const entry = this.#current;
    return { idBytes: entry.idBytes, key: await this.#key(entry) };
  }

  /**
   * Every key of the ring that can encrypt, the current one first: raw
   * keys, and CryptoKeys whose usages include `"encrypt"`.
   */
  async encrypting(): Promise<CryptoKey[]> {
    const entries = [
      this.#current,
      ...[...this.#entries.values()].filter((entry) =>
        entry !== this.#current &&
        (entry.source instanceof Uint8Array ||
          entry.source.usages.includes("encrypt"))
      ),
    ];
    return await Promise.all(entries.map((entry) => this.#key(entry)));
  }

  /** The key with `id`, or `undefined` when the ring has none. */
  async find(id: string): Promise<CryptoKey | undefined> {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : await this.#key(entry);
  }

  #key(entry: _Entry): Promise<CryptoKey> {
    const { source } = entry;
    if (!(source instanceof Uint8Array)) return Promise.resolve(source);
    entry.imported ??= crypto.subtle.importKey(
      "raw",
      source as Uint8Array<ArrayBuffer>,
      { name: "AES-GCM" },
      false,
      ["encrypt", "decrypt"],
    );
    return entry.imported;
  }
}

/** A key as the ring keeps it: the CryptoKey, or a copy of the raw bytes. */
function _keySource(
  component: string,
  option: string,
  key: unknown,
): CryptoKey | Uint8Array {
  if (key instanceof ArrayBuffer || ArrayBuffer.isView(key)) {
    const bytes = key instanceof ArrayBuffer
      ? new Uint8Array(key)
      : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
    if (bytes.byteLength !== 32) {
      throw new ConfigError(
        component,
        option,
        `${bytes.byteLength} bytes`,
        "32 bytes of key material (crypto.getRandomValues(new Uint8Array(32)), kept secret)",
      );
    }
    return bytes.slice();
  }
  if (_isAesGcm256(key)) {
    if (!key.usages.includes("decrypt")) {
      throw new ConfigError(
        component,
        option,
        _described(key),
        'a CryptoKey whose usages include "decrypt"',
      );
    }
    return key;
  }
  throw new ConfigError(
    component,
    option,
    _described(key),
    "an AES-GCM CryptoKey of 256 bits, or 32 raw bytes",
  );
}

// What an error says about a rejected key: its kind, never its value (a
// passphrase given by mistake must not reach a log).
function _described(key: unknown): string {
  if (_isAesGcm256(key)) return `a CryptoKey with usages [${key.usages}]`;
  if (typeof key === "object" && key !== null) {
    const { type, algorithm } = key as Partial<CryptoKey>;
    if (typeof type === "string" && typeof algorithm === "object") {
      return `a ${type} CryptoKey for ${algorithm?.name}`;
    }
    return "an object";
  }
  return typeof key === "string" ? "a string" : String(key);
}

// Told by shape rather than `instanceof`, so that a key made in another
// realm (a worker, a test runner's context) is accepted.
function _isAesGcm256(key: unknown): key is CryptoKey {
  if (typeof key !== "object" || key === null) return false;
  const { type, algorithm, usages } = key as Partial<CryptoKey>;
  return type === "secret" && Array.isArray(usages) &&
    typeof algorithm === "object" && algorithm !== null &&
    algorithm.name === "AES-GCM" &&
    (algorithm as { length?: unknown }).length === 256;
}

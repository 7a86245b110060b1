// Request keys. A key hashes the method, the normalised URL and the values
// of the credential headers, so two credentials never share a cache entry or
// a flight, and no URL or header value ever appears in a store key.
//
// The hash is SHA-256, truncated to 128 bits: collisions cannot be crafted,
// so one request can never be made to read another's entry. It is computed
// synchronously (the same digest as crypto.subtle's, without its promise),
// and memoised (bounded) so that the hot path of a repeated request costs a
// Map lookup.

import { sha256 } from "./_sha256.ts";

const MEMO_LIMIT = 4_096;

/** The header names that always count as credentials. */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "cookie",
];

/** How many hashes of one URL are remembered (methods, credentials, variants). */
const PER_URL_LIMIT = 8;

/** A remembered hash, and the keys last built from it. */
interface _Memo {
  readonly method: string;
  readonly credentials: string;
  readonly hash: string;
  prefix: string | undefined;
  keys: CallKeys | undefined;
}

/** Builds request hashes, memoising recent ones. */
export class KeyHasher {
  /**
   * By URL: a request's URL is one string the client keeps, so found at
   * once. Two generations of at most half the limit each: once the current
   * one is full it becomes the previous one, and the previous one is
   * dropped whole (dropping the oldest entry of one map, one at a time,
   * would leave it a hole to skip at every eviction). A URL found in the
   * previous generation moves to the current one.
   */
  #memo = new Map<string, _Memo[]>();
  #previous = new Map<string, _Memo[]>();
  readonly #credentialHeaders: readonly string[];

  constructor(credentialHeaders: readonly string[]) {
    const names = new Set(DEFAULT_CREDENTIAL_HEADERS);
    for (const name of credentialHeaders) names.add(name.toLowerCase());
    this.#credentialHeaders = [...names].sort();
  }

  /** The credential header names, lower case and sorted. */
  get names(): readonly string[] {
    return this.#credentialHeaders;
  }

  /**
   * The credential part of a request's key material: the credential header
   * values, each behind its name. `""` when the request carries none.
   */
  credentials(headers: Headers): string {
    let out = "";
    for (const name of this.#credentialHeaders) {
      const value = headers.get(name);
      if (value !== null) out += `${name}\u0000${value}\u0000`;
    }
    return out;
  }

  /** The hash of a request. */
  hash(method: string, url: string, credentials: string): string {
    return this.#memoOf(method, url, credentials).hash;
  }

  /**
   * The store keys of a request of `prefix` (a client or scope), built once
   * for a request that repeats.
   */
  keys(
    prefix: string,
    method: string,
    url: string,
    credentials: string,
  ): CallKeys {
    const memo = this.#memoOf(method, url, credentials);
    if (memo.keys === undefined || memo.prefix !== prefix) {
      memo.prefix = prefix;
      memo.keys = callKeys(prefix, memo.hash);
    }
    return memo.keys;
  }

  #memoOf(method: string, url: string, credentials: string): _Memo {
    let list = this.#memo.get(url);
    if (list === undefined) {
      list = this.#previous.get(url);
      if (list !== undefined) {
        this.#previous.delete(url);
        this.#keep(url, list);
      }
    }
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const memo = list[i]!;
        if (memo.method === method && memo.credentials === credentials) {
          return memo;
        }
      }
      if (list.length >= PER_URL_LIMIT) list.shift();
    } else {
      list = [];
      this.#keep(url, list);
    }
    const memo: _Memo = {
      method,
      credentials,
      hash: _base64Url(sha256(`${method}\n${url}\n${credentials}`)),
      prefix: undefined,
      keys: undefined,
    };
    list.push(memo);
    return memo;
  }

  // Adds the hashes of a URL to the current generation.
  #keep(url: string, list: _Memo[]): void {
    if (this.#memo.size >= MEMO_LIMIT / 2) {
      this.#previous = this.#memo;
      this.#memo = new Map();
    }
    this.#memo.set(url, list);
  }
}

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The first 16 bytes of a digest, in unpadded base64url: 22 characters.
function _base64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! +
      ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  // The sixteenth byte: two characters.
  const last = bytes[15]!;
  return out + ALPHABET[last >>> 2]! + ALPHABET[(last & 3) << 4]!;
}

/** The store keys of one request, built once. */
export interface CallKeys {
  /** The request's hash (see {@linkcode KeyHasher.hash}). */
  readonly hash: string;
  /** Where its cache entry (or Vary index) is kept. */
  readonly cache: string;
  /** Where its distributed flight is registered. */
  readonly dedupe: string;
}

/** The keys of a request of `prefix` (a client or scope) whose hash is `hash`. */
export function callKeys(prefix: string, hash: string): CallKeys {
  return {
    hash,
    cache: cacheKey(prefix, hash),
    dedupe: [prefix, ":dedupe:", hash].join(""),
  };
}

/**
 * The request fields that make an answer partial (`Range`, `If-Range`) or
 * conditional on the caller's own validators. A request carrying any is
 * answered what a plain request of its URL is not (a 206, a 304, a 412),
 * and the reverse: it never shares a flight with one.
 */
const SELECTING_FIELDS: readonly string[] = [
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "range",
];

/**
 * The selecting fields of a request (see `SELECTING_FIELDS`), each behind
 * its name, as key material. `""` when it carries none: a plain request.
 */
export function selectingFields(headers: Headers): string {
  let out = "";
  for (const name of SELECTING_FIELDS) {
    const value = headers.get(name);
    if (value !== null) out += `${name}\u0000${value}\u0000`;
  }
  return out;
}

/** `headers` without the selecting fields: those of the plain request. */
export function withoutSelecting(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of SELECTING_FIELDS) out.delete(name);
  return out;
}

/**
 * The keys of a request that carries selecting fields (`material`, from
 * {@linkcode selectingFields}): the cache entry of its URL, and a flight of
 * its own, shared only by requests with the same fields. The flight key is
 * a hash too, so that it names no header value.
 */
export function selectingKeys(
  hasher: KeyHasher,
  call: {
    scope: { prefix: string };
    method: string;
    url: string;
    credentials: string;
  },
  keys: CallKeys,
  material: string,
): CallKeys {
  const hash = _hashWith(hasher, call, "select", material);
  return { ...keys, dedupe: `${call.scope.prefix}:dedupe:${hash}` };
}

/**
 * The keys of a request with cache tags: the cache entry of its URL, and a
 * flight shared only by requests with the same tags, so that the response
 * each stores carries its own tags.
 */
export function taggedKeys(
  hasher: KeyHasher,
  call: {
    scope: { prefix: string };
    method: string;
    url: string;
    credentials: string;
    tags: readonly string[] | undefined;
  },
  keys: CallKeys,
): CallKeys {
  if (call.tags === undefined) return keys;
  const material = [...call.tags].sort().join("\u0000");
  const hash = _hashWith(
    hasher,
    call,
    "tags",
    `${keys.dedupe}\u0000${material}`,
  );
  return { ...keys, dedupe: `${call.scope.prefix}:dedupe:${hash}` };
}

/** The cache key of a request of `prefix` whose hash is `hash`. */
export function cacheKey(prefix: string, hash: string): string {
  // A flat string (a template would make a rope of it): a store that keeps
  // the key keeps one string.
  return [prefix, ":cache:", hash].join("");
}

/**
 * The cache key of one variant of a request whose response varies: the
 * variant's key (`variantKey`) is hashed with the credentials, so that it
 * names no header value either.
 */
export function variantCacheKey(
  hasher: KeyHasher,
  call: {
    scope: { prefix: string };
    method: string;
    url: string;
    credentials: string;
  },
  variant: string,
): string {
  return cacheKey(
    call.scope.prefix,
    _hashWith(hasher, call, "vary", variant),
  );
}

// The hash of a request's method, URL and credentials with `material` of
// one kind (`tag`) added, so that two kinds never share a hash.
function _hashWith(
  hasher: KeyHasher,
  call: { method: string; url: string; credentials: string },
  tag: string,
  material: string,
): string {
  return hasher.hash(
    call.method,
    call.url,
    `${call.credentials}\u0001${tag}\u0001${material}`,
  );
}

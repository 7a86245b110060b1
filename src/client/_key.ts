// Request keys. A key hashes the method, the normalised URL and the values
// of the credential headers, so two credentials never share a cache entry or
// a flight, and no URL or header value ever appears in a store key.
//
// The hash is SHA-256, truncated to 128 bits: collisions cannot be crafted,
// so one request can never be made to read another's entry. Digests are
// memoised (bounded) so that the hot path of a repeated request costs a Map
// lookup, not an await on crypto.subtle.

const MEMO_LIMIT = 4_096;
const encoder = new TextEncoder();

/** The header names that always count as credentials. */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "cookie",
];

/** Builds request hashes, memoising recent ones. */
export class KeyHasher {
  #memo = new Map<string, string | Promise<string>>();
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

  /**
   * The hash of a request: synchronous when memoised, a promise otherwise.
   */
  hash(
    method: string,
    url: string,
    credentials: string,
  ): string | Promise<string> {
    const material = `${method}\n${url}\n${credentials}`;
    const memo = this.#memo.get(material);
    if (memo !== undefined) return memo;
    if (this.#memo.size >= MEMO_LIMIT) {
      // Evict the oldest insertion: a cheap approximation of LRU.
      const oldest = this.#memo.keys().next();
      if (!oldest.done) this.#memo.delete(oldest.value);
    }
    // Concurrent callers with the same material share one digest.
    const pending = this.#digest(material);
    this.#memo.set(material, pending);
    return pending;
  }

  async #digest(material: string): Promise<string> {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      encoder.encode(material),
    );
    const hash = _base64Url(new Uint8Array(digest, 0, 16));
    if (this.#memo.get(material) !== undefined) this.#memo.set(material, hash);
    return hash;
  }
}

function _base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
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
    dedupe: `${prefix}:dedupe:${hash}`,
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
export async function selectingKeys(
  hasher: KeyHasher,
  call: {
    scope: { prefix: string };
    method: string;
    url: string;
    credentials: string;
  },
  keys: CallKeys,
  material: string,
): Promise<CallKeys> {
  const hash = await hasher.hash(
    call.method,
    call.url,
    `${call.credentials}\u0001select\u0001${material}`,
  );
  return { ...keys, dedupe: `${call.scope.prefix}:dedupe:${hash}` };
}

/** The cache key of a request of `prefix` whose hash is `hash`. */
export function cacheKey(prefix: string, hash: string): string {
  return `${prefix}:cache:${hash}`;
}

/**
 * The cache key of one variant of a request whose response varies: the
 * variant's key (`variantKey`) is hashed with the credentials, so that it
 * names no header value either.
 */
export async function variantCacheKey(
  hasher: KeyHasher,
  call: {
    scope: { prefix: string };
    method: string;
    url: string;
    credentials: string;
  },
  variant: string,
): Promise<string> {
  const hash = await hasher.hash(
    call.method,
    call.url,
    `${call.credentials}\u0001vary\u0001${variant}`,
  );
  return cacheKey(call.scope.prefix, hash);
}

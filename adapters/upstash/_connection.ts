import { ConfigError, StoreError } from "../../src/errors.ts";
import { timerDelay } from "../../src/_store_deadline.ts";
import { positiveInteger } from "../../src/stores/_validate.ts";
import { _UpstashRestClient } from "./_rest_client.ts";

/**
 * The methods of an `@upstash/redis` `Redis` client that the Upstash stores
 * call. Any object with these methods works, so a store never depends on a
 * particular version of the client's types.
 *
 * Pass a client created with `automaticDeserialization: false` when you can;
 * the stores also work with the default, because every value they store is
 * text that does not parse as JSON.
 */
export interface UpstashRedisLike {
  /** `GET key`. */
  get(key: string): Promise<unknown>;
  /** `SET key value [PX ms]`. */
  set(key: string, value: string, options?: { px: number }): Promise<unknown>;
  /** `DEL key...`. */
  del(...keys: string[]): Promise<unknown>;
  /** `UNLINK key...`. */
  unlink(...keys: string[]): Promise<unknown>;
  /** `EVAL script numkeys key... arg...`. */
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /** `EVALSHA sha numkeys key... arg...`. */
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  /** `SCAN cursor MATCH pattern COUNT n TYPE type`. */
  scan(
    cursor: string | number,
    options: { match: string; count: number; type?: string },
  ): Promise<[string | number, string[]]>;
}

/** How an Upstash store reaches its database. Every store accepts these. */
export interface UpstashConnectionOptions {
  /**
   * An `@upstash/redis` client, for example `Redis.fromEnv()`. When given,
   * `url` and `token` are ignored.
   */
  redis?: UpstashRedisLike;
  /**
   * The database's REST URL (`UPSTASH_REDIS_REST_URL`), used with `token`
   * when no `redis` client is given. The store then talks to Upstash with
   * `fetch` directly.
   */
  url?: string;
  /** The database's REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  token?: string;
  /**
   * Prepended to every key the store writes. Keys given by the client
   * already carry its name and scopes, so the default keeps every sluice key
   * under one recognisable prefix.
   *
   * @default {"sluice:"}
   */
  keyPrefix?: string;
  /**
   * How long one store operation may take before it is abandoned with a
   * `StoreError`, in milliseconds. A positive integer.
   *
   * @default {5_000}
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** A Lua script, run by its SHA-1 digest once Redis knows it. */
export class _Script {
  readonly source: string;
  #sha: Promise<string> | undefined;

  constructor(source: string) {
    this.source = source;
  }

  /** The script's SHA-1 digest in hex, computed once. */
  sha(): Promise<string> {
    this.#sha ??= crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(this.source),
    ).then((digest) =>
      Array.from(
        new Uint8Array(digest),
        (byte) => byte.toString(16).padStart(2, "0"),
      ).join("")
    );
    return this.#sha;
  }
}

/** The kinds of store that share one database, each in its own namespace. */
export type _StoreKind = "cache" | "dedupe" | "ratelimit";

/**
 * The connection shared by the methods of one store: key prefixing, script
 * execution (`EVALSHA`, then `EVAL` when Redis answers `NOSCRIPT`), a
 * deadline per operation, and the translation of every failure into a
 * `StoreError` naming the store and the operation.
 */
export class _Connection {
  readonly component: string;
  /** Every key of this store starts with it: `keyPrefix`, the kind, `:`. */
  readonly keyPrefix: string;
  /** The `keyPrefix` option: what every kind's keys start with. */
  readonly basePrefix: string;
  readonly #redis: UpstashRedisLike;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(
    component: string,
    kind: _StoreKind,
    options: UpstashConnectionOptions,
  ) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(
        component,
        "options",
        options,
        "an object with `redis`, or `url` and `token`",
      );
    }
    const {
      redis,
      url,
      token,
      keyPrefix = "sluice:",
      timeoutMs = DEFAULT_TIMEOUT_MS,
    } = options;
    this.component = component;
    if (typeof keyPrefix !== "string") {
      throw new ConfigError(component, "keyPrefix", keyPrefix, "a string");
    }
    // The kind keeps a cache entry, a flight and a rate window apart even
    // when callers give them the same key.
    this.keyPrefix = `${keyPrefix}${kind}:`;
    this.basePrefix = keyPrefix;
    this.#timeoutMs = positiveInteger(component, "timeoutMs", timeoutMs);
    if (redis !== undefined) {
      if (!_isRedisLike(redis)) {
        throw new ConfigError(
          component,
          "redis",
          redis,
          "an @upstash/redis client (with get, set, del, unlink, eval, evalsha and scan)",
        );
      }
      this.#redis = redis;
      return;
    }
    if (typeof url !== "string" || !/^https?:\/\/[^\s/]+/.test(url)) {
      throw new ConfigError(
        component,
        "url",
        url,
        "an http(s) URL of an Upstash REST endpoint (or pass `redis`)",
      );
    }
    if (typeof token !== "string" || token === "") {
      throw new ConfigError(
        component,
        "token",
        token,
        "the non-empty REST token of the database",
      );
    }
    this.#redis = new _UpstashRestClient(url, token);
  }

  /** The Redis key of a store key. */
  key(key: string): string {
    return this.keyPrefix + key;
  }

  /** Whether {@linkcode _Connection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Refuses every later operation. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Runs `body` against Redis within the deadline, turning any failure into
   * a `StoreError`.
   */
  async run<T>(
    operation: string,
    body: (redis: UpstashRedisLike) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) {
      throw new StoreError(
        `Cannot ${operation} on a closed ${this.component}`,
        "upstash",
        operation,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new StoreError(
            `Cannot ${operation} on ${this.component}: Upstash did not answer within ${this.#timeoutMs} ms`,
            "upstash",
            operation,
          ),
        );
      }, timerDelay(this.#timeoutMs));
    });
    try {
      return await Promise.race([body(this.#redis), deadline]);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `Cannot ${operation} on ${this.component}: ${_describe(error)}`,
        "upstash",
        operation,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Walks the keys of this store that start with `prefix` (every key of the
   * store when it is empty) and hold a `type`, with `SCAN`, a batch of about
   * `count` at a time; never `KEYS`.
   */
  scan(
    operation: string,
    prefix: string,
    type: string,
    count: number,
    each: (keys: string[]) => Promise<void>,
  ): Promise<void> {
    return this.scanMatch(
      operation,
      _escapeGlob(this.key(prefix)) + "*",
      type,
      count,
      each,
    );
  }

  /**
   * Walks the keys that match a `MATCH` pattern (and hold a `type`, when
   * given) with `SCAN`, a batch of about `count` at a time.
   */
  async scanMatch(
    operation: string,
    match: string,
    type: string | undefined,
    count: number,
    each: (keys: string[]) => Promise<void>,
  ): Promise<void> {
    let cursor: string | number = "0";
    do {
      const [next, keys] = await this.run(
        operation,
        (redis) =>
          redis.scan(
            cursor,
            type === undefined ? { match, count } : { match, count, type },
          ),
      );
      if (keys.length > 0) await each(keys);
      cursor = String(next);
    } while (cursor !== "0");
  }

  /**
   * Runs a Lua script in one round trip once Redis has cached it, and
   * reads its reply with `parse` (a parse failure is a `StoreError` too).
   */
  script<T = unknown>(
    operation: string,
    script: _Script,
    keys: string[],
    args: string[],
    parse: (reply: unknown) => T = (reply) => reply as T,
  ): Promise<T> {
    return this.run(operation, async (redis) => {
      const sha = await script.sha();
      let reply: unknown;
      try {
        reply = await redis.evalsha(sha, keys, args);
      } catch (error) {
        if (!_isNoScript(error)) throw error;
        reply = await redis.eval(script.source, keys, args);
      }
      return parse(reply);
    });
  }
}

/**
 * Escapes the glob metacharacters of Redis `MATCH` patterns, so that a key
 * prefix matches only itself.
 */
export function _escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * Reads a script's reply as integers, whatever shape the client handed it
 * in (numbers, or numeric strings when a client decodes them as text).
 *
 * @throws {Error} When the reply is not what the script returns.
 */
export function _integers(reply: unknown, length: number): number[] {
  const items = Array.isArray(reply) ? reply : [reply];
  if (items.length < length) {
    throw new Error(`Upstash answered a script with ${JSON.stringify(reply)}`);
  }
  return items.map((item) => {
    const n = typeof item === "number" ? item : Number(item);
    if (!Number.isFinite(n)) {
      throw new Error(
        `Upstash answered a script with ${JSON.stringify(reply)}`,
      );
    }
    return n;
  });
}

function _isRedisLike(value: unknown): value is UpstashRedisLike {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return ["get", "set", "del", "unlink", "eval", "evalsha", "scan"].every(
    (name) => typeof record[name] === "function",
  );
}

function _isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}

/** A one-line reason for a failure, without the command (it may hold values). */
function _describe(error: unknown): string {
  const message = error instanceof Error
    ? error.message
    : String(error ?? "unknown error");
  const reason = message.replace(/,? command was: [\s\S]*$/, "").trim();
  if (/WRONGPASS|Unauthorized|\b401\b/i.test(reason)) {
    return `Upstash rejected the credentials (${reason}); check the REST token (UPSTASH_REDIS_REST_TOKEN)`;
  }
  return reason === "" ? "unknown error" : reason;
}

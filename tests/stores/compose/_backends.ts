// The stores the decorators are tested over: memory, libSQL on `:memory:`
// and on a file, and Upstash (a real redis-server behind the REST bridge).
// Each backend opens fresh, isolated stores, and reads back what it holds
// under a key as it holds it, so that a test can look for plaintext where
// only ciphertext belongs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { type Client, createClient } from "@libsql/client";
import {
  LibsqlCacheStore,
  LibsqlDedupeStore,
  tableNames,
} from "../../../adapters/libsql/mod.ts";
import {
  UpstashCacheStore,
  UpstashDedupeStore,
} from "../../../adapters/upstash/mod.ts";
import {
  type CacheStore,
  type Clock,
  type DedupeStore,
  MemoryCacheStore,
  MemoryDedupeStore,
} from "../../../mod.ts";
import {
  type CacheStoreSuiteOptions,
  type SuiteTime,
  testCacheStore,
  testDedupeStore,
} from "../../../testing/mod.ts";
import { encodeText } from "../../../src/stores/codec.ts";
import {
  startUpstashEnv,
  type UpstashEnv,
} from "../../adapters/upstash/_env.ts";

/** What a backend is opened with. */
export interface OpenContext {
  clock: Clock;
  /** A name unique to the test, for stores that share a server. */
  namespace: string;
  /** A size limit for the store's entries, in bytes. */
  maxBytes?: number;
}

/** A cache store of a backend, and what it physically holds. */
export interface Opened {
  store: CacheStore<unknown>;
  /** The stored value under `key` as the backend keeps it: bytes or text. */
  raw(key: string): Promise<Uint8Array | string | undefined>;
}

/** A backend the decorators are tested over. */
export interface Backend {
  name: string;
  time: SuiteTime;
  /** Declares its set-up and tear-down in the current `describe`. */
  hooks(): void;
  open(context: OpenContext): Opened;
  /** A dedupe store on the backend. */
  dedupe(context: {
    clock: Clock;
    jobTimeoutMs: number;
    completedGraceMs: number;
  }): DedupeStore<unknown>;
}

function closing<S extends { close(): Promise<void> }>(
  store: S,
  client: Client,
): S {
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    if (!client.closed) client.close();
  };
  return store;
}

const memory: Backend = {
  name: "memory",
  time: "manual",
  hooks() {},
  open({ clock, maxBytes }) {
    const store = new MemoryCacheStore({
      clock,
      ...(maxBytes === undefined ? {} : { maxBytes }),
    });
    return {
      store,
      raw: async (key) => {
        const value = await store.get(key);
        if (value === undefined) return undefined;
        if (value instanceof Uint8Array) return value;
        // The value as it is, its byte arrays as base64.
        return encodeText(value);
      },
    };
  },
  dedupe: (context) => new MemoryDedupeStore(context),
};

function libsql(
  name: string,
  url: () => string,
  hooks: () => void = () => {},
): Backend {
  return {
    name: `libSQL ${name}`,
    time: "manual",
    hooks,
    open({ clock, maxBytes }) {
      const client = createClient({ url: url(), timeout: 5_000 });
      const store = closing(
        new LibsqlCacheStore({
          client,
          clock,
          ...(maxBytes === undefined ? {} : { maxEntrySizeBytes: maxBytes }),
        }),
        client,
      );
      return {
        store,
        raw: async (key) => {
          const result = await client.execute({
            sql: `SELECT value FROM ${tableNames().cache} WHERE key = ?`,
            args: [key],
          });
          const value = result.rows[0]?.value;
          if (value === undefined || value === null) return undefined;
          return value instanceof ArrayBuffer
            ? new Uint8Array(value)
            : value as Uint8Array | string;
        },
      };
    },
    dedupe(context) {
      const client = createClient({ url: url(), timeout: 5_000 });
      return closing(new LibsqlDedupeStore({ client, ...context }), client);
    },
  };
}

let dir: string | undefined;
let files = 0;
function fileUrl(): string {
  if (dir === undefined) {
    throw new Error("the libSQL file backend is not set up");
  }
  return `file:${join(dir, `db_${++files}.db`)}`;
}
function fileHooks(): void {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sluice-compose-"));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
}

let env: UpstashEnv | undefined;
let users = 0;
const upstash: Backend = {
  name: "Upstash",
  time: "real",
  hooks() {
    before(async () => {
      users++;
      env ??= await startUpstashEnv();
    });
    after(async () => {
      if (--users === 0 && env !== undefined) {
        const closing = env;
        env = undefined;
        await closing.close();
      }
    });
  },
  open({ maxBytes }) {
    const keyPrefix = upstashEnv().prefix();
    const store = new UpstashCacheStore({
      redis: upstashEnv().client(),
      keyPrefix,
      ...(maxBytes === undefined ? {} : { maxEntrySizeBytes: maxBytes }),
    });
    return {
      store,
      raw: async (key) => {
        const value = await upstashEnv().client().get<string>(
          `${keyPrefix}cache:${key}`,
        );
        return value ?? undefined;
      },
    };
  },
  dedupe: (context) =>
    new UpstashDedupeStore({
      redis: upstashEnv().client(),
      keyPrefix: upstashEnv().prefix(),
      ...context,
    }),
};

/** The redis-server and bridge of the file, once its hooks ran. */
export function upstashEnv(): UpstashEnv {
  if (env === undefined) throw new Error("the Upstash backend is not started");
  return env;
}

/** Every backend: memory, libSQL `:memory:` and file, Upstash. */
export const backends: readonly Backend[] = [
  memory,
  libsql(":memory:", () => ":memory:"),
  libsql("file", fileUrl, fileHooks),
  upstash,
];

/** What a decorator under test is built from. */
export interface DecorateContext {
  clock: Clock;
  /** The decorator's options of a configuration test; empty otherwise. */
  options: Readonly<Record<string, unknown>>;
  backend: Backend;
  namespace: string;
  /** The inner store's size limit, when the suite asks for one. */
  maxBytes?: number;
}

/**
 * Runs the cache conformance suite over each backend, on the store
 * `decorate` builds around a fresh store of that backend.
 */
export function testDecorator(
  name: string,
  decorate: (
    inner: CacheStore<unknown>,
    context: DecorateContext,
  ) => CacheStore<unknown>,
  options: {
    invalidOptions?: CacheStoreSuiteOptions["invalidOptions"];
  } = {},
): void {
  for (const backend of backends) {
    describe(`${name} over ${backend.name}`, () => {
      backend.hooks();
      testCacheStore(
        `${name} over ${backend.name}`,
        ({ clock, options, namespace }) => {
          const { innerMaxBytes, ...own } = options;
          const maxBytes = innerMaxBytes as number | undefined;
          const { store } = backend.open({
            clock,
            namespace,
            ...(maxBytes === undefined ? {} : { maxBytes }),
          });
          try {
            return decorate(store, {
              clock,
              options: own,
              backend,
              namespace,
              ...(maxBytes === undefined ? {} : { maxBytes }),
            });
          } catch (error) {
            void store.close();
            throw error;
          }
        },
        {
          time: backend.time,
          sizeLimit: { options: { innerMaxBytes: 4_096 }, bytes: 4_096 },
          invalidOptions: options.invalidOptions ?? [],
        },
      );
    });
  }
}

/**
 * Runs the dedupe conformance suite over each backend, on the store
 * `decorate` builds around a fresh dedupe store of that backend.
 */
export function testDedupeDecorator(
  name: string,
  decorate: (
    inner: DedupeStore<unknown>,
    options: Readonly<Record<string, unknown>>,
  ) => DedupeStore<unknown>,
  invalidOptions: readonly Readonly<Record<string, unknown>>[] = [],
): void {
  for (const backend of backends) {
    describe(`${name} over ${backend.name}`, () => {
      backend.hooks();
      testDedupeStore(
        `${name} over ${backend.name}`,
        ({ clock, jobTimeoutMs, completedGraceMs, options }) => {
          const inner = backend.dedupe({
            clock,
            jobTimeoutMs,
            completedGraceMs,
          });
          try {
            return decorate(inner, options);
          } catch (error) {
            void inner.close();
            throw error;
          }
        },
        { time: backend.time, invalidOptions },
      );
    });
  }
}

const latin1 = new TextDecoder("latin1");

/**
 * Whether what a backend holds shows `marker` in the clear: in its bytes,
 * in its text, or in any base64 run of its text (a text backend keeps
 * bytes as base64).
 */
export function showsPlaintext(
  raw: Uint8Array | string | undefined,
  marker: string,
): boolean {
  if (raw === undefined) return false;
  if (raw instanceof Uint8Array) return latin1.decode(raw).includes(marker);
  if (raw.includes(marker)) return true;
  for (const run of raw.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []) {
    try {
      const bytes = Uint8Array.from(atob(run), (c) => c.charCodeAt(0));
      if (latin1.decode(bytes).includes(marker)) return true;
    } catch {
      // Not base64 after all.
    }
  }
  return false;
}

import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Clock } from "../src/clock.ts";
import type {
  CacheStore,
  CacheStoreStats,
  DedupeStore,
  RateLimitStore,
} from "../src/stores/types.ts";
import {
  type Awaitable,
  describeOptions,
  type Harness,
  type StoreSuiteOptions,
  storeTest,
  throwsConfigError,
  uid,
} from "./_harness.ts";
import { supportsCacheTags } from "../src/stores/cache_tags.ts";

/** What a {@linkcode CacheStoreFactory} receives to build a fresh store. */
export interface CacheStoreFactoryContext {
  /**
   * The clock the store must use for expiry. In `"real"` time it is the
   * system clock; a backend with server-side TTLs may ignore it there.
   */
  clock: Clock;
  /**
   * Backend-specific options to apply: empty, except in the configuration
   * tests, where it holds one entry of
   * {@linkcode CacheStoreSuiteOptions.invalidOptions}.
   */
  options: Readonly<Record<string, unknown>>;
  /**
   * A name unique to the test. A store on a shared backend may use it (as a
   * key prefix or a table prefix) to keep apart from other tests; the
   * stores of one test built with the same namespace must share a backend.
   */
  namespace: string;
}

/**
 * Builds a fresh, isolated cache store for one test. Stores built for
 * different tests must not see each other's entries.
 */
export type CacheStoreFactory = (
  context: CacheStoreFactoryContext,
) => Awaitable<CacheStore<unknown>>;

/** Options for {@linkcode testCacheStore}. */
export interface CacheStoreSuiteOptions extends StoreSuiteOptions {
  /**
   * Backend-specific options, each of which must make the factory throw a
   * `ConfigError`, for example `[{ maxEntries: 0 }]`.
   *
   * @default {[]}
   */
  invalidOptions?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Options that make the store refuse values larger than `bytes` (as the
   * store measures them), for example
   * `{ options: { maxEntrySizeBytes: 4_096 }, bytes: 4_096 }`. With it, the
   * suite checks that a refused write resolves `false` and never leaves an
   * older value behind.
   *
   * @default {undefined}
   */
  sizeLimit?: {
    /** Backend-specific options passed to the factory. */
    options: Readonly<Record<string, unknown>>;
    /** The size above which values are refused, in bytes. */
    bytes: number;
  };
  /**
   * Builds a dedupe store and a rate-limit store on the same backend (the
   * same database, the same key prefix) as the cache stores the factory
   * builds. With it, the suite checks that the three kinds of store keep
   * apart even when given the same keys.
   *
   * @default {undefined}
   */
  siblings?: (
    context: CacheStoreFactoryContext,
  ) => Awaitable<{ dedupe: DedupeStore<unknown>; rateLimit: RateLimitStore }>;
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Runs the {@linkcode CacheStore} conformance suite: TTL semantics, exact
 * round trips, overwrite, delete, prefix and full clear, close, and, for a
 * store whose `supportsTags` is `true`, tags (`set` with `tags`,
 * `invalidateTags`, tags forgotten by `clear(prefix)` and with expiry). Call it
 * from a `*_test.ts` file; it declares its tests with `node:test`, so it runs
 * under Deno, Bun and Node.
 *
 * @param name The name of the store under test, used as the suite's title.
 * @param factory Builds a fresh store for each test; the suite closes it.
 * @param options How time moves, and backend-specific invalid options.
 *
 * @example Testing a store
 * ```ts ignore
 * import { MemoryCacheStore } from "@sluice/http";
 * import { testCacheStore } from "@sluice/http/testing";
 *
 * testCacheStore("MemoryCacheStore", ({ clock, options }) =>
 *   new MemoryCacheStore({ clock, ...options }), {
 *   invalidOptions: [{ maxEntries: 0 }],
 * });
 * ```
 */
export function testCacheStore(
  name: string,
  factory: CacheStoreFactory,
  options: CacheStoreSuiteOptions = {},
): void {
  const { time = "manual", invalidOptions = [], sizeLimit, siblings } = options;
  const open = (h: Harness): Promise<CacheStore<unknown>> =>
    h.open(() =>
      factory({ clock: h.clock, options: {}, namespace: h.namespace })
    );

  describe(`${name} (CacheStore conformance, ${time} time)`, () => {
    storeTest(
      "get() returns undefined for a key never set",
      time,
      async (h) => {
        const store = await open(h);
        assert.equal(await store.get(`missing:${uid()}`), undefined);
      },
    );

    storeTest(
      "get() returns exactly what set() stored: strings, unicode, numbers, nested JSON and empty values",
      time,
      async (h) => {
        const store = await open(h);
        const p = `rt:${uid()}:`;
        const values: [string, unknown][] = [
          ["string", "hello"],
          ["empty string", ""],
          ["unicode", "héllo wörld ✓ 日本語 🚀 \u0000 \ud7ff"],
          ["integer", 42],
          ["float", -3.25],
          ["zero", 0],
          ["true", true],
          ["false", false],
          ["null", null],
          ["empty object", {}],
          ["empty array", []],
          ["nested", {
            a: [1, "two", { three: [null, true, 3.5] }],
            b: { c: { d: "deep" } },
            "key:with:colons": "v",
            "ünï": ["ç", ""],
          }],
          ["array of objects", [{ id: 1 }, { id: 2, tags: ["x"] }]],
        ];
        for (const [label, value] of values) {
          await store.set(`${p}${label}`, value, 0);
        }
        for (const [label, value] of values) {
          assert.deepStrictEqual(
            await store.get(`${p}${label}`),
            value,
            `round trip of ${label}`,
          );
        }
      },
    );

    storeTest(
      "get() returns Uint8Array bodies byte-exact, alone and nested in objects",
      time,
      async (h) => {
        const store = await open(h);
        const p = `bin:${uid()}:`;
        const every = new Uint8Array(256).map((_, i) => i);
        const large = bytes(100_000, 7);
        const entry = {
          status: 200,
          headers: { "content-type": "application/octet-stream" },
          body: bytes(1_024, 3),
          parts: [new Uint8Array([0, 255]), { inner: new Uint8Array(0) }],
        };
        await store.set(`${p}every`, every, 0);
        await store.set(`${p}empty`, new Uint8Array(0), 0);
        await store.set(`${p}large`, large, 0);
        await store.set(`${p}entry`, entry, 0);

        const gotEvery = await store.get(`${p}every`);
        assert.ok(gotEvery instanceof Uint8Array, "a Uint8Array comes back");
        assert.deepStrictEqual(gotEvery, every);
        const gotEmpty = await store.get(`${p}empty`);
        assert.ok(gotEmpty instanceof Uint8Array);
        assert.equal(gotEmpty.byteLength, 0);
        assert.deepStrictEqual(await store.get(`${p}large`), large);
        const gotEntry = await store.get(`${p}entry`) as typeof entry;
        assert.ok(gotEntry.body instanceof Uint8Array);
        assert.deepStrictEqual(gotEntry, entry);
      },
    );

    storeTest(
      "set() on an existing key replaces its value",
      time,
      async (h) => {
        const store = await open(h);
        const key = `ow:${uid()}`;
        await store.set(key, { v: 1 }, 0);
        await store.set(key, { v: 2, extra: "x" }, 0);
        assert.deepStrictEqual(await store.get(key), { v: 2, extra: "x" });
      },
    );

    storeTest(
      "an entry with a positive TTL is readable until it expires, then gone",
      time,
      async (h) => {
        const store = await open(h);
        const key = `ttl:${uid()}`;
        await store.set(key, "v", 1);
        await h.advance(h.exact ? 999 : 600);
        assert.equal(await store.get(key), "v");
        await h.advancePast(h.exact ? 1 : 400);
        assert.equal(await store.get(key), undefined);
      },
    );

    storeTest(
      "a fractional TTL is honoured to the millisecond (0.25 s lives 250 ms)",
      time,
      async (h) => {
        const store = await open(h);
        const key = `frac:${uid()}`;
        await store.set(key, "v", 0.25);
        await h.advance(h.exact ? 249 : 100);
        assert.equal(await store.get(key), "v");
        await h.advancePast(h.exact ? 1 : 150);
        assert.equal(await store.get(key), undefined);
      },
    );

    storeTest("a TTL of 0 never expires", time, async (h) => {
      const store = await open(h);
      const key = `forever:${uid()}`;
      await store.set(key, "v", 0);
      await h.advance(h.exact ? 10 * 365 * 86_400_000 : 500);
      assert.equal(await store.get(key), "v");
    });

    storeTest(
      "a negative TTL stores nothing readable and removes an earlier value",
      time,
      async (h) => {
        const store = await open(h);
        const key = `neg:${uid()}`;
        await store.set(key, "new", -1);
        assert.equal(await store.get(key), undefined);
        await store.set(key, "old", 0);
        await store.set(key, "newer", -0.5);
        assert.equal(await store.get(key), undefined);
      },
    );

    storeTest(
      "a NaN TTL stores nothing readable and removes an earlier value",
      time,
      async (h) => {
        const store = await open(h);
        const key = `nan:${uid()}`;
        await store.set(key, "old", 0);
        assert.notEqual(await store.set(key, "new", NaN), true);
        assert.equal(await store.get(key), undefined);
      },
    );

    storeTest(
      "set() resolves to true, or to nothing, when it keeps the value",
      time,
      async (h) => {
        const store = await open(h);
        const kept = await store.set(`kept:${uid()}`, { v: 1 }, 60);
        assert.ok(kept === true || kept === undefined, `resolved ${kept}`);
      },
    );

    if (sizeLimit !== undefined) {
      storeTest(
        "a value over the size limit is refused with false and removes the older value",
        time,
        async (h) => {
          const store = await h.open(() =>
            factory({
              clock: h.clock,
              options: sizeLimit.options,
              namespace: h.namespace,
            })
          );
          const key = `big:${uid()}`;
          const small = "s".repeat(Math.floor(sizeLimit.bytes / 8));
          assert.notEqual(await store.set(key, small, 0), false);
          assert.equal(await store.get(key), small);
          const large = bytes(sizeLimit.bytes * 2, 11);
          assert.equal(await store.set(key, large, 0), false);
          assert.equal(
            await store.get(key),
            undefined,
            "the older value must not be served after a refused write",
          );
        },
      );
    }

    if (siblings !== undefined) {
      storeTest(
        "a cache entry, a dedupe job and a rate-limit resource with the same key on one backend keep apart",
        time,
        async (h) => {
          const store = await open(h);
          const { dedupe, rateLimit } = await siblings({
            clock: h.clock,
            options: {},
            namespace: h.namespace,
          });
          await h.open(() => dedupe);
          await h.open(() => rateLimit);
          const key = `shared:${uid()}`;
          await store.set(key, { body: "cached" }, 0);
          assert.equal(await rateLimit.acquire(key), true);
          await rateLimit.setCooldown(key, 10_000);
          const registration = await dedupe.registerOrJoin(key);
          assert.equal(registration.isOwner, true);
          await dedupe.complete(key, { shared: true });
          assert.deepStrictEqual(await store.get(key), { body: "cached" });
          await store.delete(key);
          await store.clear();
          assert.equal(await rateLimit.getCooldown(key) > 0, true);
          assert.equal((await rateLimit.getStatus(key)).remaining >= 0, true);
          assert.deepStrictEqual(await dedupe.waitFor(key), { shared: true });
        },
      );
    }

    storeTest(
      "getStats() counts the entries and their bytes, when the store has it",
      time,
      async (h) => {
        const store = await open(h) as CacheStore<unknown> & {
          getStats?: () => Promise<CacheStoreStats>;
        };
        if (typeof store.getStats !== "function") return;
        await store.clear();
        await store.set(`stats:${uid()}`, "x".repeat(100), 0);
        await store.set(`stats:${uid()}`, { n: 1 }, 0);
        const stats = await store.getStats();
        assert.equal(stats.totalItems, 2);
        assert.ok(stats.totalBytes > 100, `totalBytes ${stats.totalBytes}`);
        assert.equal(stats.expiredItems, 0);
      },
    );

    storeTest(
      "overwriting an entry also replaces its TTL",
      time,
      async (h) => {
        const store = await open(h);
        const key = `ttl-ow:${uid()}`;
        await store.set(key, "short", 0.2);
        await store.set(key, "forever", 0);
        await h.advancePast(300);
        assert.equal(await store.get(key), "forever");
      },
    );

    storeTest(
      "delete() removes an entry and ignores a missing one",
      time,
      async (h) => {
        const store = await open(h);
        const key = `del:${uid()}`;
        const other = `del:${uid()}`;
        await store.set(key, "v", 0);
        await store.set(other, "w", 0);
        await store.delete(key);
        await store.delete(`del:missing:${uid()}`);
        assert.equal(await store.get(key), undefined);
        assert.equal(await store.get(other), "w");
      },
    );

    storeTest(
      "clear(prefix) removes only the keys under that prefix",
      time,
      async (h) => {
        const store = await open(h);
        const id = uid();
        // Characters that are wildcards in glob and SQL LIKE patterns must
        // match literally.
        const a = `t${id}*[a]?_%25:`;
        const keys = {
          inA: [`${a}cache:1`, `${a}dedupe:2`, `${a}`],
          outside: [
            `t${id}*[a]?_%25x:cache:1`,
            `t${id}X[a]?_%25:cache:1`,
            `t${id}*[b]?_%25:cache:1`,
            `t${id}*[a]?x%25:cache:1`,
            `t${id}*[a]?_%2:cache:1`,
            `u${id}:cache:1`,
          ],
        };
        for (const key of [...keys.inA, ...keys.outside]) {
          await store.set(key, key, 0);
        }
        await store.clear(a);
        for (const key of keys.inA) {
          assert.equal(await store.get(key), undefined, `${key} is cleared`);
        }
        for (const key of keys.outside) {
          assert.equal(await store.get(key), key, `${key} is kept`);
        }
      },
    );

    storeTest(
      "clear() without a prefix removes every entry",
      time,
      async (h) => {
        const store = await open(h);
        const id = uid();
        const keys = [`a${id}:1`, `b${id}:2`, `c${id}:x:3`];
        for (const key of keys) await store.set(key, key, 0);
        await store.clear();
        for (const key of keys) assert.equal(await store.get(key), undefined);
      },
    );

    storeTest(
      "invalidateTags() removes every entry set with one of the tags, counts them, and keeps the rest",
      time,
      async (h) => {
        const store = await open(h);
        if (!supportsCacheTags(store)) return;
        const id = uid();
        // Characters that are wildcards in glob and SQL LIKE patterns, and
        // the separators of key layouts, must stay literal.
        const user = `p${id}:user:*[4]?_%2";`;
        const other = `p${id}:user:*[5]?_%2";`;
        await store.set(`${id}:a`, "a", 60, { tags: [user] });
        await store.set(`${id}:b`, "b", 0, { tags: [other, user] });
        await store.set(`${id}:c`, "c", 60, { tags: [other] });
        await store.set(`${id}:d`, "d", 60);
        assert.equal(await store.invalidateTags!([user]), 2);
        assert.equal(await store.get(`${id}:a`), undefined);
        assert.equal(await store.get(`${id}:b`), undefined);
        assert.equal(await store.get(`${id}:c`), "c");
        assert.equal(await store.get(`${id}:d`), "d");
        assert.equal(await store.invalidateTags!([user]), 0, "already gone");
        assert.equal(await store.invalidateTags!([`p${id}:none`]), 0);
        assert.equal(await store.invalidateTags!([other, `p${id}:x`]), 1);
        assert.equal(await store.get(`${id}:c`), undefined);
        assert.equal(await store.get(`${id}:d`), "d");
      },
    );

    storeTest(
      "a key keeps its tags when set again and adds the new ones",
      time,
      async (h) => {
        const store = await open(h);
        if (!supportsCacheTags(store)) return;
        const id = uid();
        const key = `${id}:refreshed`;
        await store.set(key, "v1", 60, { tags: [`${id}:first`] });
        await store.set(key, "v2", 120, { tags: [`${id}:second`] });
        await store.set(key, "v3", 120);
        await h.advance(h.exact ? 90_000 : 100);
        assert.equal(await store.get(key), "v3");
        assert.equal(await store.invalidateTags!([`${id}:first`]), 1);
        assert.equal(await store.get(key), undefined);
        await store.set(key, "v4", 60, { tags: [`${id}:second`] });
        assert.equal(await store.invalidateTags!([`${id}:second`]), 1);
        assert.equal(await store.get(key), undefined);
      },
    );

    storeTest(
      "clear(prefix) forgets the tags under that prefix and keeps the others",
      time,
      async (h) => {
        const store = await open(h);
        if (!supportsCacheTags(store)) return;
        const id = uid();
        const a = `t${id}*[a]?_%25:cache:`;
        const b = `t${id}*[a]?x%25:cache:`;
        await store.set(`${a}1`, "a1", 0, { tags: [`${a}shared`] });
        await store.set(`${b}1`, "b1", 0, { tags: [`${b}shared`] });
        await store.clear(a);
        assert.equal(await store.get(`${a}1`), undefined);
        await store.set(`${a}1`, "a1 again", 0);
        assert.equal(await store.invalidateTags!([`${a}shared`]), 0);
        assert.equal(await store.get(`${a}1`), "a1 again");
        assert.equal(await store.invalidateTags!([`${b}shared`]), 1);
        assert.equal(await store.get(`${b}1`), undefined);
      },
    );

    storeTest(
      "a tag's index expires with the entries it points to",
      time,
      async (h) => {
        const store = await open(h);
        if (!supportsCacheTags(store)) return;
        const id = uid();
        const key = `${id}:expiring`;
        await store.set(key, "v", 1, { tags: [`${id}:tag`] });
        await h.advancePast(h.exact ? 1_000 : 1_000);
        assert.equal(await store.get(key), undefined);
        const withCleanup = store as { cleanup?: () => Promise<number> };
        if (typeof withCleanup.cleanup === "function") {
          await withCleanup.cleanup();
        }
        // The same key written later without the tag is not its target.
        await store.set(key, "untagged", 0);
        assert.equal(await store.invalidateTags!([`${id}:tag`]), 0);
        assert.equal(await store.get(key), "untagged");
      },
    );

    storeTest("close() may be called twice", time, async (h) => {
      const store = await open(h);
      await store.set(`c:${uid()}`, "v", 0);
      await store.close();
      await store.close();
    });

    for (const invalid of invalidOptions) {
      storeTest(
        `the factory throws ConfigError for ${describeOptions(invalid)}`,
        time,
        async (h) => {
          await throwsConfigError(
            () =>
              h.open(() =>
                factory({
                  clock: h.clock,
                  options: invalid,
                  namespace: h.namespace,
                })
              ),
            describeOptions(invalid),
          );
        },
      );
    }
  });
}

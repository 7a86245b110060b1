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

/** A store with tag support, and the statistics it may report. */
type TaggedStore = CacheStore<unknown> & {
  invalidateTags(tags: readonly string[]): Promise<number>;
  getStats?: () => Promise<CacheStoreStats>;
  cleanup?: () => Promise<number>;
};

/** The tag cases: declared for every store, skipped by one without tags. */
function describeTags(
  open: (h: Harness) => Promise<CacheStore<unknown>>,
  time: "manual" | "real",
): void {
  const tagTest = (
    name: string,
    body: (store: TaggedStore, h: Harness, p: string) => Promise<void>,
  ): void =>
    storeTest(`tags: ${name}`, time, async (h) => {
      const store = await open(h);
      if (typeof store.invalidateTags !== "function") return;
      await body(store as TaggedStore, h, `tg${uid()}:`);
    });

  tagTest(
    "invalidateTags() removes every entry stored with one of the tags, and no other",
    async (store, _h, p) => {
      await store.set(`${p}a`, "a", 60, { tags: [`${p}x`] });
      await store.set(`${p}b`, "b", 60, { tags: [`${p}y`] });
      await store.set(`${p}c`, "c", 0, { tags: [`${p}y`, `${p}x`] });
      await store.set(`${p}d`, "d", 60);
      assert.equal(await store.invalidateTags([`${p}x`]), 2);
      assert.equal(await store.get(`${p}a`), undefined);
      assert.equal(await store.get(`${p}c`), undefined);
      assert.equal(await store.get(`${p}b`), "b");
      assert.equal(await store.get(`${p}d`), "d");
      assert.equal(await store.invalidateTags([`${p}y`, `${p}x`]), 1);
      assert.equal(await store.get(`${p}b`), undefined);
      assert.equal(await store.get(`${p}d`), "d");
      assert.equal(await store.invalidateTags([`${p}never`]), 0);
      assert.equal(await store.invalidateTags([]), 0);
    },
  );

  tagTest(
    "a write of a live entry keeps its tags and adds its own, with or without tags",
    async (store, _h, p) => {
      await store.set(`${p}k`, 1, 60, { tags: [`${p}x`] });
      await store.set(`${p}k`, 2, 60);
      await store.set(`${p}k`, 3, 60, { tags: [`${p}y`, `${p}y`] });
      assert.equal(await store.get(`${p}k`), 3);
      assert.equal(await store.invalidateTags([`${p}x`]), 1);
      assert.equal(await store.get(`${p}k`), undefined);
      await store.set(`${p}k`, 4, 60, { tags: [`${p}z`] });
      assert.equal(
        await store.invalidateTags([`${p}y`]),
        0,
        "the invalidation took the key's tags with it",
      );
      assert.equal(await store.get(`${p}k`), 4);
    },
  );

  tagTest(
    "an entry written after its key's entry expired or was deleted carries none of the old tags",
    async (store, h, p) => {
      await store.set(`${p}expired`, "old", 0.2, { tags: [`${p}x`] });
      await store.set(`${p}deleted`, "old", 60, { tags: [`${p}x`] });
      await store.delete(`${p}deleted`);
      await h.advancePast(300);
      await store.set(`${p}expired`, "new", 60);
      await store.set(`${p}deleted`, "new", 60);
      assert.equal(await store.invalidateTags([`${p}x`]), 0);
      assert.equal(await store.get(`${p}expired`), "new");
      assert.equal(await store.get(`${p}deleted`), "new");
    },
  );

  tagTest(
    "a write of a value obtained before an invalidation of its tag or key is refused",
    async (store, _h, p) => {
      await store.set(`${p}k`, "v1", 60, { tags: [`${p}x`] });
      assert.equal(await store.invalidateTags([`${p}x`]), 1);
      const before = { ageMs: 60_000 };
      assert.equal(
        await store.set(`${p}k`, "late", 60, { ...before, tags: [`${p}x`] }),
        false,
      );
      assert.equal(
        await store.set(`${p}k`, "late, untagged", 60, before),
        false,
        "the removed key is marked",
      );
      assert.equal(
        await store.set(`${p}other`, "late", 60, {
          ...before,
          tags: [`${p}x`],
        }),
        false,
        "the tag is marked",
      );
      assert.equal(await store.get(`${p}k`), undefined);
      assert.equal(await store.get(`${p}other`), undefined);
      assert.notEqual(
        await store.set(`${p}unrelated`, "late", 60, {
          ...before,
          tags: [`${p}y`],
        }),
        false,
      );
      assert.notEqual(
        await store.set(`${p}k`, "v2", 60, { tags: [`${p}x`] }),
        false,
        "a value obtained after the invalidation is kept",
      );
      assert.equal(await store.get(`${p}k`), "v2");
      assert.equal(await store.get(`${p}unrelated`), "late");
    },
  );

  tagTest(
    "a write racing invalidateTags() is never readable once both settled",
    async (store, _h, p) => {
      await store.set(`${p}seed`, 0, 60, { tags: [`${p}x`] });
      for (let i = 0; i < 10; i++) {
        const key = `${p}race${i}`;
        await Promise.all([
          store.set(key, i, 60, { tags: [`${p}x`], ageMs: 5_000 }),
          store.invalidateTags([`${p}x`]),
        ]);
        assert.equal(await store.get(key), undefined, `race ${i}`);
      }
    },
  );

  tagTest(
    "invalidateTags() removes every one of many entries of a tag",
    async (store, _h, p) => {
      const keys = Array.from({ length: 120 }, (_, i) => `${p}many${i}`);
      await Promise.all(
        keys.map((key) => store.set(key, key, 60, { tags: [`${p}bulk`] })),
      );
      assert.equal(await store.invalidateTags([`${p}bulk`]), keys.length);
      for (const key of keys) assert.equal(await store.get(key), undefined);
    },
  );

  tagTest(
    "clear(prefix) forgets the tags under the prefix and keeps the others",
    async (store, _h, p) => {
      const a = `${p}a:`;
      const b = `${p}b:`;
      await store.set(`${a}k`, "a", 60, { tags: [`${a}t`] });
      await store.set(`${b}k`, "b", 60, { tags: [`${b}t`] });
      await store.clear(a);
      assert.equal(await store.get(`${a}k`), undefined);
      assert.equal(await store.invalidateTags([`${a}t`]), 0);
      assert.equal(await store.invalidateTags([`${b}t`]), 1);
      assert.equal(await store.get(`${b}k`), undefined);
      if (typeof store.getStats === "function") {
        await store.set(`${b}k2`, "b", 60, { tags: [`${b}t`] });
        await store.clear();
        assert.equal((await store.getStats()).tagIndexEntries ?? 0, 0);
      }
    },
  );

  tagTest(
    "the tag index does not grow without bound while tagged entries expire",
    async (store, h, p) => {
      if (typeof store.getStats !== "function") return;
      await store.clear();
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          Array.from(
            { length: 15 },
            (_, i) =>
              store.set(`${p}r${round}:${i}`, i, 0.2, {
                tags: [`${p}shared`, `${p}r${round}:${i}`],
              }),
          ),
        );
        await h.advancePast(300);
      }
      await store.set(`${p}live`, "live", 60, {
        tags: [`${p}shared`, `${p}own`],
      });
      await store.cleanup?.();
      const stats = await store.getStats();
      assert.equal(typeof stats.tagIndexEntries, "number");
      assert.ok(
        stats.tagIndexEntries! <= 2,
        `the index holds ${stats.tagIndexEntries} pairs for one live entry with two tags`,
      );
      assert.equal(await store.invalidateTags([`${p}shared`]), 1);
    },
  );

  tagTest(
    "set() and invalidateTags() refuse malformed tags with a TypeError",
    async (store, _h, p) => {
      const bad: unknown[] = [
        "not-an-array",
        [""],
        [42],
        ["x".repeat(2_049)],
        Array.from({ length: 65 }, (_, i) => `${p}${i}`),
      ];
      for (const tags of bad) {
        await assert.rejects(
          () =>
            store.set(`${p}k`, "v", 60, { tags: tags as readonly string[] }),
          TypeError,
        );
      }
      await assert.rejects(
        () => store.set(`${p}k`, "v", 60, { ageMs: -1 }),
        TypeError,
      );
      await assert.rejects(
        () => store.invalidateTags([""]),
        TypeError,
      );
      await assert.rejects(
        () => store.invalidateTags("x" as unknown as string[]),
        TypeError,
      );
      assert.equal(await store.get(`${p}k`), undefined);
    },
  );
}

/**
 * Runs the {@linkcode CacheStore} conformance suite: TTL semantics, exact
 * round trips, overwrite, delete, prefix and full clear, close, and, for a
 * store with `invalidateTags`, tags: what an invalidation removes, tags
 * kept across writes of a live entry and dropped with it, writes racing an
 * invalidation refused, prefixes, a bounded index and malformed tags. Call it
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

    describeTags(open, time);

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

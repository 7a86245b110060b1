// The cache reader and writer alone, over a memory store and a manual
// clock: how an entry answers, what a failing or corrupt store does, what is
// stored and what an unsafe request invalidates.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CacheReader } from "../../../src/client/_cache_reader.ts";
import { CacheWriter } from "../../../src/client/_cache_writer.ts";
import { cacheKey, callKeys } from "../../../src/client/_key.ts";
import type { CacheStore } from "../../../src/stores/types.ts";
import {
  testCall,
  testEntry,
  testPipeline,
  types,
  URL_A,
} from "./_pipeline.ts";

async function keysOf(
  hasher: { hash(m: string, u: string, c: string): string | Promise<string> },
  url = URL_A,
  method = "GET",
  credentials = "",
) {
  return callKeys("test", await hasher.hash(method, url, credentials));
}

describe("CacheReader", () => {
  it("answers fresh, then stale to revalidate, from one decision", async () => {
    const { pipeline, store, clock, events } = testPipeline();
    const reader = new CacheReader(pipeline, store);
    const writer = new CacheWriter(pipeline, store);
    const call = testCall();
    const keys = await keysOf(pipeline.hasher);
    const entry = testEntry(clock.now(), {
      "cache-control": "max-age=10",
      etag: '"v1"',
    });
    assert.equal(await writer.store(call, keys, entry), true);
    const fresh = await reader.read(call, keys, undefined);
    assert.equal(fresh.kind, "fresh");
    clock.advance(11_000);
    const stale = await reader.read(call, keys, undefined);
    assert.equal(stale.kind, "stale");
    assert.deepEqual(types(events), [
      "cache.stored",
      "cache.hit",
      "cache.stale",
    ]);
  });

  it("serves a stale-while-revalidate entry on the first read, and revalidates it on a reread", async () => {
    const { pipeline, store, clock } = testPipeline();
    const reader = new CacheReader(pipeline, store);
    const call = testCall();
    const keys = await keysOf(pipeline.hasher);
    await new CacheWriter(pipeline, store).store(
      call,
      keys,
      testEntry(clock.now(), {
        "cache-control": "max-age=1, stale-while-revalidate=60",
      }),
    );
    clock.advance(2_000);
    const first = await reader.read(call, keys, undefined);
    assert.equal(first.kind, "serve-stale");
    const again = await reader.reread(call, keys, new AbortController().signal);
    assert.equal(again?.kind, "stale");
  });

  it("turns a corrupt entry into a miss, deletes it and reports it", async () => {
    const { pipeline, store, events } = testPipeline();
    const reader = new CacheReader(pipeline, store);
    const keys = await keysOf(pipeline.hasher);
    await store.set(keys.cache, { not: "an entry" }, 60);
    const answer = await reader.read(testCall(), keys, undefined);
    assert.deepEqual(answer, { kind: "miss", reason: "corrupt" });
    assert.equal(await store.get(keys.cache), undefined);
    assert.deepEqual(types(events), ["error"]);
  });

  it("fails open when the store fails, and does not ask it again for that request", async () => {
    const { pipeline } = testPipeline();
    let gets = 0;
    const failing = {
      get: () => {
        gets++;
        return Promise.reject(new Error("down"));
      },
    } as unknown as CacheStore<unknown>;
    const reader = new CacheReader(pipeline, failing);
    const call = testCall();
    const keys = await keysOf(pipeline.hasher);
    const answer = await reader.read(call, keys, undefined);
    assert.deepEqual(answer, { kind: "miss", reason: "store-error" });
    assert.equal(
      await reader.reread(call, keys, new AbortController().signal),
      undefined,
    );
    assert.equal(gets, 1);
  });

  it("bypasses the store for a reload", async () => {
    const { pipeline, store } = testPipeline();
    const reader = new CacheReader(pipeline, store);
    const answer = await reader.read(
      testCall({ mode: "reload" }),
      await keysOf(pipeline.hasher),
      undefined,
    );
    assert.deepEqual(answer, { kind: "miss", reason: "bypass" });
  });

  it("compares a Vary on a credential header with a placeholder, never the credential", () => {
    const { pipeline, store } = testPipeline();
    const reader = new CacheReader(pipeline, store);
    const call = testCall({ credentials: "authorization\u0000secret\u0000" }, {
      authorization: "secret",
      accept: "text/plain",
    });
    const view = reader.varyView(call);
    assert.equal(view.get("authorization"), "credential");
    assert.equal(view.get("accept"), "text/plain");
    assert.equal(call.headers.get("authorization"), "secret");
    assert.equal(reader.varyView(call), view, "built once per call");
  });
});

describe("CacheWriter", () => {
  it("stores a varying response under its variant, with an index under the main key", async () => {
    const { pipeline, store, clock } = testPipeline();
    const writer = new CacheWriter(pipeline, store);
    const reader = new CacheReader(pipeline, store);
    const keys = await keysOf(pipeline.hasher);
    const json = testCall({}, { accept: "application/json" });
    const entry = testEntry(clock.now(), {
      "cache-control": "max-age=60",
      vary: "accept",
    });
    const varied = { ...entry, varyHeaders: { accept: "application/json" } };
    assert.equal(await writer.store(json, keys, varied), true);
    assert.deepEqual(await store.get(keys.cache), {
      sluiceVary: 1,
      names: ["accept"],
    });
    assert.equal((await reader.read(json, keys, undefined)).kind, "fresh");
    const text = testCall({}, { accept: "text/plain" });
    assert.deepEqual(await reader.read(text, keys, undefined), {
      kind: "miss",
      reason: "vary",
    });
  });

  it("stores nothing already too old to serve, and reports a store that refuses or fails", async () => {
    const { pipeline, store, clock, events } = testPipeline();
    const keys = await keysOf(pipeline.hasher);
    const call = testCall();
    const writer = new CacheWriter(pipeline, store);
    // Stale for longer than requests' max-stale may use it (staleStorageMs).
    const expired = testEntry(clock.now() - 2 * 3_600_000, {
      "cache-control": "max-age=1",
    });
    assert.equal(await writer.store(call, keys, expired), false);
    assert.equal(await store.get(keys.cache), undefined);
    const entry = testEntry(clock.now(), { "cache-control": "max-age=60" });
    const refusing = {
      set: () => Promise.resolve(false),
    } as unknown as CacheStore<unknown>;
    assert.equal(
      await new CacheWriter(pipeline, refusing).store(call, keys, entry),
      false,
    );
    const failing = {
      set: () => Promise.reject(new Error("down")),
    } as unknown as CacheStore<unknown>;
    assert.equal(
      await new CacheWriter(pipeline, failing).store(call, keys, entry),
      false,
    );
    assert.deepEqual(types(events), ["cache.skipped", "error"]);
  });

  it("invalidates the GET and HEAD entries of what an unsafe request changed, for its credentials and for none", async () => {
    const { pipeline, store, clock } = testPipeline();
    const writer = new CacheWriter(pipeline, store);
    const credentials = "authorization\u0000t\u0000";
    const other = "https://api.example/items/42";
    const stored: string[] = [];
    for (const url of [URL_A, other, "https://api.example/kept"]) {
      for (const method of ["GET", "HEAD"]) {
        for (const c of [credentials, ""]) {
          const key = cacheKey(
            "test",
            await pipeline.hasher.hash(method, url, c),
          );
          await store.set(key, testEntry(clock.now(), {}), 60);
          stored.push(key);
        }
      }
    }
    await writer.invalidate(
      testCall({ method: "POST", credentials }),
      201,
      new Headers({ location: "/items/42" }),
    );
    const left = [];
    for (const key of stored) {
      if (await store.get(key) !== undefined) left.push(key);
    }
    assert.deepEqual(left, stored.slice(8), "only the third URL is kept");
  });
});

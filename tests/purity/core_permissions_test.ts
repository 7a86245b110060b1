// The core needs no permission but network access to the origin it calls.
// scripts/test.mjs runs this file on its own under
// `deno test --allow-net=127.0.0.1`, so that any read, env, sys, run or ffi
// access by mod.ts fails here (Deno denies it) instead of surprising a user
// who grants the library only the network.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ConfigError,
  HttpClient,
  isSluiceError,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
  type SluiceEvent,
} from "../../mod.ts";

describe("core with network access to 127.0.0.1 only", () => {
  let server: Server;
  let origin: string;
  const calls = new Map<string, number>();

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      calls.set(path, (calls.get(path) ?? 0) + 1);
      // Slow enough that concurrent requests overlap at the origin.
      setTimeout(() => {
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "cache-control": "max-age=60",
        });
        res.end(new Uint8Array([0, 1, 2, 254, 255]));
      }, 30);
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("HttpClient with memory stores makes one origin call for two concurrent GETs and a cached one", async () => {
    const events: SluiceEvent["type"][] = [];
    const client = new HttpClient({
      name: "permissions",
      cache: { store: new MemoryCacheStore() },
      dedupe: { store: new MemoryDedupeStore() },
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit: 5, windowMs: 60_000 },
        }),
      },
      onEvent: (event) => {
        events.push(event.type);
      },
    });
    try {
      const url = `${origin}/client`;
      const responses = await Promise.all([
        client.fetch(url),
        client.fetch(url),
      ]);
      responses.push(await client.fetch(url));
      for (const response of responses) {
        assert.equal(response.status, 200);
        assert.deepEqual(
          [...new Uint8Array(await response.arrayBuffer())],
          [0, 1, 2, 254, 255],
        );
      }
      assert.equal(calls.get("/client"), 1);
      assert.ok(events.includes("cache.hit"), `events: ${events.join(", ")}`);
    } finally {
      await client.close();
    }
  });

  it("memory stores cache, de-duplicate and rate-limit a loopback response", async () => {
    const cache = new MemoryCacheStore<Uint8Array>();
    const dedupe = new MemoryDedupeStore<Uint8Array>();
    const limiter = new MemoryRateLimitStore({
      defaultConfig: { limit: 1, windowMs: 60_000 },
    });
    const load = async (): Promise<Uint8Array> => {
      const hit = await cache.get("bytes");
      if (hit) return hit;
      const flight = await dedupe.registerOrJoin("bytes");
      if (!flight.isOwner) {
        const joined = await dedupe.waitFor("bytes");
        assert.ok(joined, "a joiner receives the owner's value");
        return joined;
      }
      assert.ok(await limiter.acquire("origin"), "the owner is admitted");
      const response = await fetch(`${origin}/stores`);
      const body = new Uint8Array(await response.arrayBuffer());
      await cache.set("bytes", body, 60);
      await dedupe.complete("bytes", body);
      return body;
    };
    const bodies = await Promise.all([load(), load(), load()]);
    const again = await load();
    for (const body of [...bodies, again]) {
      assert.deepEqual([...body], [0, 1, 2, 254, 255]);
    }
    assert.equal(calls.get("/stores"), 1);
    assert.equal(await limiter.acquire("origin"), false);
    await Promise.all([cache.close(), dedupe.close(), limiter.close()]);
  });

  it("rejects a bad option with ConfigError, not a permission error", () => {
    assert.throws(
      () => new MemoryCacheStore({ maxEntries: 0 }),
      (error: unknown) => error instanceof ConfigError && isSluiceError(error),
    );
  });
});

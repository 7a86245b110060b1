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
  isSluiceError,
  MemoryCacheStore,
  MemoryDedupeStore,
  MemoryRateLimitStore,
} from "../../mod.ts";

describe("core with network access to 127.0.0.1 only", () => {
  let server: Server;
  let origin: string;
  let calls = 0;

  before(async () => {
    server = createServer((_req, res) => {
      calls++;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(new Uint8Array([0, 1, 2, 254, 255]));
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
      const body = new Uint8Array(await (await fetch(origin)).arrayBuffer());
      await cache.set("bytes", body, 60);
      await dedupe.complete("bytes", body);
      return body;
    };
    const bodies = await Promise.all([load(), load(), load()]);
    const again = await load();
    for (const body of [...bodies, again]) {
      assert.deepEqual([...body], [0, 1, 2, 254, 255]);
    }
    assert.equal(calls, 1);
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

import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import {
  createLibsqlStores,
  LibsqlAdaptiveRateLimitStore,
  LibsqlCacheStore,
  LibsqlDedupeStore,
  LibsqlRateLimitStore,
} from "../../../adapters/libsql/mod.ts";
import { runtime } from "../../fixtures/runtime.ts";
import { freePort, startSqld } from "../../fixtures/sqld.ts";
import { fileClient, tempDir } from "./_helpers.ts";
import { children, startWorker } from "./_worker.ts";

function isStoreError(operation: string) {
  return (error: unknown): boolean => {
    const e = error as { code?: string; backend?: string; operation?: string };
    assert.equal(e.code, "ERR_STORE", String(error));
    assert.equal(e.backend, "libsql");
    assert.equal(e.operation, operation);
    return true;
  };
}

function isConfigError(option: string) {
  return (error: unknown): boolean => {
    const e = error as { code?: string; option?: string };
    assert.equal(e.code, "ERR_CONFIG", String(error));
    assert.equal(e.option, option);
    return true;
  };
}

describe("libSQL stores under bad input and failing databases", () => {
  const files = tempDir();
  after(() => files.remove());
  afterEach(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  it("bad connection options are a ConfigError at construction, naming the option", () => {
    assert.throws(
      () => new LibsqlCacheStore({ url: "postgres://127.0.0.1/db" }),
      isConfigError("url"),
    );
    assert.throws(
      () => new LibsqlCacheStore({ url: "not a url" }),
      isConfigError("url"),
    );
    assert.throws(() => new LibsqlCacheStore({}), isConfigError("url"));
    const client = createClient({ url: ":memory:" });
    assert.throws(
      () => new LibsqlDedupeStore({ client, url: ":memory:" }),
      isConfigError("client"),
    );
    client.close();
    assert.throws(
      () =>
        new LibsqlRateLimitStore({
          client: { execute: "not a function" } as unknown as Client,
        }),
      isConfigError("client"),
    );
    assert.throws(
      () => new LibsqlCacheStore({ url: ":memory:", tablePrefix: "x; DROP" }),
      isConfigError("tablePrefix"),
    );
    assert.throws(
      () =>
        new LibsqlRateLimitStore({
          url: ":memory:",
          defaultConfig: { limit: 0, windowMs: 1_000 },
        }),
      isConfigError("defaultConfig.limit"),
    );
    assert.throws(
      () =>
        new LibsqlAdaptiveRateLimitStore({
          url: ":memory:",
          adaptiveConfig: { maxUserScaling: 0.5 },
        }),
      isConfigError("adaptiveConfig.maxUserScaling"),
    );
  });

  it("an unreachable server gives StoreErrors naming libsql and the operation, and createLibsqlStores() rejects", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const cache = new LibsqlCacheStore({ url });
    const dedupe = new LibsqlDedupeStore({ url });
    const limits = new LibsqlRateLimitStore({ url });
    await assert.rejects(cache.get("k"), isStoreError("get"));
    await assert.rejects(cache.set("k", 1, 60), isStoreError("set"));
    await assert.rejects(
      dedupe.registerOrJoin("h"),
      isStoreError("registerOrJoin"),
    );
    await assert.rejects(dedupe.waitFor("h"), isStoreError("waitFor"));
    await assert.rejects(limits.acquire("r"), isStoreError("acquire"));
    await assert.rejects(limits.getCooldown("r"), isStoreError("getCooldown"));
    await assert.rejects(createLibsqlStores({ url }), isStoreError("open"));
    await Promise.all([cache.close(), dedupe.close(), limits.close()]);
  });

  it("a database file in a missing directory gives a StoreError, not a crash", async () => {
    const url = `file:${join(files.path("missing"), "no", "such", "x.db")}`;
    const store = new LibsqlCacheStore({ url });
    await assert.rejects(store.get("k"), (error: unknown) => {
      isStoreError("get")(error);
      assert.match((error as Error).message, /cannot open/);
      return true;
    });
    await store.close();
  });

  it("a file locked by another client for longer than busyTimeoutMs gives a StoreError, and the store works again once it is free", async () => {
    const path = files.path("locked.db");
    const limits = new LibsqlRateLimitStore({
      url: `file:${path}`,
      busyTimeoutMs: 100,
      defaultConfig: { limit: 100, windowMs: 60_000 },
    });
    assert.equal(await limits.acquire("r"), true);
    const other = fileClient(path);
    const write = {
      sql:
        "INSERT INTO sluice_rate_limit (resource, at, priority) VALUES ('other', 0, 'user')",
      args: [],
    };
    const held = await other.transaction("write");
    await held.execute(write);
    await assert.rejects(limits.acquire("r"), isStoreError("acquire"));
    await held.commit();
    // The file changes after the failed attempt: a connection still holding
    // the snapshot that attempt read could never write again.
    await other.execute(write);
    assert.equal(await limits.acquire("r"), true);
    assert.equal((await limits.getStatus("r")).remaining, 98);
    other.close();
    await limits.close();
  });

  it("a transaction open on createLibsqlStores()'s client survives the client being renewed after a busy error", async () => {
    const path = files.path("renewed.db");
    const stores = await createLibsqlStores({
      url: `file:${path}`,
      busyTimeoutMs: 50,
    });
    // The transaction holds the file's write lock: the store's own write
    // fails busy, and the client behind stores.client is replaced.
    const held = await stores.client.transaction("write");
    await held.execute({
      sql:
        "INSERT INTO sluice_rate_limit (resource, at, priority) VALUES ('mine', 0, 'user')",
      args: [],
    });
    await assert.rejects(
      stores.rateLimit.acquire("r"),
      isStoreError("acquire"),
    );
    // A timer later, the replaced client would be closed: it is not while
    // the transaction is open.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await held.commit();
    assert.equal(await stores.rateLimit.acquire("r"), true);
    const rows = await stores.client.execute({
      sql:
        "SELECT count(*) AS n FROM sluice_rate_limit WHERE resource = 'mine'",
      args: [],
    });
    assert.equal(Number(rows.rows[0]!.n), 1);
    await stores.close();
  });

  it("when sqld goes away mid-run, operations and waiting waiters fail with StoreErrors instead of hanging", async () => {
    const server = await startSqld();
    try {
      const stores = await createLibsqlStores({ url: server.url });
      await stores.cache.set("k", "v", 60);
      await stores.dedupe.registerOrJoin("h");
      const waiting = assert.rejects(
        stores.dedupe.waitFor("h"),
        isStoreError("waitFor"),
      );
      await server.kill();
      await waiting;
      await assert.rejects(stores.cache.get("k"), isStoreError("get"));
      await assert.rejects(
        stores.rateLimit.acquire("r"),
        isStoreError("acquire"),
      );
      await assert.rejects(
        stores.adaptiveRateLimit.acquire("r", "user"),
        isStoreError("acquire"),
      );
      await stores.close();
    } finally {
      await server.stop();
    }
  });

  it("a closed store rejects every operation with a StoreError, and waitFor() too", async () => {
    const store = new LibsqlDedupeStore({ url: ":memory:" });
    await store.registerOrJoin("h");
    await store.close();
    await assert.rejects(
      store.registerOrJoin("h"),
      isStoreError("registerOrJoin"),
    );
    await assert.rejects(store.waitFor("h"), isStoreError("waitFor"));
    await assert.rejects(store.complete("h", 1), isStoreError("complete"));
  });

  it("a value that JSON cannot encode is a StoreError from set(), not a crash", async () => {
    const store = new LibsqlCacheStore({ url: ":memory:" });
    await assert.rejects(store.set("k", { n: 10n }, 60), isStoreError("set"));
    await store.close();
  });

  it("createLibsqlStores() closes the client it created, and leaves an injected one open", async () => {
    const own = await createLibsqlStores({ url: ":memory:" });
    await own.cache.set("k", "v", 60);
    await own.close();
    assert.equal(own.client.closed, true);
    const client = createClient({ url: ":memory:" });
    const shared = await createLibsqlStores({ client });
    await shared.rateLimit.acquire("r");
    assert.equal(await shared.adaptiveRateLimit.canProceed("r", "user"), true);
    await shared[Symbol.asyncDispose]();
    assert.equal(client.closed, false);
    assert.equal((await client.execute("SELECT 1 AS one")).rows[0]?.one, 1);
    client.close();
  });

  it("with an http:// URL the stores never load the native client", async () => {
    const server = await startSqld();
    try {
      // Under Deno, loading the native client needs --allow-ffi and
      // --allow-sys, which the worker does not get; under every runtime,
      // the worker makes native module loading throw.
      const worker = startWorker(
        { scenario: "web-only", url: server.url, origin: "" },
        ["--allow-net=127.0.0.1", "--allow-read", "--allow-env"],
      );
      const result = await worker.result;
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.nativeLoads, 0);
      assert.notEqual(result.read, undefined);
      assert.equal(result.admitted, true);
      assert.equal(result.isOwner, true);
      assert.ok(runtime === "deno" || runtime === "bun" || runtime === "node");
    } finally {
      await server.stop();
    }
  });
});

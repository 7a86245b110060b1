// What each operation costs in DynamoDB requests, counted at the endpoint
// (a proxy in front of dynalite), in both connection forms: what a user
// pays per call, in requests and in the latency of their round trips.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createDynamoDBStores,
  type DynamoDBStores,
} from "../../../adapters/dynamodb/mod.ts";
import { HttpClient, RateLimitError } from "../../../mod.ts";
import { type DynamoProxy, startDynamoProxy } from "../../fixtures/dynalite.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import { type DynamoEnv, type Form, startDynamoEnv } from "./_env.ts";

let env: DynamoEnv;
let proxy: DynamoProxy;
let origin: Origin;

/** The requests `run` sent, by operation. */
async function counted(run: () => Promise<unknown>): Promise<string[]> {
  proxy.resetCounts();
  await run();
  return proxy.log();
}

describe("DynamoDB requests per operation", () => {
  before(async () => {
    env = await startDynamoEnv();
    proxy = await startDynamoProxy(env.server.url);
    origin = await startOrigin();
    origin.route("/fresh", (request) => ({
      body: `call ${request.n}`,
      headers: { "cache-control": "max-age=60" },
    }));
  });
  after(async () => {
    await origin.close();
    await proxy.close();
    await env.close();
  });

  for (const form of ["fetch", "sdk"] as Form[]) {
    describe(`over ${form}`, () => {
      let stores: DynamoDBStores;
      before(() => {
        stores = createDynamoDBStores({
          ...env.connect(form, proxy.url),
          rateLimit: { defaultConfig: { limit: 2, windowMs: 60_000 } },
        });
      });
      after(async () => {
        await stores.close();
      });

      it("cache get, set and delete cost one request each", async () => {
        const { cache } = stores;
        assert.deepEqual(
          await counted(() => cache.set("k", { v: 1 }, 60)),
          ["UpdateItem"],
        );
        assert.deepEqual(
          await counted(() => cache.set("k", { v: 2 }, 60)),
          ["UpdateItem"],
          "over a live untagged entry",
        );
        assert.deepEqual(await counted(() => cache.get("k")), ["GetItem"]);
        assert.deepEqual(await counted(() => cache.get("nope")), ["GetItem"]);
        assert.deepEqual(await counted(() => cache.delete("k")), [
          "DeleteItem",
        ]);
      });

      it("a tagged set costs three requests, a write over a tagged entry four, an invalidation two per tag and two per entry", async () => {
        const { cache } = stores;
        const tagged = { tags: ["t:x"] };
        assert.deepEqual(
          await counted(() => cache.set("tk", 1, 60, tagged)),
          ["BatchWriteItem", "UpdateItem", "BatchGetItem"],
        );
        // A write over an entry with tags reads them (not its value), and
        // moves their index items to the new expiry.
        assert.deepEqual(
          await counted(() => cache.set("tk", 2, 60)),
          ["UpdateItem", "GetItem", "UpdateItem", "BatchWriteItem"],
        );
        assert.deepEqual(
          await counted(() => cache.invalidateTags!(["t:x"])),
          // The tag's mark, its index items, the entry turned into a mark,
          // and its index item deleted (only if written before the call).
          ["BatchWriteItem", "Query", "UpdateItem", "DeleteItem"],
        );
        assert.equal(await cache.get("tk"), undefined);
      });

      it("registerOrJoin costs one request for the owner; complete two; a waiter's check one", async () => {
        const { dedupe } = stores;
        assert.deepEqual(
          await counted(() => dedupe.registerOrJoin("job")),
          ["UpdateItem"],
        );
        // dynalite lacks ReturnValuesOnConditionCheckFailure: a joiner reads
        // the job once more (DynamoDB hands it back with the failed write).
        assert.deepEqual(
          await counted(() => dedupe.registerOrJoin("job")),
          ["UpdateItem", "GetItem"],
        );
        assert.deepEqual(await counted(() => dedupe.isInProgress("job")), [
          "GetItem",
        ]);
        assert.deepEqual(
          await counted(() => dedupe.complete("job", "done")),
          ["PutItem", "UpdateItem"],
        );
        assert.deepEqual(await counted(() => dedupe.waitFor("job")), [
          "Query",
        ]);
      });

      it("acquire and admit cost two requests; a refusal in a full window one", async () => {
        const limits = stores.rateLimit;
        const resource = `r-${crypto.randomUUID().slice(0, 8)}`;
        assert.deepEqual(await counted(() => limits.acquire(resource)), [
          "UpdateItem",
          "PutItem",
        ]);
        assert.deepEqual(await counted(() => limits.admit!(resource)), [
          "UpdateItem",
          "PutItem",
        ]);
        // The first refusal reads the window, and leaves a hint.
        const first = await counted(async () => {
          const refused = await limits.admit!(resource);
          assert.equal(refused.admitted, false);
          assert.ok(refused.waitMs > 59_000, `wait ${refused.waitMs}`);
        });
        assert.deepEqual(first, [
          "UpdateItem",
          "PutItem",
          "Query",
          "UpdateItem",
        ]);
        const later = await counted(async () => {
          const refused = await limits.admit!(resource);
          assert.equal(refused.admitted, false);
          assert.ok(refused.waitMs > 59_000, `wait ${refused.waitMs}`);
        });
        assert.deepEqual(later, ["UpdateItem"]);
        assert.deepEqual(await counted(() => limits.getWaitTime(resource)), [
          "Query",
        ]);
        assert.deepEqual(await counted(() => limits.getCooldown(resource)), [
          "GetItem",
        ]);
      });

      it("through HttpClient, a fresh cache hit costs one request and a refused request one", async () => {
        const api = new HttpClient({
          name: `rt-${crypto.randomUUID().slice(0, 8)}`,
          cache: { store: stores.cache },
          dedupe: { store: stores.dedupe },
          rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
        });
        const url = `${origin.url}/fresh?${form}`;
        const miss = await counted(async () =>
          await (await api.fetch(url)).text()
        );
        const hit = await counted(async () =>
          await (await api.fetch(url)).text()
        );
        assert.deepEqual(hit, ["GetItem"]);
        // get, registerOrJoin, admit (two), set, complete (two).
        assert.ok(miss.length <= 7, `a miss cost ${miss.join(", ")}`);
        const limited = `${origin.url}/fresh?limited-${form}`;
        const plain = new HttpClient({
          name: `rt-${crypto.randomUUID().slice(0, 8)}`,
          rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
        });
        const own = plain.rateLimitResource(limited);
        stores.rateLimit.setResourceConfig(own, { limit: 1, windowMs: 60_000 });
        await (await plain.fetch(limited)).text();
        await assert.rejects(plain.fetch(limited), RateLimitError);
        const refused = await counted(() =>
          assert.rejects(plain.fetch(limited), RateLimitError)
        );
        assert.deepEqual(refused, ["UpdateItem"]);
        await api.close();
        await plain.close();
      });
    });
  }
});

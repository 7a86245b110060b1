// What one request through HttpClient costs in libSQL round trips (each
// `execute` or `batch` of the client), on a local file.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createLibsqlStores,
  type LibsqlStores,
} from "../../../adapters/libsql/mod.ts";
import { HttpClient, RateLimitError } from "../../../mod.ts";
import { type Origin, startOrigin } from "../../fixtures/origin.ts";
import {
  counting,
  type CountingClient,
  fileClient,
  tempDir,
} from "./_helpers.ts";

describe("HttpClient round trips with libSQL stores", () => {
  const dir = tempDir();
  let origin: Origin;
  let db: CountingClient;
  let stores: LibsqlStores;
  const client = (): HttpClient =>
    new HttpClient({
      name: `rt-${crypto.randomUUID().slice(0, 8)}`,
      cache: { store: stores.cache },
      dedupe: { store: stores.dedupe },
      rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
    });
  const counted = async (run: () => Promise<unknown>): Promise<number> => {
    db.reset();
    await run();
    return db.count();
  };

  before(async () => {
    origin = await startOrigin();
    origin.route("/fresh", (request) => ({
      body: `call ${request.n}`,
      headers: { "cache-control": "max-age=60" },
    }));
    db = counting(fileClient(dir.path("round_trips.db")));
    stores = await createLibsqlStores({
      client: db.client,
      rateLimit: { defaultConfig: { limit: 1_000, windowMs: 60_000 } },
    });
  });
  after(async () => {
    await stores.close();
    db.client.close();
    await origin.close();
    dir.remove();
  });

  it("a cache miss costs at most 5 round trips, and a fresh hit 1", async () => {
    const api = client();
    const miss = await counted(async () =>
      await (await api.fetch(`${origin.url}/fresh?a`)).text()
    );
    const hit = await counted(async () =>
      await (await api.fetch(`${origin.url}/fresh?a`)).text()
    );
    await api.close();
    assert.ok(miss <= 5, `a miss cost ${miss}`);
    assert.equal(hit, 1);
  });

  it("an admission the budget refuses costs 1 round trip of the rate-limit store", async () => {
    const api = new HttpClient({
      name: `rt-${crypto.randomUUID().slice(0, 8)}`,
      rateLimit: { store: stores.rateLimit, maxWaitMs: 0 },
    });
    const url = `${origin.url}/fresh?refused`;
    stores.rateLimit.setResourceConfig(api.rateLimitResource(url), {
      limit: 1,
      windowMs: 60_000,
    });
    await (await api.fetch(url)).text();
    const refused = await counted(() =>
      assert.rejects(api.fetch(url), RateLimitError)
    );
    await api.close();
    assert.equal(refused, 1);
  });
});

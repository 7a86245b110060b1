// The README's onEvent recipe for metrics: counters per event type and per
// response status and source, fed by a real client against a loopback origin.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, MemoryCacheStore, type SluiceEvent } from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";

describe("recipe: metrics from onEvent", () => {
  let origin: Origin;

  before(async () => {
    origin = await startOrigin();
    origin.route("/item", {
      headers: { "cache-control": "max-age=60" },
      body: { id: 1 },
    });
    origin.route("/missing", { status: 404, body: { message: "Not Found" } });
  });
  after(() => origin.close());

  it("counts events by type, responses by status and source, and misses by reason", async () => {
    const counters = new Map<string, number>();
    const count = (name: string): void => {
      counters.set(name, (counters.get(name) ?? 0) + 1);
    };
    const metrics = (event: SluiceEvent): void => {
      count(event.type);
      if (event.type === "response") {
        count(`response.${event.status}.${event.source}`);
      }
      if (event.type === "cache.miss") count(`cache.miss.${event.reason}`);
    };

    await using api = new HttpClient({
      name: "api",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      retry: false,
      onEvent: metrics,
    });
    await api.get("/item");
    await api.get("/item");
    await assert.rejects(api.get("/missing"), { status: 404 });

    assert.deepEqual(Object.fromEntries([...counters].sort()), {
      "cache.hit": 1,
      "cache.miss": 2,
      "cache.miss.absent": 2,
      "cache.stored": 1,
      "dedupe.owner": 2,
      origin: 2,
      request: 3,
      response: 3,
      "response.200.cache": 1,
      "response.200.network": 1,
      "response.404.network": 1,
    });
  });
});

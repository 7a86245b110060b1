import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, MemoryCacheStore } from "../../mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { EventLog } from "./_helpers.ts";

// Deep enough to overflow a recursive walk on every runtime (Bun's stack
// takes 20,000 levels).
const DEPTH = 100_000;

// How deep a chain of one-element arrays goes, and the innermost value;
// iterative, as the value is too deep for assert.deepEqual.
function measure(value: unknown): { depth: number; leaf: unknown } {
  let depth = 0;
  let current = value;
  while (Array.isArray(current)) {
    assert.ok(current.length <= 1, `length ${current.length} at ${depth}`);
    depth++;
    current = current[0];
  }
  return { depth, leaf: current };
}

function innermost(value: unknown): unknown[] {
  let current = value as unknown[];
  while (Array.isArray(current[0])) current = current[0];
  return current;
}

describe("HttpClient and deeply nested JSON", () => {
  let origin: Origin;
  let client: HttpClient;
  let log: EventLog;

  before(async () => {
    origin = await startOrigin();
    const clock = new ManualClock(Date.now());
    log = new EventLog();
    client = new HttpClient({
      name: "deep",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore({ clock }) },
      clock,
      onEvent: log.listener,
    });
  });
  after(async () => {
    await client.close();
    await origin.close();
  });

  it(`serves ${DEPTH} nested arrays from the cache, a copy for each caller`, async () => {
    origin.route("/deep", {
      body: "[".repeat(DEPTH) + '{"leaf":true}' + "]".repeat(DEPTH),
      headers: {
        "content-type": "application/json",
        "cache-control": "max-age=60",
      },
    });
    const first = await client.get<unknown[]>("/deep");
    const second = await client.get<unknown[]>("/deep");
    const third = await client.get<unknown[]>("/deep");
    assert.equal(origin.calls("/deep"), 1);
    assert.equal(log.of("cache.hit").length, 2);
    for (const data of [first, second, third]) {
      const { depth, leaf } = measure(data);
      assert.equal(depth, DEPTH);
      assert.deepEqual(leaf, { leaf: true });
    }
    // Each hit is the caller's own: changing one leaves the others alone.
    assert.notEqual(second, third);
    (innermost(second)[0] as { leaf: unknown }).leaf = "changed";
    innermost(second).push("extra");
    assert.deepEqual(measure(third).leaf, { leaf: true });
    assert.equal(innermost(third).length, 1);
    const fourth = await client.get<unknown[]>("/deep");
    assert.deepEqual(measure(fourth).leaf, { leaf: true });
  });
});

// The README's Octokit recipe: `client.fetch` handed to `@octokit/core`, run
// against a loopback origin that answers as the GitHub REST API does (a
// private max-age, an entity tag, 304 to a matching If-None-Match).
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Octokit } from "@octokit/core";
import {
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { drive, EventLog, SteppedClock, until } from "../client/_helpers.ts";

const ROUTE = "/repos/denoland/deno";

describe("recipe: Octokit through client.fetch", () => {
  let origin: Origin;
  let clock: SteppedClock;
  let log: EventLog;
  let api: HttpClient;
  const clients: HttpClient[] = [];

  const octokit = (auth?: string, client: HttpClient = api): Octokit =>
    new Octokit({
      ...(auth === undefined ? {} : { auth }),
      baseUrl: origin.url,
      request: { fetch: client.fetch },
    });

  const repo = (sdk: Octokit) =>
    sdk.request("GET /repos/{owner}/{repo}", {
      owner: "denoland",
      repo: "deno",
    });

  before(async () => {
    origin = await startOrigin();
    origin.route(ROUTE, (request) => ({
      headers: {
        "cache-control": "private, max-age=60, s-maxage=60",
        etag: `W/"deno-1"`,
        vary: "Accept, Authorization, Cookie, X-GitHub-OTP",
      },
      body: { full_name: "denoland/deno", stargazers_count: 100, n: request.n },
      conditional: true,
    }));
  });
  after(async () => {
    for (const client of clients) await client.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.resetCounts();
    clock = new SteppedClock(Date.now());
    log = new EventLog();
    api = new HttpClient({
      name: "github",
      cache: { store: new MemoryCacheStore({ clock }) },
      onEvent: log.listener,
      clock,
    });
    clients.push(api);
  });

  it("a repeated GET is served from the cache, and concurrent ones share one call: the origin sees one request", async () => {
    const sdk = octokit("ghp_one");
    const [a, b] = await Promise.all([repo(sdk), repo(sdk)]);
    const c = await repo(sdk);
    assert.equal(origin.calls(ROUTE), 1);
    for (const response of [a, b, c]) {
      assert.equal(response.status, 200);
      assert.equal(response.data.full_name, "denoland/deno");
    }
    assert.equal(log.of("cache.hit").length, 1);
  });

  it("a stale entry is revalidated with If-None-Match, and Octokit gets the stored 200, not the origin's 304", async () => {
    const sdk = octokit("ghp_one");
    await repo(sdk);
    clock.advance(61_000);
    const again = await repo(sdk);

    assert.equal(origin.calls(ROUTE), 2);
    const [, revalidation] = origin.requests(ROUTE);
    assert.equal(revalidation?.headers["if-none-match"], `W/"deno-1"`);
    assert.equal(again.status, 200);
    assert.equal(again.data.stargazers_count, 100);
    assert.deepEqual(
      log.of("cache.revalidated").map((e) => e.status),
      [304],
    );
  });

  it("two tokens never share an entry", async () => {
    await repo(octokit("ghp_one"));
    await repo(octokit("ghp_two"));
    await repo(octokit("ghp_one"));
    assert.equal(origin.calls(ROUTE), 2);
    assert.deepEqual(
      origin.requests(ROUTE).map((r) => r.headers.authorization),
      ["token ghp_one", "token ghp_two"],
    );
  });

  it("once GitHub says x-ratelimit-remaining: 0, the next request waits for x-ratelimit-reset", async () => {
    const limited = new HttpClient({
      name: "github",
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit: 5_000, windowMs: 3_600_000 },
          clock,
        }),
      },
      onEvent: log.listener,
      clock,
    });
    clients.push(limited);
    const resetAt = Math.ceil((clock.now() + 20_000) / 1_000);
    origin.route("/user", () => ({
      headers: {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(resetAt),
      },
      body: { login: "octocat" },
    }));
    const sdk = octokit("ghp_one", limited);
    const { data } = await sdk.request("GET /user");
    assert.equal(data.login, "octocat");

    const next = repo(sdk);
    await until(
      () => log.of("cooldown").some((e) => e.action === "wait"),
      10_000,
    );
    assert.equal(origin.calls(ROUTE), 0);
    // Moves the clock through the cooldown, never as far as the attempt
    // deadline (30 s) of a request on the wire.
    const response = await drive(clock, next, 25_000);
    assert.equal(response.status, 200);
    assert.equal(origin.calls(ROUTE), 1);
    assert.ok(clock.now() >= resetAt * 1_000 - 1_000);
  });
});

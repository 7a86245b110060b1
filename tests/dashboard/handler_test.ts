import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ConfigError,
  createMetrics,
  HttpClient,
  MemoryCacheStore,
  MemoryRateLimitStore,
} from "../../mod.ts";
import {
  createDashboard,
  type DashboardStatus,
  toNodeListener,
} from "../../dashboard/mod.ts";
import { ManualClock } from "../../testing/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";

const TOKEN = "dashboard-token-0123456789abcdef";
const SECRET_BODY = "body-secret-4b1d9e";
const SECRET_CREDENTIAL = "s3cret-credential-77f0a2";
const SECRET_QUERY = "query-secret-91c3aa";

const get = (path: string, headers: Record<string, string> = {}) =>
  new Request(`http://127.0.0.1:8787${path}`, { headers });
const bearer = { authorization: `Bearer ${TOKEN}` };

describe("createDashboard()", () => {
  let origin: Origin;
  let clock: ManualClock;
  let metrics: ReturnType<typeof createMetrics>;
  let api: HttpClient;
  let plain: HttpClient;
  const clients: HttpClient[] = [];

  before(async () => {
    origin = await startOrigin();
    origin.route("/items", {
      headers: { "cache-control": "max-age=60" },
      body: { secret: SECRET_BODY },
    });
    // A network error: the call fails, and its error is reported.
    origin.route("/broken", { destroy: true });
    clock = new ManualClock(Date.now());
    metrics = createMetrics({ clock, windowMs: 600_000 });
    api = new HttpClient({
      name: "api",
      baseUrl: origin.url,
      cache: { store: new MemoryCacheStore() },
      rateLimit: {
        store: new MemoryRateLimitStore({
          defaultConfig: { limit: 50, windowMs: 60_000 },
          clock,
        }),
      },
      retry: false,
      clock,
      onEvent: metrics.onEvent,
    });
    plain = new HttpClient({ name: "plain", onEvent: metrics.onEvent });
    clients.push(api, plain);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await origin.close();
  });

  const dashboard = () =>
    createDashboard({ clients: { api, plain }, metrics, token: TOKEN });

  it("refuses the JSON without the token, or with a wrong one", async () => {
    const handler = dashboard();
    for (
      const headers of [
        {},
        { authorization: "Bearer wrong-token-0123456789abcdef" },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
        { authorization: `Basic ${btoa(`user:${TOKEN}`)}` },
        { authorization: TOKEN },
      ]
    ) {
      const response = await handler(get("/api/status", headers));
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.match(response.headers.get("www-authenticate")!, /^Bearer/);
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.doesNotMatch(await response.text(), /"keyPrefix"/);
    }
  });

  it("answers the JSON with the token, and the page without one", async () => {
    const handler = dashboard();
    const json = await handler(get("/api/status", bearer));
    assert.equal(json.status, 200);
    assert.match(json.headers.get("content-type")!, /^application\/json/);
    const body = await json.json() as DashboardStatus;
    assert.deepEqual(body.clients.map((c) => c.name), ["api", "plain"]);

    const page = await handler(get("/"));
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    const html = await page.text();
    assert.match(html, /id="token-form"/);
    assert.doesNotMatch(html, /"keyPrefix"|"api"/);
  });

  it("works under a prefix, matching the end of the path", async () => {
    const handler = dashboard();
    assert.equal((await handler(get("/ops/sluice/"))).status, 200);
    assert.equal(
      (await handler(get("/ops/sluice/api/status", bearer))).status,
      200,
    );
    assert.equal((await handler(get("/ops/sluice"))).status, 404);
  });

  it("is read-only: 405 for every other method, 404 for every other path", async () => {
    const handler = dashboard();
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const response = await handler(
        new Request("http://127.0.0.1:8787/api/status", {
          method,
          headers: bearer,
        }),
      );
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get("allow"), "GET, HEAD");
    }
    for (
      const path of ["/api/reset", "/api/entries", "/index.html", "/api"]
    ) {
      assert.equal((await handler(get(path, bearer))).status, 404, path);
    }
    const head = await handler(
      new Request("http://127.0.0.1:8787/api/status", {
        method: "HEAD",
        headers: bearer,
      }),
    );
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("sends the security headers on every response, and a CSP that names the page's own script and style", async () => {
    const handler = dashboard();
    const responses = [
      await handler(get("/")),
      await handler(get("/api/status", bearer)),
      await handler(get("/api/status")),
      await handler(get("/nothing")),
    ];
    for (const response of responses) {
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.match(
        response.headers.get("content-security-policy")!,
        /frame-ancestors 'none'/,
      );
    }
    const page = responses[0]!;
    const policy = page.headers.get("content-security-policy")!;
    const html = await page.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
    assert.ok(policy.includes(`script-src '${await sha256(script)}'`));
    assert.ok(policy.includes(`style-src '${await sha256(style)}'`));
    assert.match(policy, /connect-src 'self'/);
    assert.match(policy, /default-src 'none'/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*/);
    assert.doesNotMatch(
      html,
      /<script[^>]+src=|<link[^>]+href="(?!data:,")|https?:\/\//,
    );
  });

  it("counts in the JSON what the client did against the origin", async () => {
    const before = metrics.snapshot().clients.find((c) => c.client === "api")
      ?.total;
    const handler = dashboard();
    // One origin call, then nine fresh hits; one network error.
    for (let i = 0; i < 10; i++) await api.get("/items");
    await assert.rejects(api.get("/broken"));
    const response = await handler(get("/api/status", bearer));
    const status = await response.json() as DashboardStatus;
    const card = status.clients.find((c) => c.name === "api")!;
    assert.equal(card.keyPrefix, "api");
    assert.equal(card.metrics[0]!.client, "api");
    const total = card.metrics[0]!.total;
    const was = (field: "calls" | "originCalls" | "hits" | "misses") =>
      before?.[field] ?? 0;
    assert.equal(total.calls - was("calls"), 11);
    assert.equal(total.originCalls - was("originCalls"), 2);
    assert.equal(total.hits - was("hits"), 9);
    assert.equal(total.misses - was("misses"), 2);
    assert.equal(origin.calls("/items") + origin.calls("/broken"), 2);
    assert.ok(total.originCallsSaved >= 9);
    assert.equal(card.metrics[0]!.window.calls, total.calls);
    // The rate-limit store saw the two origin calls.
    const [resource] = card.status.resources;
    assert.equal(resource!.resource, api.rateLimitResource("/items"));
    assert.equal(resource!.status!.limit, 50);
    assert.equal(resource!.status!.remaining, 50 - origin.calls());
    assert.equal(card.status.flights, 0);
    assert.ok(status.recentErrors.some((e) => e.client === "api"));
    assert.equal(status.time, clock.now());
    assert.equal(status.windowMs, 600_000);
  });

  it("never shows a body, a header value or a credential", async () => {
    const handler = dashboard();
    const headers = { authorization: `Bearer ${SECRET_CREDENTIAL}` };
    await api.get(`/items?api_key=${SECRET_QUERY}`, { headers });
    await assert.rejects(
      api.get(`/broken?api_key=${SECRET_QUERY}`, { headers }),
    );
    // The origin did receive them: the dashboard is what must not show them.
    assert.equal(
      origin.requests("/broken").at(-1)!.headers.authorization,
      `Bearer ${SECRET_CREDENTIAL}`,
    );
    const texts = [
      await (await handler(get("/api/status", bearer))).text(),
      await (await handler(get("/"))).text(),
      await (await handler(get("/api/status"))).text(),
    ];
    assert.ok(texts[0]!.includes("/broken"), "the error's URL is shown");
    for (const text of texts) {
      for (const secret of [SECRET_BODY, SECRET_CREDENTIAL, SECRET_QUERY]) {
        assert.ok(!text.includes(secret), `${secret} leaked`);
      }
      assert.ok(!text.includes(TOKEN), "the token leaked");
    }
  });

  it("with token: false, answers loopback requests to localhost only", async () => {
    const handler = createDashboard({ clients: [api], metrics, token: false });
    const local = { remoteAddress: "127.0.0.1" };
    for (const host of ["127.0.0.1:8787", "localhost:8787", "[::1]:8787"]) {
      const request = new Request(`http://${host}/api/status`);
      const response = await handler(request, local);
      assert.equal(response.status, 200, host);
      const status = await response.json() as DashboardStatus;
      assert.equal(status.clients[0]!.name, "api");
    }
    assert.equal(
      (await handler(get("/"), { remoteAddress: "::1" })).status,
      200,
    );
    assert.equal(
      (await handler(get("/"), { remoteAddress: "::ffff:127.0.0.1" })).status,
      200,
    );
    // Another machine, an unknown peer, or a page of another site that its
    // DNS points at this machine.
    const refused: [Request, { remoteAddress?: string } | undefined][] = [
      [get("/api/status"), { remoteAddress: "192.168.1.20" }],
      [get("/api/status"), { remoteAddress: "10.0.0.1" }],
      [get("/"), { remoteAddress: "::ffff:10.0.0.1" }],
      [get("/api/status"), undefined],
      [get("/api/status"), {}],
      [new Request("http://evil.example:8787/api/status"), local],
      [new Request("http://127.0.0.1.evil.example/"), local],
      [new Request("http://localhost.evil.example/api/status"), local],
    ];
    for (const [request, info] of refused) {
      const response = await handler(request, info);
      assert.equal(
        response.status,
        403,
        `${request.url} ${info?.remoteAddress}`,
      );
      assert.doesNotMatch(await response.text(), /"keyPrefix"/);
    }
  });

  it("refuses a missing, short or mistyped token, and other bad options", () => {
    const bad: unknown[] = [
      { clients: [api], metrics },
      { clients: [api], metrics, token: undefined },
      { clients: [api], metrics, token: "short-token" },
      { clients: [api], metrics, token: "" },
      { clients: [api], metrics, token: true },
      { clients: [api], metrics, token: "has spaces in it, 0123456789" },
      { clients: [{}], metrics, token: TOKEN },
      { clients: "api", metrics, token: TOKEN },
      { clients: [api], metrics: {}, token: TOKEN },
      { clients: [api], metrics, token: TOKEN, pollMs: 0 },
      { clients: [api], metrics, token: TOKEN, title: 42 },
      undefined,
    ];
    for (const options of bad) {
      assert.throws(
        () => createDashboard(options as Parameters<typeof createDashboard>[0]),
        ConfigError,
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => createDashboard({ clients: [api], metrics, token: "short-token" }),
      (error: ConfigError) =>
        error.option === "token" && !error.message.includes("short-token"),
    );
  });

  it("escapes the title in the page", async () => {
    const handler = createDashboard({
      clients: [api],
      metrics,
      token: TOKEN,
      title: `<img src=x onerror="alert(1)">`,
    });
    const html = await (await handler(get("/"))).text();
    assert.ok(!html.includes("<img"));
    assert.ok(html.includes("&#60;img src=x onerror=&#34;alert(1)&#34;&#62;"));
  });

  it("is served by node:http through toNodeListener, with the peer's address", async () => {
    const handler = createDashboard({ clients: [api], metrics, token: false });
    const server: Server = createServer(toNodeListener(handler));
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = server.address() as AddressInfo;
    try {
      const json = await fetch(`http://127.0.0.1:${port}/api/status`);
      assert.equal(json.status, 200);
      assert.equal(json.headers.get("x-content-type-options"), "nosniff");
      const status = await json.json() as DashboardStatus;
      assert.equal(status.clients[0]!.keyPrefix, "api");
      const page = await fetch(`http://localhost:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<!doctype html>/);
      // fetch() sets Host itself: a page of another site whose DNS points
      // at 127.0.0.1 sends that site's name.
      assert.equal(await statusWithHost(port, "attacker.example"), 403);
      assert.equal(await statusWithHost(port, `localhost:${port}`), 200);
      const post = await fetch(`http://127.0.0.1:${port}/api/status`, {
        method: "POST",
        body: "x".repeat(10_000),
      });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    } finally {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/api/status", headers: { host } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return `sha256-${btoa(String.fromCharCode(...digest))}`;
}

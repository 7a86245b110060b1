// The dashboard's page in a real browser: Debian's Chromium, driven by
// playwright-core, against a dashboard served by node:http on loopback
// while a rate-limited client sends a burst to a real loopback origin.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, sep } from "node:path";
import { cwd } from "node:process";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  createMetrics,
  HttpClient,
  MemoryAdaptiveRateLimitStore,
  MemoryCacheStore,
  MemoryRateLimitStore,
  type Metrics,
} from "../../mod.ts";
import {
  createDashboard,
  type DashboardStatus,
  toNodeListener,
} from "../../dashboard/mod.ts";
import { type Origin, startOrigin } from "../fixtures/origin.ts";
import { runtime } from "../fixtures/runtime.ts";
import { drive, SteppedClock } from "../client/_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "browser-token-0123456789abcdef";
/** Generous: the machine may be loaded. No assertion is about time. */
const TIMEOUT_MS = 30_000;
const missing = !existsSync(CHROMIUM);

/**
 * The repository's root: the nearest folder with a deno.json that is not
 * the compiled suite's (under `.tmp/`, for Node).
 */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      existsSync(join(dir, "deno.json")) && !dir.split(sep).includes(".tmp")
    ) return dir;
    const up = dirname(dir);
    if (up === dir) return cwd();
    dir = up;
  }
}

/** The numbers one client's card shows: tiles by name, and its rate limits. */
interface Card {
  tiles: Record<string, { value: number; text: string }>;
  limits: {
    resource: string;
    used: number;
    limit: number;
    cooldown: number;
    aboveServer: boolean;
  }[];
}

/** What the page functions below use of the DOM (Deno checks without it). */
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
interface PageGlobals {
  document: PageElement & { body: PageElement };
}

// Page functions run in the browser, each on its own: they use nothing
// from this module. (A string predicate would need eval, which the page's
// Content-Security-Policy forbids.)

/** Reads a client's card from the page. */
function readCard(page: Page, client: string): Promise<Card | null> {
  return page.evaluate((name: string) => {
    const { document } = globalThis as unknown as PageGlobals;
    const card = document.querySelector(
      `[data-client=${JSON.stringify(name)}]`,
    );
    if (card === null) return null;
    const tiles: Card["tiles"] = {};
    for (const tile of card.querySelectorAll("[data-tile]")) {
      tiles[tile.dataset.tile!] = {
        value: Number(tile.dataset.value),
        text: tile.querySelector(".value")?.textContent ?? "",
      };
    }
    const limits = [...card.querySelectorAll("tr[data-resource]")].map(
      (row) => {
        const used = row.querySelector('[data-field="used"]');
        const cooldown = row.querySelector('[data-field="cooldown"]');
        return {
          resource: row.dataset.resource ?? "",
          used: used ? Number(used.dataset.value) : -1,
          limit: used ? Number(used.dataset.limit) : -1,
          cooldown: cooldown ? Number(cooldown.dataset.value) : -1,
          aboveServer: row.querySelector('[data-above-server="true"]') !== null,
        };
      },
    );
    return { tiles, limits };
  }, client);
}

/** Waits until a tile of the client `client` satisfies `want`. */
async function waitForTiles(
  page: Page,
  client: string,
  want: Record<string, number | "positive">,
  used?: number,
): Promise<void> {
  await page.waitForFunction(
    ([name, wanted, usedWanted]) => {
      const { document } = globalThis as unknown as PageGlobals;
      const card = document.querySelector(
        `[data-client=${JSON.stringify(name)}]`,
      );
      if (card === null) return false;
      for (const [field, value] of Object.entries(wanted)) {
        const tile = card.querySelector(`[data-tile="${field}"]`);
        const shown = Number(tile?.dataset.value);
        if (value === "positive" ? !(shown > 0) : shown !== value) return false;
      }
      if (usedWanted === undefined) return true;
      const cell = card.querySelector('[data-field="used"]');
      return Number(cell?.dataset.value) === usedWanted;
    },
    [client, want, used] as const,
    { timeout: TIMEOUT_MS, polling: 50 },
  );
}

/** How many polls the page has rendered. */
async function polls(page: Page): Promise<number> {
  return await page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    return Number(document.body.dataset.polls ?? 0);
  });
}

/** Waits until the page has rendered at least `n` polls in all. */
async function pollsReach(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (least) => {
      const { document } = globalThis as unknown as PageGlobals;
      return Number(document.body.dataset.polls ?? 0) >= least;
    },
    n,
    { timeout: TIMEOUT_MS, polling: 50 },
  );
}

describe(
  missing
    ? `dashboard page in Chromium (skipped: ${CHROMIUM} is missing; apt-get install -y chromium)`
    : "dashboard page in Chromium",
  { skip: missing },
  () => {
    let origin: Origin;
    let clock: SteppedClock;
    let metrics: Metrics;
    let api: HttpClient;
    let search: HttpClient;
    let server: Server;
    let base: string;
    let browser: Browser;

    const status = async (): Promise<DashboardStatus> => {
      const response = await fetch(`${base}/api/status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(response.status, 200);
      return await response.json() as DashboardStatus;
    };
    // A page, and the errors its console reports (a CSP violation would
    // be one).
    const open = async (
      path: string,
    ): Promise<{ page: Page; errors: string[] }> => {
      const page = await browser.newPage({
        viewport: { width: 1280, height: 900 },
      });
      const errors: string[] = [];
      page.setDefaultTimeout(TIMEOUT_MS);
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${base}${path}`, { timeout: TIMEOUT_MS });
      return { page, errors };
    };

    before(async () => {
      origin = await startOrigin();
      origin.route("/items", (req) => ({
        delayMs: 5,
        headers: { "cache-control": "max-age=600" },
        body: { id: new URLSearchParams(req.search).get("id") },
      }));
      origin.route("/search", {
        status: 429,
        headers: {
          "retry-after": "120",
          "x-ratelimit-limit": "30",
          "x-ratelimit-remaining": "0",
        },
        body: "slow down",
      });
      origin.route("/gone", { destroy: true });
      clock = new SteppedClock(Date.now());
      metrics = createMetrics({ clock, windowMs: 600_000 });
      api = new HttpClient({
        name: "api",
        baseUrl: origin.url,
        cache: { store: new MemoryCacheStore() },
        rateLimit: {
          store: new MemoryAdaptiveRateLimitStore({
            defaultConfig: { limit: 5, windowMs: 10_000 },
            clock,
          }),
        },
        retry: false,
        clock,
        onEvent: metrics.onEvent,
      });
      search = new HttpClient({
        name: "search",
        baseUrl: origin.url,
        rateLimit: {
          store: new MemoryRateLimitStore({
            defaultConfig: { limit: 100, windowMs: 60_000 },
            clock,
          }),
        },
        retry: false,
        clock,
        onEvent: metrics.onEvent,
      });
      const handler = createDashboard({
        clients: { api, search },
        metrics,
        token: TOKEN,
        pollMs: 150,
        title: "sluice dashboard (test)",
      });
      server = createServer(toNodeListener(handler));
      await new Promise<void>((resolve) =>
        server.listen(0, "127.0.0.1", resolve)
      );
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        timeout: TIMEOUT_MS,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
    });
    after(async () => {
      await browser?.close();
      server?.closeAllConnections?.();
      await new Promise((resolve) =>
        server ? server.close(resolve) : resolve(undefined)
      );
      await api?.close();
      await search?.close();
      await origin?.close();
    });

    it("shows the token form to a visitor without a token, and says when a token is refused", async () => {
      const { page } = await open("/");
      await page.waitForSelector("#token-form", { state: "visible" });
      assert.equal(await page.isHidden("#dashboard"), true);
      await page.fill("#token-input", "not-the-token-0123456789");
      await page.click("#token-form button");
      await page.waitForSelector("#token-message:not(:empty)");
      assert.match(await page.textContent("#token-message") ?? "", /refused/);
      assert.equal(await page.isVisible("#token-form"), true);
      await page.close();
    });

    it("updates live while a burst runs, and shows what the JSON says", async () => {
      const { page, errors: consoleErrors } = await open(`/#token=${TOKEN}`);
      await pollsReach(page, 1);
      // The token left the address bar and never reached the server in a URL.
      assert.equal(await page.evaluate("location.hash"), "");
      assert.equal(await page.isHidden("#token-form"), true);
      assert.equal(await page.isVisible("#dashboard"), true);
      const idle = await readCard(page, "api");
      assert.equal(idle?.tiles.calls?.value, 0);

      // Sixteen calls for eight items: eight flights, five admitted at once,
      // three waiting for budget on the clock, which nothing moves yet.
      const burst = Array.from(
        { length: 16 },
        (_, i) =>
          api.get(`/items?id=${i % 8}`, {
            priority: i % 3 === 0 ? "background" : "user",
          }),
      );
      await waitForTiles(page, "api", { calls: 16, flights: "positive" }, 5);
      const busy = await readCard(page, "api");
      assert.equal(busy!.limits[0]!.limit, 5);
      assert.ok(busy!.tiles.flights!.value >= 1);

      await drive(clock, Promise.all(burst), 12_000, TIMEOUT_MS);
      // Fresh hits now, a cooldown on another client, and a network error.
      for (let i = 0; i < 8; i++) await api.get(`/items?id=${i}`);
      await assert.rejects(search.get("/search"));
      await drive(
        clock,
        assert.rejects(api.get("/gone?api_key=hidden")),
        12_000,
        TIMEOUT_MS,
      );
      // A scope: a row of its own in the client's card.
      const tenant = api.scope("tenant", "t1");
      await tenant.get("/items?id=1");
      await tenant.get("/items?id=1");

      const json = await status();
      const own = json.clients.find((c) => c.name === "api")!.metrics[0]!;
      assert.equal(own.total.calls, 25);
      assert.ok(own.total.waits.count > 0, "the burst waited for budget");
      const expected = {
        hitRatio: own.window.hitRatio,
        originCallsSaved: own.window.originCallsSaved,
        calls: own.window.calls,
        originCalls: own.window.originCalls,
        waits: own.window.waits.count,
      };
      assert.ok(expected.hitRatio > 0);
      assert.ok(expected.originCallsSaved >= 16);
      // Nothing changes any more: the page catches up on its next polls (a
      // poll that began after the JSON above was read sees what it saw).
      await pollsReach(page, await polls(page) + 2);
      await waitForTiles(page, "api", { calls: expected.calls, flights: 0 });
      const shown = (await readCard(page, "api"))!;
      assert.equal(shown.tiles.hitRatio!.value, expected.hitRatio);
      assert.equal(
        shown.tiles.hitRatio!.text,
        `${(expected.hitRatio * 100).toFixed(1)} %`,
      );
      assert.equal(
        shown.tiles.originCallsSaved!.value,
        expected.originCallsSaved,
      );
      assert.equal(
        shown.tiles.originCallsSaved!.text,
        String(expected.originCallsSaved),
      );
      assert.equal(shown.tiles.originCalls!.value, expected.originCalls);
      assert.equal(shown.tiles.waits!.value, expected.waits);
      const limit = json.clients[0]!.status.resources[0]!;
      assert.equal(shown.limits[0]!.resource, limit.resource);
      assert.equal(
        shown.limits[0]!.used,
        limit.status!.limit - limit.status!.remaining,
      );

      const scopeRow = await page.textContent(
        '[data-client="api"] tr[data-series="api:tenant=t1"]',
      );
      assert.match(scopeRow ?? "", /^api:tenant=t1\s*2\s*1\s*1\s*50\.0 %/);
      const cooled = (await readCard(page, "search"))!;
      assert.equal(cooled.tiles.cooldowns!.value, 1);
      assert.ok(cooled.limits[0]!.cooldown > 0);
      // 100 a minute configured; the server said 30 with no window.
      assert.equal(cooled.limits[0]!.aboveServer, true);
      assert.equal(shown.limits[0]!.aboveServer, false);
      const errors = await page.textContent("#errors-body") ?? "";
      assert.match(errors, /\/gone\?api_key=REDACTED/);
      assert.doesNotMatch(errors, /hidden/);

      // Since start: the totals, which here equal the window's.
      await page.click("label:has(#view-total)");
      const now = await polls(page);
      await pollsReach(page, now + 1);
      const totals = (await readCard(page, "api"))!;
      assert.equal(totals.tiles.calls!.value, own.total.calls);
      assert.equal(await page.isChecked("#view-total"), true);
      await page.click("label:has(#view-window)");

      const folder = join(repositoryRoot(), ".tmp", "test-output", "dashboard");
      mkdirSync(folder, { recursive: true });
      await page.screenshot({
        path: join(folder, `${runtime}.png`),
        fullPage: true,
        timeout: TIMEOUT_MS,
      });
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({
        path: join(folder, `${runtime}-dark.png`),
        fullPage: true,
        timeout: TIMEOUT_MS,
      });
      await page.close();
      assert.deepEqual(consoleErrors, []);
    });
  },
);

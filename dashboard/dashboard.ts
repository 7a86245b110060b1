/**
 * {@linkcode createDashboard}: a read-only page of what sluice clients do
 * (hit ratio, origin calls saved, waits, rate-limit use, cooldowns,
 * flights, recent errors), served by a web-standard request handler.
 *
 * @module
 */

import type { ClientStatus } from "../src/client/status.ts";
import { ConfigError } from "../src/errors.ts";
import type {
  ClientMetrics,
  MetricsSnapshot,
  RecentError,
} from "../src/observe/snapshot.ts";
import {
  bearerToken,
  isLoopbackAddress,
  isLoopbackHost,
  sameSecret,
} from "./_guard.ts";
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from "./_page.ts";

const COMPONENT = "dashboard";
/** The shortest token accepted. */
const MIN_TOKEN_LENGTH = 16;

/**
 * What the dashboard reads of a client: an `HttpClient`, or one of its
 * scopes.
 */
export interface DashboardSubject {
  /** The key prefix its events and metrics name it by. */
  readonly keyPrefix: string;
  /** Its flights and rate-limit resources now. */
  status(): Promise<ClientStatus>;
}

/** What the dashboard reads of the metrics: `createMetrics()`'s result. */
export interface DashboardMetrics {
  /** What the clients' events added up to so far. */
  snapshot(): MetricsSnapshot;
}

/** Options of {@linkcode createDashboard}. */
export interface DashboardOptions {
  /**
   * The clients to show: an array (each shown under its key prefix) or a
   * record from the name to show to the client. A client's card covers the
   * client and its scopes.
   */
  clients:
    | readonly DashboardSubject[]
    | Readonly<Record<string, DashboardSubject>>;
  /**
   * The metrics the clients report to (`createMetrics()`, passed to each
   * client as `onEvent`).
   */
  metrics: DashboardMetrics;
  /**
   * The secret the JSON asks for as `Authorization: Bearer <token>`, at
   * least 16 characters; for example `crypto.randomUUID()`. The page reads
   * it from the link's fragment (`/#token=…`), which browsers never send.
   *
   * `false` turns authentication off, for a dashboard on a developer's
   * machine only: every request is then refused (403) unless it comes from
   * a loopback address (`remoteAddress`, which must be given) and names
   * `localhost`, `127.0.0.1` or `[::1]` in its `Host` header.
   */
  token: string | false;
  /**
   * How often the page asks for new numbers, in ms.
   *
   * @default {2_000}
   */
  pollMs?: number;
  /**
   * The page's title.
   *
   * @default {"sluice dashboard"}
   */
  title?: string;
}

/** What the server knows of a request's peer. */
export interface DashboardRequestInfo {
  /**
   * The peer's IP address: `info.remoteAddr.hostname` in `Deno.serve`,
   * `server.requestIP(request)?.address` in `Bun.serve`,
   * `socket.remoteAddress` in `node:http` (given by
   * {@linkcode toNodeListener}).
   */
  remoteAddress?: string | undefined;
}

/** The handler {@linkcode createDashboard} returns. */
export type DashboardHandler = (
  request: Request,
  info?: DashboardRequestInfo,
) => Promise<Response>;

/** One client in {@linkcode DashboardStatus}. */
export interface DashboardClient {
  /** The name it is shown under. */
  name: string;
  /** Its key prefix. */
  keyPrefix: string;
  /**
   * The metrics of the client (first, when it has any) and of each of its
   * scopes, as the metrics' snapshot has them.
   */
  metrics: ClientMetrics[];
  /** Its flights and rate-limit resources now (`client.status()`). */
  status: ClientStatus;
}

/**
 * The JSON of `api/status`. Serialised, a status's `resetTime` (a `Date`
 * here) is an ISO 8601 string.
 */
export interface DashboardStatus {
  /** When the metrics' snapshot was taken, by the metrics' clock. */
  time: number;
  /** When the metrics started counting. */
  since: number;
  /** The metrics' rolling window, in ms. */
  windowMs: number;
  /** Every client shown, in the order given. */
  clients: DashboardClient[];
  /** The most recent errors of those clients and their scopes, newest first. */
  recentErrors: RecentError[];
}

/**
 * Creates the dashboard's request handler. It answers two routes, matched
 * on the end of the path so that it works under any prefix: a path ending
 * in `/` is the page, one ending in `/api/status` the JSON it polls
 * ({@linkcode DashboardStatus}). Anything else is 404; a method other than
 * GET or HEAD is 405. Nothing can be changed through it.
 *
 * The page is a static shell: the numbers reach it only through the JSON,
 * which needs `Authorization: Bearer <token>`. Open the page as
 * `http://host:port/#token=<token>`: its script keeps the token for the
 * tab, takes it out of the address bar, and sends it with each poll.
 *
 * It shows what metrics and `status()` report, and nothing else: no body,
 * header value or credential, and URLs as the events carry them (query
 * values redacted by default). Every response has `Cache-Control:
 * no-store`, `X-Content-Type-Options: nosniff`, `Referrer-Policy:
 * no-referrer`, and a Content-Security-Policy that lets the page run only
 * its own inline script and style, connect only to its own origin, and be
 * framed by nobody.
 *
 * Serve it on its own port, bound to `127.0.0.1` unless it must be reached
 * from elsewhere (then behind TLS). With `Deno.serve`, pass the peer's
 * address: `(request, info) => handler(request, { remoteAddress:
 * info.remoteAddr.hostname })`; with `Bun.serve`, `{ remoteAddress:
 * server.requestIP(request)?.address }`; with `node:http`, use
 * {@linkcode toNodeListener}.
 *
 * @param options The clients, their metrics, the token, the poll interval
 * and the title.
 * @returns A handler for `Deno.serve`, `Bun.serve`, a Worker's `fetch`, or
 * `node:http` through {@linkcode toNodeListener}.
 * @throws {ConfigError} When the token is missing or shorter than 16
 * characters, a client or the metrics are not what they must be, or
 * `pollMs` or `title` is invalid.
 *
 * @example On Deno, on this machine only
 * ```ts ignore
 * import { createMetrics, HttpClient } from "@sluice/http";
 * import { createDashboard } from "@sluice/http/dashboard";
 *
 * const metrics = createMetrics();
 * const api = new HttpClient({ name: "api", onEvent: metrics.onEvent });
 * const token = crypto.randomUUID();
 * const dashboard = createDashboard({ clients: [api], metrics, token });
 * Deno.serve({ hostname: "127.0.0.1", port: 8787 }, (request, info) =>
 *   dashboard(request, { remoteAddress: info.remoteAddr.hostname }));
 * console.log(`http://127.0.0.1:8787/#token=${token}`);
 * ```
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(COMPONENT, "options", options, "an object");
  }
  const {
    clients,
    metrics,
    token,
    pollMs = 2_000,
    title = "sluice dashboard",
  } = options;
  const shown = _clients(clients);
  if (
    typeof metrics !== "object" || metrics === null ||
    typeof metrics.snapshot !== "function"
  ) {
    throw new ConfigError(
      COMPONENT,
      "metrics",
      metrics,
      "the Metrics of createMetrics()",
    );
  }
  if (
    token !== false &&
    (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH ||
      /\s/.test(token))
  ) {
    throw new ConfigError(
      COMPONENT,
      "token",
      typeof token === "string" ? `(${token.length} characters)` : token,
      `a string of at least ${MIN_TOKEN_LENGTH} characters without spaces, or false to serve loopback requests only`,
    );
  }
  if (
    typeof pollMs !== "number" || !Number.isInteger(pollMs) || pollMs < 100 ||
    pollMs > 3_600_000
  ) {
    throw new ConfigError(
      COMPONENT,
      "pollMs",
      pollMs,
      "an integer from 100 to 3600000",
    );
  }
  if (typeof title !== "string" || title.length > 200) {
    throw new ConfigError(
      COMPONENT,
      "title",
      title,
      "a string of at most 200 characters",
    );
  }
  const page = pageHtml(title, pollMs, token !== false);
  let pageHeaders: Promise<Headers> | undefined;

  const answer = async (
    request: Request,
    info: DashboardRequestInfo | undefined,
  ): Promise<Response> => {
    const method = request.method;
    if (token === false && !_local(request, info)) {
      return _plain(
        403,
        "This dashboard has no token: it answers requests from this machine to localhost only.",
      );
    }
    if (method !== "GET" && method !== "HEAD") {
      const response = _plain(405, "The dashboard is read-only.");
      response.headers.set("allow", "GET, HEAD");
      return response;
    }
    const path = new URL(request.url).pathname;
    const head = method === "HEAD";
    if (path.endsWith("/api/status")) {
      if (
        token !== false &&
        !sameSecret(
          bearerToken(request.headers.get("authorization")) ?? "",
          token,
        )
      ) {
        const response = _plain(401, "A bearer token is needed.");
        response.headers.set("www-authenticate", 'Bearer realm="sluice"');
        return response;
      }
      const status = await _status(shown, metrics);
      return new Response(head ? null : JSON.stringify(status), {
        headers: _headers("application/json; charset=utf-8", _JSON_POLICY),
      });
    }
    if (path.endsWith("/")) {
      pageHeaders ??= _pageHeaders();
      return new Response(head ? null : page, { headers: await pageHeaders });
    }
    return _plain(404, "Not found.");
  };

  return async (request, info) => {
    try {
      return await answer(request, info);
    } catch {
      return _plain(500, "The dashboard failed to answer.");
    }
  };
}

/** The policy of every response but the page: nothing may load or run. */
const _JSON_POLICY =
  "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function _headers(contentType: string, policy: string): Headers {
  return new Headers({
    "content-type": contentType,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": policy,
  });
}

function _plain(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: _headers("text/plain; charset=utf-8", _JSON_POLICY),
  });
}

// The page may run its own script and style, named by their hashes, and
// fetch from its own origin; nothing else.
async function _pageHeaders(): Promise<Headers> {
  const [script, style] = await Promise.all([
    _hash(PAGE_SCRIPT),
    _hash(PAGE_STYLE),
  ]);
  return _headers(
    "text/html; charset=utf-8",
    `default-src 'none'; script-src '${script}'; style-src '${style}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
}

async function _hash(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha256-${btoa(binary)}`;
}

// Without a token, only a peer on this machine that names this machine:
// a page of another site that its DNS points at 127.0.0.1 names that site.
function _local(
  request: Request,
  info: DashboardRequestInfo | undefined,
): boolean {
  const address = info?.remoteAddress;
  if (typeof address !== "string" || !isLoopbackAddress(address)) return false;
  return isLoopbackHost(
    request.headers.get("host") ?? new URL(request.url).host,
  );
}

function _clients(
  clients: DashboardOptions["clients"],
): [string, DashboardSubject][] {
  const expected = "an array of HttpClient, or a record of names to HttpClient";
  if (typeof clients !== "object" || clients === null) {
    throw new ConfigError(COMPONENT, "clients", clients, expected);
  }
  const entries: [string, unknown][] = Array.isArray(clients)
    ? clients.map((client: unknown) => [_prefixOf(client), client])
    : Object.entries(clients);
  for (const [name, client] of entries) {
    const c = client as Partial<DashboardSubject> | null;
    if (
      typeof c !== "object" || c === null || typeof c.status !== "function" ||
      typeof c.keyPrefix !== "string"
    ) {
      throw new ConfigError(
        COMPONENT,
        Array.isArray(clients) ? "clients" : `clients.${name}`,
        client,
        expected,
      );
    }
  }
  return entries as [string, DashboardSubject][];
}

function _prefixOf(client: unknown): string {
  const prefix = (client as { keyPrefix?: unknown } | null)?.keyPrefix;
  return typeof prefix === "string" ? prefix : "";
}

function _within(series: string, prefix: string): boolean {
  return series === prefix || series.startsWith(`${prefix}:`);
}

async function _status(
  clients: readonly [string, DashboardSubject][],
  metrics: DashboardMetrics,
): Promise<DashboardStatus> {
  const statuses = await Promise.all(
    clients.map(([, client]) => client.status()),
  );
  const snapshot = metrics.snapshot();
  const prefixes = clients.map(([, client]) => client.keyPrefix);
  return {
    time: snapshot.time,
    since: snapshot.since,
    windowMs: snapshot.windowMs,
    clients: clients.map(([name, client], i) => {
      const prefix = client.keyPrefix;
      const series = snapshot.clients.filter((m) => _within(m.client, prefix));
      // The client's own series first, then its scopes in their order.
      series.sort((a, b) =>
        (a.client === prefix ? 0 : 1) - (b.client === prefix ? 0 : 1)
      );
      return { name, keyPrefix: prefix, metrics: series, status: statuses[i]! };
    }),
    recentErrors: snapshot.recentErrors.filter((error) =>
      prefixes.some((prefix) => _within(error.client, prefix))
    ),
  };
}

/**
 * {@linkcode toNodeListener}: serves a web-standard handler, such as the
 * dashboard's, from `node:http`, without importing any Node module.
 *
 * @module
 */

import type { DashboardHandler } from "./dashboard.ts";

/** What {@linkcode toNodeListener} reads of `node:http`'s `IncomingMessage`. */
export interface NodeIncomingMessage {
  /** The request method. */
  method?: string | undefined;
  /** The request target: path and query. */
  url?: string | undefined;
  /** The request headers, lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The connection, for the peer's address. */
  socket?: { remoteAddress?: string | undefined } | null | undefined;
  /** Reads the request body to its end, unused. */
  resume?: () => unknown;
}

/** What {@linkcode toNodeListener} calls on `node:http`'s `ServerResponse`. */
export interface NodeServerResponse {
  /** The status code to send. */
  statusCode: number;
  /** Sets a response header. */
  setHeader(name: string, value: string | readonly string[]): unknown;
  /** Sends the body and ends the response. */
  end(body?: Uint8Array): unknown;
}

/**
 * Turns a web-standard handler into a `node:http` request listener. The
 * request reaches the handler with its method, URL (on the `Host` it
 * named) and headers, and the peer's address as `remoteAddress`; its body
 * is not read. The handler's response is sent with its status, headers
 * and body.
 *
 * @param handler The handler, for example {@linkcode createDashboard}'s.
 * @returns A listener for `createServer()` of `node:http` (Node, Bun and
 * Deno all have it).
 *
 * @example Serving the dashboard with node:http
 * ```ts ignore
 * import { createServer } from "node:http";
 * import { createDashboard, toNodeListener } from "@sluice/http/dashboard";
 *
 * const dashboard = createDashboard({ clients: [api], metrics, token });
 * createServer(toNodeListener(dashboard)).listen(8787, "127.0.0.1");
 * ```
 */
export function toNodeListener(
  handler: DashboardHandler,
): (request: NodeIncomingMessage, response: NodeServerResponse) => void {
  return (request, response) => {
    void _serve(handler, request, response);
  };
}

async function _serve(
  handler: DashboardHandler,
  incoming: NodeIncomingMessage,
  outgoing: NodeServerResponse,
): Promise<void> {
  try {
    incoming.resume?.();
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value === undefined) continue;
      // A header a Headers object refuses is left out.
      try {
        if (Array.isArray(value)) {
          for (const item of value) headers.append(name, item);
        } else headers.set(name, value as string);
      } catch {
        continue;
      }
    }
    const method = (incoming.method ?? "GET").toUpperCase();
    const request = new Request(_url(headers.get("host"), incoming.url), {
      method,
      headers,
    });
    const response = await handler(request, {
      remoteAddress: incoming.socket?.remoteAddress ?? undefined,
    });
    outgoing.statusCode = response.status;
    response.headers.forEach((value, name) => {
      outgoing.setHeader(name, value);
    });
    const body = method === "HEAD" || response.body === null
      ? undefined
      : new Uint8Array(await response.arrayBuffer());
    outgoing.end(body);
  } catch {
    try {
      outgoing.statusCode = 500;
      outgoing.end();
    } catch {
      // The connection is gone.
    }
  }
}

// The request's URL: its target on the host it named, or on localhost when
// the Host header names no plain host (the handler checks the header itself
// for who was named).
function _url(host: string | null, target: string | undefined): string {
  let url = new URL("http://localhost/");
  if (typeof target === "string" && target.startsWith("/")) {
    try {
      url = new URL(`http://localhost${target}`);
    } catch {
      // The root, then.
    }
  }
  if (host !== null) {
    try {
      const named = new URL(`http://${host}/`);
      if (
        named.pathname === "/" && named.search === "" && named.hash === "" &&
        named.username === "" && named.password === ""
      ) url.host = named.host;
    } catch {
      // localhost, then.
    }
  }
  return url.href;
}

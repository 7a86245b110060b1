/**
 * {@linkcode HttpClient}: `fetch` with an RFC 9111 cache, request
 * de-duplication, rate limiting, retries and timeouts in front, each backed
 * by a pluggable store.
 *
 * @module
 */

import { escapeKeyPart, joinKey, scopeKeyPart } from "../stores/keys.ts";
import type { Scope, Validate } from "./_call.ts";
import { buildCall, resolveUrl, type Shared } from "./_call_spec.ts";
import { parseBody, validate } from "./_data.ts";
import { Engine } from "./_engine.ts";
import { dataOf, httpError } from "./_reply.ts";
import { fromInit, fromRequest, helperParts } from "./_request.ts";
import { clientStatus } from "./_status.ts";
import { invalidateScopeTags } from "./_tags.ts";
import { resolveOptions } from "./_validate_options.ts";
import type {
  HttpClientOptions,
  HttpRequestInit,
  RequestOptions,
} from "./options.ts";
import type { ClientStatus } from "./status.ts";

// A private constructor argument that makes a scope of an existing client.
const SCOPE: unique symbol = Symbol("sluice.scope");
interface ScopeInit {
  [SCOPE]: { shared: Shared; prefix: string };
}

/**
 * An HTTP client that puts a cache, request de-duplication and rate
 * limiting in front of `fetch`.
 *
 * For GET and HEAD, each request goes through: the cache (a fresh entry is
 * returned at once, spending no quota); an in-process flight, then a
 * distributed one, shared with identical concurrent requests; the server's
 * cooldown; the rate limit; the origin, with per-attempt and total
 * deadlines and retries; then the answer is learned from (cooldowns, cache
 * entry). Other methods skip the cache and flights, and invalidate the
 * cached target on success.
 *
 * Keys hash the method, the URL and the credentials (`Authorization`,
 * `Cookie` and any `credentialHeaders`), so two users never share an entry
 * or a flight, and no URL or header value appears in a store key. A
 * `Set-Cookie` reaches only the caller whose request the origin answered: it
 * is never stored, and never handed to a caller that joined that request.
 *
 * A shared flight runs on its own signal, never a caller's: a caller that
 * aborts or times out stops waiting, and the others keep their answer. The
 * flight's request is aborted only when every caller waiting for it in this
 * process has gone (or the client is closed, for background work). Waiters
 * in other processes then elect a new owner.
 *
 * The client never closes the stores it is given: their owner does.
 *
 * @example A cached, rate-limited API client
 * ```ts
 * import {
 *   HttpClient,
 *   MemoryCacheStore,
 *   MemoryRateLimitStore,
 * } from "@sluice/http";
 *
 * const client = new HttpClient({
 *   name: "github",
 *   baseUrl: "https://api.github.com/",
 *   cache: { store: new MemoryCacheStore() },
 *   rateLimit: {
 *     store: new MemoryRateLimitStore({ defaultConfig: { limit: 60, windowMs: 3_600_000 } }),
 *   },
 * });
 * const repo = await client.get<{ stargazers_count: number }>("repos/denoland/deno");
 * console.log(repo.stargazers_count);
 * await client.close();
 * ```
 */
export class HttpClient implements AsyncDisposable {
  readonly #shared: Shared;
  readonly #scope: Scope;
  readonly #root: boolean;

  /**
   * Sends a request, as `fetch` does, and returns a `Response` the caller
   * owns. It is bound to the client, so it can be handed to anything that
   * takes a `fetch` (`openai`, `@octokit/core`, `@libsql/client/web`).
   *
   * @param input The URL (resolved against `baseUrl`) or a `Request`.
   * @param init `RequestInit`, plus `priority`, `cache` and `timeout`.
   * @returns The response: from the cache, a shared flight or the origin.
   * @throws The signal's reason when the caller aborts.
   * @throws {TimeoutError} When a deadline passes.
   * @throws {RateLimitError} When the rate budget or a server cooldown
   * does not allow the request in time.
   * @throws {StoreError} When the rate-limit store fails and `failOpen` is off.
   * @throws {TypeError} On a network error, as `fetch` does.
   */
  readonly fetch: (
    input: string | URL | Request,
    init?: HttpRequestInit,
  ) => Promise<Response>;

  /**
   * Creates a client. Every option is validated here.
   *
   * @param options The client's name, stores and policies.
   * @throws {ConfigError} When an option is invalid; the error names it
   * (for example `timeout.attemptMs`, `rateLimit.maxWaitMs`, `cache.store`).
   */
  constructor(options: HttpClientOptions) {
    const scopeInit = (options as unknown as Partial<ScopeInit> | undefined)
      ?.[SCOPE];
    if (scopeInit !== undefined) {
      this.#shared = scopeInit.shared;
      this.#scope = { prefix: scopeInit.prefix, closed: false };
      this.#root = false;
    } else {
      const resolved = resolveOptions(options);
      const engine = new Engine({
        name: resolved.name,
        fetch: resolved.fetch,
        cache: resolved.cache,
        dedupeStore: resolved.dedupeStore,
        limiter: resolved.limiter,
        admissionWaitMs: resolved.admissionWaitMs,
        resource: resolved.resource,
        retry: resolved.retry,
        maxBodyBytes: resolved.maxBodyBytes,
        storeTimeoutMs: resolved.storeTimeoutMs,
        credentialHeaders: resolved.credentialHeaders,
        onEvent: resolved.onEvent,
        clock: resolved.clock,
        hooks: resolved.hooks,
      });
      this.#shared = {
        engine,
        options: resolved,
        defaultCredentials: engine.credentials(resolved.headers),
        urls: new Map(),
      };
      this.#scope = { prefix: joinKey(resolved.name), closed: false };
      this.#root = true;
    }
    this.fetch = (input, init) => this.#fetch(input, init);
  }

  /**
   * The prefix of every store key of this client or scope: the name, then
   * one `key=id` part per scope, joined by `:`. The name has `%` and `:`
   * percent-encoded; a scope's key and id also have `=` encoded, so no
   * name, scope key or id reaches another's keys. Cache keys start with
   * `${keyPrefix}:cache:`.
   */
  get keyPrefix(): string {
    return this.#scope.prefix;
  }

  /**
   * Returns a client whose store keys are further prefixed with
   * `key=id` (`%`, `:` and `=` of each side percent-encoded). It shares this client's stores, options and in-process
   * flights table, but never another scope's keys. Scopes chain.
   *
   * @param key The scope's kind, for example `"tenant"`.
   * @param id The scope's identity, for example `"t_42"`.
   * @returns An immutable scoped client.
   * @throws {TypeError} When `key` or `id` is empty.
   *
   * @example One cache, kept apart per tenant
   * ```ts
   * import { HttpClient, MemoryCacheStore } from "@sluice/http";
   *
   * const client = new HttpClient({ name: "api", cache: { store: new MemoryCacheStore() } });
   * const tenant = client.scope("tenant", "t_42");
   * console.log(tenant.keyPrefix); // "api:tenant=t_42"
   * ```
   */
  scope(key: string, id: string | number): HttpClient {
    const idText = typeof id === "number" ? String(id) : id;
    if (typeof key !== "string" || key === "") {
      throw new TypeError(
        `Cannot create a scope as 'key' must be a non-empty string: received ${
          JSON.stringify(key)
        }`,
      );
    }
    if (typeof idText !== "string" || idText === "") {
      throw new TypeError(
        `Cannot create a scope as 'id' must be a non-empty string: received ${
          JSON.stringify(id)
        }`,
      );
    }
    if (this.#shared.engine.isClosed(this.#scope)) {
      throw this.#shared.engine.closedError(this.#scope);
    }
    const init: ScopeInit = {
      [SCOPE]: {
        shared: this.#shared,
        prefix: `${this.#scope.prefix}:${scopeKeyPart(key, idText)}`,
      },
    };
    const scoped = new HttpClient(init as unknown as HttpClientOptions);
    Object.freeze(scoped);
    return scoped;
  }

  /**
   * The rate-limit resource key the client uses for a URL, as passed to the
   * rate-limit store: use it with `setResourceConfig` or `getStatus`. Each
   * scope has its own budget. A server cooldown (`Retry-After`,
   * `RateLimit-*`) is kept under the root client's key instead, so that it
   * holds back the client and every scope.
   *
   * @param url The request URL (resolved against `baseUrl`).
   * @returns `${keyPrefix}:ratelimit:${resource}` (escaped).
   */
  rateLimitResource(url: string | URL): string {
    const target = resolveUrl(this.#shared, url);
    const resolved = new URL(typeof target === "string" ? target : target.url);
    return `${this.#scope.prefix}:ratelimit:${
      escapeKeyPart(this.#shared.options.resource(resolved))
    }`;
  }

  /**
   * What the client or scope is doing now, for a dashboard or a health
   * check: its GET and HEAD flights in progress (background revalidations
   * included), and for each rate-limit resource it (or one of its scopes)
   * asked admission on lately, the store's budget, its adaptive split when
   * the store is adaptive, and the server's cooldown. It reads no URL,
   * header or body.
   *
   * Each store call is bounded by `storeTimeoutMs`. A store that fails or
   * does not answer in time gives that resource an `error` instead of a
   * `status`: the promise never rejects, even on a closed client.
   *
   * @returns The name, key prefix, closed state, flights and resources.
   *
   * @example Rate-limit use per resource
   * ```ts
   * import { HttpClient, MemoryRateLimitStore } from "@sluice/http";
   *
   * const client = new HttpClient({
   *   name: "github",
   *   baseUrl: "https://api.github.com/",
   *   rateLimit: {
   *     store: new MemoryRateLimitStore({ defaultConfig: { limit: 60, windowMs: 3_600_000 } }),
   *   },
   * });
   * await client.get("repos/denoland/deno");
   * const { flights, resources } = await client.status();
   * for (const { resource, status, cooldownMs, error } of resources) {
   *   if (status === undefined) console.log(resource, "store failed:", error);
   *   else console.log(resource, `${status.limit - status.remaining}/${status.limit}`, cooldownMs);
   * }
   * console.log(flights, "requests in flight");
   * await client.close();
   * ```
   */
  status(): Promise<ClientStatus> {
    return clientStatus(this.#shared.engine, this.#scope);
  }

  /**
   * Removes this client's (or scope's) cached entries from the cache
   * store, and nobody else's. Their cache tags go with them.
   */
  async clearCache(): Promise<void> {
    await this.#shared.options.cache?.store.clear(
      `${this.#scope.prefix}:cache:`,
    );
  }

  /**
   * Drops every cached entry this client (or scope) stored with one of
   * `tags` (see the request option `tags`), in every process that shares
   * the cache store; the entries of other scopes stay. A response fetched
   * before this call is not stored after it. Without a cache it resolves
   * `0`.
   *
   * @param tags Non-empty strings of at most 256 UTF-16 code units, at
   * most 1 000.
   * @returns How many entries the store removed, as far as it can tell.
   * @throws {ConfigError} When `tags` is malformed, or the cache store has
   * no tag support.
   * @throws {StoreError} When the store fails or does not answer within
   * `storeTimeoutMs`.
   *
   * @example Dropping a user's responses after a change
   * ```ts
   * import { HttpClient, MemoryCacheStore } from "@sluice/http";
   *
   * const client = new HttpClient({ name: "api", cache: { store: new MemoryCacheStore() } });
   * // await client.get("users/42", { tags: ["user:42"] });
   * console.log(await client.invalidateTags(["user:42"])); // 0: nothing was stored yet
   * ```
   */
  invalidateTags(tags: readonly string[]): Promise<number> {
    return invalidateScopeTags(this.#shared, this.#scope, tags);
  }

  /**
   * Sends a GET and returns its data: parsed JSON when the content type is
   * JSON, text otherwise, `undefined` for an empty body. Each call returns
   * its own copy, even of a cached response.
   *
   * @typeParam T The data, inferred from `options.schema` when given.
   * @param url The URL, resolved against `baseUrl`.
   * @param options Headers, signal, priority, schema, cache and timeout.
   * @returns The data, validated by `options.schema` when given.
   * @throws {HttpError} When the status is not 2xx.
   * @throws {ValidationError} When the data fails the schema; it is then
   * not cached.
   * @throws {BodyTooLargeError} When the body is larger than
   * `maxBodyBytes`; it is then neither read past the limit nor cached.
   *
   * @example Validating with a Standard Schema
   * ```ts ignore
   * import { z } from "zod";
   * const user = await client.get("users/1", { schema: z.object({ id: z.number() }) });
   * ```
   */
  get<T = unknown>(url: string | URL, options?: RequestOptions<T>): Promise<T> {
    return this.#helper("GET", url, undefined, options);
  }

  /**
   * Sends a HEAD and returns the response headers.
   *
   * @param url The URL, resolved against `baseUrl`.
   * @param options Headers, signal, priority, cache and timeout.
   * @returns The response headers.
   * @throws {HttpError} When the status is not 2xx.
   */
  async head(
    url: string | URL,
    options?: Omit<RequestOptions, "schema">,
  ): Promise<Headers> {
    const call = buildCall(
      this.#shared,
      this.#scope,
      helperParts("HEAD", url, undefined, options),
    );
    const engine = this.#shared.engine;
    const outcome = await engine.send(call);
    const response = engine.toResponse(outcome, call);
    if (response.status < 200 || response.status >= 300) {
      throw await httpError(outcome, call);
    }
    return response.headers;
  }

  /**
   * Sends a DELETE and returns its data, as {@linkcode HttpClient.get}.
   *
   * @typeParam T The data.
   * @param url The URL, resolved against `baseUrl`.
   * @param options Headers, signal, priority, schema and timeout.
   * @returns The data.
   * @throws {HttpError} When the status is not 2xx.
   * @throws {BodyTooLargeError} When the body is larger than `maxBodyBytes`.
   */
  delete<T = unknown>(
    url: string | URL,
    options?: RequestOptions<T>,
  ): Promise<T> {
    return this.#helper("DELETE", url, undefined, options);
  }

  /**
   * Sends a POST and returns its data, as {@linkcode HttpClient.get}.
   *
   * @typeParam T The data.
   * @param url The URL, resolved against `baseUrl`.
   * @param body A `BodyInit` (string, bytes, `Blob`, `FormData`, …) sent as
   * is, or any other value sent as JSON.
   * @param options Headers, signal, priority, schema and timeout.
   * @returns The data.
   * @throws {HttpError} When the status is not 2xx.
   * @throws {BodyTooLargeError} When the body is larger than `maxBodyBytes`.
   */
  post<T = unknown>(
    url: string | URL,
    body?: unknown,
    options?: RequestOptions<T>,
  ): Promise<T> {
    return this.#helper("POST", url, body, options);
  }

  /**
   * Sends a PUT and returns its data, as {@linkcode HttpClient.post}.
   *
   * @typeParam T The data.
   * @param url The URL, resolved against `baseUrl`.
   * @param body The body, as for {@linkcode HttpClient.post}.
   * @param options Headers, signal, priority, schema and timeout.
   * @returns The data.
   * @throws {HttpError} When the status is not 2xx.
   * @throws {BodyTooLargeError} When the body is larger than `maxBodyBytes`.
   */
  put<T = unknown>(
    url: string | URL,
    body?: unknown,
    options?: RequestOptions<T>,
  ): Promise<T> {
    return this.#helper("PUT", url, body, options);
  }

  /**
   * Sends a PATCH and returns its data, as {@linkcode HttpClient.post}.
   *
   * @typeParam T The data.
   * @param url The URL, resolved against `baseUrl`.
   * @param body The body, as for {@linkcode HttpClient.post}.
   * @param options Headers, signal, priority, schema and timeout.
   * @returns The data.
   * @throws {HttpError} When the status is not 2xx.
   * @throws {BodyTooLargeError} When the body is larger than `maxBodyBytes`.
   */
  patch<T = unknown>(
    url: string | URL,
    body?: unknown,
    options?: RequestOptions<T>,
  ): Promise<T> {
    return this.#helper("PATCH", url, body, options);
  }

  /**
   * Ends background work and refuses new requests. Background
   * revalidations with a request on the wire are awaited; those waiting
   * for rate budget, a cooldown, a store or a retry backoff are aborted. Closing the root
   * client closes its scopes; closing a scope leaves its parent open.
   * Requests already in progress finish. The stores are not closed: their
   * owner closes them. Calling it twice is safe.
   */
  async close(): Promise<void> {
    await this.#shared.engine.close(this.#scope, this.#root);
  }

  /** Closes the client, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------ internals

  async #fetch(
    input: string | URL | Request,
    init?: HttpRequestInit,
  ): Promise<Response> {
    const parts = input instanceof Request
      ? await fromRequest(input, init)
      : fromInit(input, init);
    const call = buildCall(this.#shared, this.#scope, parts);
    const engine = this.#shared.engine;
    return engine.toResponse(await engine.send(call), call);
  }

  async #helper<T>(
    method: string,
    url: string | URL,
    body: unknown,
    options: RequestOptions<T> | undefined,
  ): Promise<T> {
    const schema = options?.schema;
    // Validate before the response is stored: data that fails is never
    // cached.
    const check: ((url: string) => Validate) | undefined = schema ===
        undefined
      ? undefined
      : (url) => (bytes, contentType) =>
        validate(
          schema,
          parseBody(bytes, contentType).value,
          `${method} ${url}`,
        );
    const call = buildCall(
      this.#shared,
      this.#scope,
      helperParts(method, url, body, options),
      check,
      true,
    );
    const outcome = await this.#shared.engine.send(call);
    return dataOf(this.#shared.engine, outcome, call, schema);
  }
}

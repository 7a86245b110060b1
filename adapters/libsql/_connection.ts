import { type Clock, systemClock } from "../../src/clock.ts";
import { ConfigError, StoreError } from "../../src/errors.ts";
import type {
  LibsqlClient,
  LibsqlResultSet,
  LibsqlStatement,
} from "./client.ts";
import { _RenewingClient } from "./_renewing_client.ts";
import {
  DEFAULT_TABLE_PREFIX,
  isValidTablePrefix,
  type LibsqlTableNames,
  migrate,
  tableNames,
} from "./schema.ts";

/** How a libSQL store reaches its database. Give either `client` or `url`. */
export interface LibsqlConnectionOptions {
  /**
   * An existing `@libsql/client` client. The store never closes it, so many
   * stores can share one. Give either `client` or `url`.
   */
  client?: LibsqlClient;
  /**
   * The database URL, from which the store creates (and later closes) its own
   * client: `file:path.db` or `:memory:` (native `@libsql/client`), or
   * `http(s)://`, `libsql://`, `ws(s)://` (`@libsql/client/web`, no native
   * module). Give either `client` or `url`.
   */
  url?: string;
  /** The auth token of a remote database (Turso, sqld with JWT auth). */
  authToken?: string;
  /**
   * The prefix of every table name: letters, digits and underscores.
   *
   * @default {"sluice_"}
   */
  tablePrefix?: string;
  /**
   * Creates or upgrades the tables on first use. Turn off when the tables are
   * provisioned ahead (see `LIBSQL_SCHEMA` and `migrate`).
   *
   * @default {true}
   */
  ensure?: boolean;
  /**
   * The time source. Every time the stores write is taken from it.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * How long an operation waits for a local database file locked by another
   * process: `SQLITE_BUSY` is retried every few milliseconds for that long.
   * A client created from `url` waits at most 20 ms for the lock inside the
   * native call, which holds up the whole process meanwhile (and with it
   * requests already admitted, which then reach the origin late). A client
   * passed as `client` keeps its own busy timeout, which waits that way.
   *
   * @default {5000}
   */
  busyTimeoutMs?: number;
}

const BACKEND = "libsql";

/**
 * How long the native client of a local file waits for a lock before it
 * fails with SQLITE_BUSY, blocking its thread meanwhile, in ms.
 */
const NATIVE_BUSY_TIMEOUT_MS = 20;
const URL_SCHEMES = new Set([
  "file:",
  "http:",
  "https:",
  "libsql:",
  "ws:",
  "wss:",
]);
const EXPECTED_URL =
  "a libSQL URL (file:, :memory:, http(s)://, libsql:// or ws(s)://)";

/** Schema set-up shared by every store on one client, per table prefix. */
const ensured = new WeakMap<LibsqlClient, Map<string, Promise<void>>>();

/**
 * The machinery every libSQL store shares: option validation, lazy client
 * creation, lazy schema set-up, `SQLITE_BUSY` retry, and error mapping.
 */
export class _Connection {
  readonly component: string;
  readonly clock: Clock;
  readonly tables: LibsqlTableNames;
  readonly prefix: string;
  readonly #ensure: boolean;
  readonly #busyTimeoutMs: number;
  readonly #url: string | undefined;
  readonly #authToken: string | undefined;
  readonly #owned: boolean;
  #client: LibsqlClient | undefined;
  #opening: Promise<LibsqlClient> | undefined;
  #closed = false;

  constructor(component: string, options: LibsqlConnectionOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(
        component,
        "options",
        options,
        "an object with 'client' or 'url'",
      );
    }
    const {
      client,
      url,
      authToken,
      tablePrefix = DEFAULT_TABLE_PREFIX,
      ensure = true,
      clock = systemClock,
      busyTimeoutMs = 5000,
    } = options;
    this.component = component;
    if (client !== undefined && url !== undefined) {
      throw new ConfigError(
        component,
        "client",
        client,
        "given without 'url' (pass either a client or a URL, not both)",
      );
    }
    if (client !== undefined) {
      if (
        typeof client !== "object" || client === null ||
        typeof client.execute !== "function" ||
        typeof client.batch !== "function"
      ) {
        throw new ConfigError(
          component,
          "client",
          client,
          "a libSQL client with execute() and batch()",
        );
      }
      this.#client = client;
      this.#owned = false;
    } else {
      if (!_isLibsqlUrl(url)) {
        throw new ConfigError(component, "url", url, EXPECTED_URL);
      }
      this.#url = url;
      this.#owned = true;
    }
    if (authToken !== undefined && typeof authToken !== "string") {
      throw new ConfigError(component, "authToken", authToken, "a string");
    }
    this.#authToken = authToken;
    if (!isValidTablePrefix(tablePrefix)) {
      throw new ConfigError(
        component,
        "tablePrefix",
        tablePrefix,
        "an identifier of at most 40 letters, digits and underscores",
      );
    }
    if (typeof ensure !== "boolean") {
      throw new ConfigError(component, "ensure", ensure, "a boolean");
    }
    if (
      typeof clock !== "object" || clock === null ||
      typeof clock.now !== "function"
    ) {
      throw new ConfigError(
        component,
        "clock",
        clock,
        "an object with a now() method",
      );
    }
    if (
      typeof busyTimeoutMs !== "number" ||
      !Number.isSafeInteger(busyTimeoutMs) ||
      busyTimeoutMs < 0
    ) {
      throw new ConfigError(
        component,
        "busyTimeoutMs",
        busyTimeoutMs,
        "a non-negative integer",
      );
    }
    this.prefix = tablePrefix;
    this.tables = tableNames(tablePrefix);
    this.#ensure = ensure;
    this.clock = clock;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The current time of the store's clock. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Runs `work` against the client once the schema is ready, retrying it
   * while the database is busy, and turns every failure into a StoreError.
   */
  async run<T>(
    operation: string,
    what: string,
    work: (client: LibsqlClient) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) {
      throw new StoreError(
        `Cannot ${what} as the ${this.component} is closed`,
        BACKEND,
        operation,
      );
    }
    let client: LibsqlClient;
    try {
      client = this.#client ?? await this.#open();
      if (this.#ensure) await this.#ensureSchema(client);
    } catch (error) {
      // Name the operation the caller ran, not the set-up step that failed.
      throw new StoreError(
        `Cannot ${what}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        BACKEND,
        operation,
        { cause: error },
      );
    }
    try {
      return await this.#retryBusy(() => work(client));
    } catch (error) {
      throw this.error(operation, what, error);
    }
  }

  /** Runs statements in one write transaction: one round trip. */
  batch(
    operation: string,
    what: string,
    statements: LibsqlStatement[],
  ): Promise<LibsqlResultSet[]> {
    return this.run(
      operation,
      what,
      (client) => client.batch(statements, "write"),
    );
  }

  /** Runs one statement: one round trip. */
  execute(
    operation: string,
    what: string,
    statement: LibsqlStatement,
  ): Promise<LibsqlResultSet> {
    return this.run(operation, what, (client) => client.execute(statement));
  }

  /** Wraps any failure into a StoreError naming the backend and operation. */
  error(operation: string, what: string, error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    let detail = error instanceof Error ? error.message : String(error);
    if (/no such table/i.test(detail)) {
      detail +=
        ` (the tables '${this.prefix}*' are missing: create them with migrate() or LIBSQL_SCHEMA, or leave 'ensure' on)`;
    } else if (_code(error) === "CLIENT_CLOSED") {
      detail += " (the libSQL client was closed)";
    }
    return new StoreError(`Cannot ${what}: ${detail}`, BACKEND, operation, {
      cause: error,
    });
  }

  /** Closes the client if this connection created it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    let client = this.#client;
    if (client === undefined && this.#opening !== undefined) {
      client = await this.#opening.catch(() => undefined);
    }
    this.#client = undefined;
    if (client !== undefined && !client.closed) client.close();
  }

  #open(): Promise<LibsqlClient> {
    this.#opening ??= _createClient(this.#url!, this.#authToken).then(
      (client) => {
        if (this.#closed) {
          client.close();
          throw new Error("the store was closed while its client was opening");
        }
        this.#client = client;
        return client;
      },
      (error) => {
        this.#opening = undefined;
        throw new Error(
          `cannot open ${_redact(this.#url!)}: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      },
    );
    return this.#opening;
  }

  #ensureSchema(client: LibsqlClient): Promise<void> {
    let byPrefix = ensured.get(client);
    if (byPrefix === undefined) {
      byPrefix = new Map();
      ensured.set(client, byPrefix);
    }
    let pending = byPrefix.get(this.prefix);
    if (pending === undefined) {
      const map = byPrefix;
      pending = this.#prepare(client).catch(
        (error) => {
          map.delete(this.prefix);
          throw error;
        },
      );
      map.set(this.prefix, pending);
    }
    return pending;
  }

  /** Enables WAL on a local file (outside any transaction), then migrates. */
  async #prepare(client: LibsqlClient): Promise<void> {
    if (client.protocol === "file") {
      try {
        await this.#retryBusy(() =>
          client.execute({ sql: "PRAGMA journal_mode = WAL", args: [] })
        );
      } catch (error) {
        // Other processes may hold the file for longer than the busy
        // timeout; the database still works in its current journal mode,
        // only with more waiting for locks.
        if (!_isBusy(error)) throw error;
      }
    }
    await this.#retryBusy(() => migrate(client, { tablePrefix: this.prefix }));
  }

  // Runs `work`, and again while the database is busy, for up to the busy
  // timeout, a few milliseconds apart: a local client created here waits
  // for a lock only briefly itself (see _createClient).
  async #retryBusy<T>(work: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.#busyTimeoutMs;
    let delay = 1;
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!_isBusy(error) || performance.now() + delay > deadline) {
          throw error;
        }
        await new Promise((resolve) =>
          setTimeout(resolve, delay * (0.5 + Math.random()))
        );
        delay = Math.min(delay * 2, 8);
      }
    }
  }
}

async function _createClient(
  url: string,
  authToken: string | undefined,
): Promise<LibsqlClient> {
  const config = authToken === undefined ? { url } : { url, authToken };
  if (_isLocal(url)) {
    // Loaded only for local databases, so a remote-only user never loads the
    // native module.
    const { createClient } = await import("@libsql/client");
    // A short busy timeout: the native client waits for a locked file
    // synchronously, holding up every request of the process, among them
    // requests already admitted by the rate limit, which then reach the
    // origin late. Longer waits are retried on timers (#retryBusy).
    const open = (): LibsqlClient =>
      createClient({ ...config, timeout: NATIVE_BUSY_TIMEOUT_MS });
    return url === ":memory:" ? open() : new _RenewingClient(open, _isBusy);
  }
  const { createClient } = await import("@libsql/client/web");
  return createClient(config);
}

function _isLocal(url: string): boolean {
  return url === ":memory:" || url.startsWith("file:");
}

function _isLibsqlUrl(url: unknown): url is string {
  if (typeof url !== "string" || url === "") return false;
  if (url === ":memory:") return true;
  try {
    return URL_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** Drops credentials from a URL before it goes into an error message. */
function _redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "" || parsed.username !== "") {
      parsed.username = "";
      parsed.password = "";
    }
    parsed.search = "";
    return parsed.href;
  } catch {
    return url;
  }
}

function _code(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function _isBusy(error: unknown): boolean {
  const code = _code(error) ?? "";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return true;
  }
  const message = error instanceof Error ? error.message : "";
  return /database is locked|SQLITE_BUSY/i.test(message);
}

/** Reads an integer column that the client may return as number, bigint or string. */
export function _int(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value !== "") {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

import { type Clock, systemClock } from "../../src/clock.ts";
import { ConfigError, StoreError } from "../../src/errors.ts";
import { timerDelay } from "../../src/_store_deadline.ts";
import { positiveInteger, validClock } from "../../src/stores/_validate.ts";
import {
  type CreateTableResult,
  DEFAULT_TABLE_NAME,
  TABLE_SCHEMA,
  TTL_ATTRIBUTE,
} from "./_table.ts";
import {
  _ClientTransport,
  _FetchTransport,
  type _Transport,
  type DynamoDBClientLike,
  type DynamoDBCredentialsSource,
} from "./_transport.ts";

/**
 * How a DynamoDB store reaches its table: an injected client, or an
 * endpoint, a region and credentials for `fetch`. Every store accepts
 * these.
 */
export interface DynamoDBConnectionOptions {
  /**
   * A DynamoDB client: an AWS SDK v3 `DynamoDBClient` (or anything with a
   * `send` of that shape). Its credentials, region, endpoint and HTTP
   * handler are used; its retries are not, since a store fails at once and
   * the HTTP client's fail-open policy decides. Give either `client` or
   * `region` and `credentials`.
   */
  client?: DynamoDBClientLike;
  /**
   * The service endpoint for `fetch`, for example `http://127.0.0.1:8000`
   * for a local emulator.
   *
   * @default {`https://dynamodb.${region}.amazonaws.com`}
   */
  endpoint?: string;
  /** The AWS region for `fetch` and its signatures, for example `"eu-west-1"`. */
  region?: string;
  /**
   * The credentials `fetch` requests are signed with (SigV4, Web Crypto), or
   * a function returning the current ones.
   */
  credentials?: DynamoDBCredentialsSource;
  /**
   * The table every store shares (see `TABLE_SCHEMA`).
   *
   * @default {"sluice"}
   */
  tableName?: string;
  /**
   * Prepended to every partition key the stores write, so that several
   * applications (or tests) can share one table.
   *
   * @default {"sluice:"}
   */
  keyPrefix?: string;
  /**
   * Creates the table (and enables TTL) on first use when it is missing.
   * For development and tests: in production, create the table ahead
   * (`TABLE_SCHEMA`, `createTable`), since creating one takes a while and
   * needs `dynamodb:CreateTable`.
   *
   * @default {false}
   */
  ensureTableExists?: boolean;
  /**
   * How long one store operation may take before it is abandoned with a
   * `StoreError`, in milliseconds. A positive integer.
   *
   * @default {5_000}
   */
  timeoutMs?: number;
  /**
   * The clock every time the stores write and compare is read from:
   * DynamoDB has no server clock, so processes sharing a table must keep
   * their clocks close (see `marginMs` of the rate-limit stores).
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

export const BACKEND: string = "dynamodb";
const DEFAULT_TIMEOUT_MS = 5_000;
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
]);

/** A DynamoDB error reply, by its type name. */
export class _ServiceError extends Error {
  readonly code: string;
  readonly status: number;
  /** The item a failed condition saw, where the service returns it. */
  readonly item: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    status: number,
    item: Record<string, unknown> | undefined,
  ) {
    super(message === "" ? code : `${code}: ${message}`);
    this.name = "DynamoDBServiceError";
    this.code = code;
    this.status = status;
    this.item = item;
  }
}

/** A write whose condition did not hold. */
export class _ConditionFailed extends Error {
  /** The item as the condition saw it, when the service returned it. */
  readonly item: Record<string, unknown> | undefined;

  constructor(item: Record<string, unknown> | undefined) {
    super("The conditional request failed");
    this.name = "ConditionFailed";
    this.item = item;
  }
}

/** Table set-up shared by the stores of one endpoint or client, per table. */
const ensured = new Map<string, Promise<void>>();
const ensuredByClient = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * What every DynamoDB store shares: option validation, the transport, the
 * table name and key prefix, a deadline per request, lazy table creation,
 * and the translation of every failure into a `StoreError` naming the store
 * and the operation.
 */
export class _Connection {
  readonly component: string;
  readonly table: string;
  readonly keyPrefix: string;
  readonly clock: Clock;
  readonly #transport: _Transport;
  readonly #timeoutMs: number;
  readonly #ensure: boolean;
  readonly #identity: object | string;
  #closed = false;

  constructor(component: string, options: DynamoDBConnectionOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(
        component,
        "options",
        options,
        "an object with `client`, or `region` and `credentials`",
      );
    }
    const {
      client,
      endpoint,
      region,
      credentials,
      tableName = DEFAULT_TABLE_NAME,
      keyPrefix = "sluice:",
      ensureTableExists = false,
      timeoutMs = DEFAULT_TIMEOUT_MS,
      clock = systemClock,
    } = options;
    this.component = component;
    if (typeof tableName !== "string" || !TABLE_NAME.test(tableName)) {
      throw new ConfigError(
        component,
        "tableName",
        tableName,
        "a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.')",
      );
    }
    if (typeof keyPrefix !== "string") {
      throw new ConfigError(component, "keyPrefix", keyPrefix, "a string");
    }
    if (typeof ensureTableExists !== "boolean") {
      throw new ConfigError(
        component,
        "ensureTableExists",
        ensureTableExists,
        "a boolean",
      );
    }
    this.table = tableName;
    this.keyPrefix = keyPrefix;
    this.#ensure = ensureTableExists;
    this.#timeoutMs = positiveInteger(component, "timeoutMs", timeoutMs);
    this.clock = validClock(component, clock);
    if (client !== undefined) {
      if (
        typeof client !== "object" || client === null ||
        typeof (client as { send?: unknown }).send !== "function"
      ) {
        throw new ConfigError(
          component,
          "client",
          client,
          "a DynamoDB client with a send() method (an AWS SDK v3 DynamoDBClient)",
        );
      }
      for (
        const [name, value] of [["endpoint", endpoint], [
          "credentials",
          credentials,
        ]] as const
      ) {
        if (value !== undefined) {
          throw new ConfigError(
            component,
            name,
            value,
            "left out when a `client` is given (the client has its own)",
          );
        }
      }
      this.#transport = new _ClientTransport(client);
      this.#identity = client;
      return;
    }
    if (typeof region !== "string" || !/^[a-z0-9-]+$/.test(region)) {
      throw new ConfigError(
        component,
        "region",
        region,
        'an AWS region such as "us-east-1" (or pass `client`)',
      );
    }
    let url: URL;
    try {
      url = new URL(endpoint ?? `https://dynamodb.${region}.amazonaws.com/`);
    } catch {
      url = new URL("invalid:");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ConfigError(
        component,
        "endpoint",
        endpoint,
        "an http(s) URL of a DynamoDB endpoint",
      );
    }
    if (
      typeof credentials !== "function" &&
      (typeof credentials !== "object" || credentials === null ||
        typeof credentials.accessKeyId !== "string" ||
        credentials.accessKeyId === "" ||
        typeof credentials.secretAccessKey !== "string" ||
        credentials.secretAccessKey === "" ||
        (credentials.sessionToken !== undefined &&
          typeof credentials.sessionToken !== "string"))
    ) {
      throw new ConfigError(
        component,
        "credentials",
        credentials,
        "{ accessKeyId, secretAccessKey, sessionToken? } with non-empty strings, or a function returning them",
      );
    }
    this.#transport = new _FetchTransport(url, region, credentials);
    this.#identity = url.href;
  }

  /** The store's clock, now. */
  now(): number {
    return this.clock.now();
  }

  /** The partition key of a store key of one kind. */
  key(kind: "cache" | "dedupe" | "ratelimit", key: string): string {
    return `${this.keyPrefix}${kind}:${key}`;
  }

  /** Refuses every later operation. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Sends one request about this store's table, within the deadline.
   *
   * @returns The reply's body.
   * @throws {_ConditionFailed} When the request's condition did not hold.
   * @throws {StoreError} For everything else that failed.
   */
  async call(
    operation: string,
    target: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) {
      throw new StoreError(
        `Cannot ${operation} on a closed ${this.component}`,
        BACKEND,
        operation,
      );
    }
    try {
      if (this.#ensure) await this.#ensured();
      return await this.raw(target, { TableName: this.table, ...input });
    } catch (error) {
      if (error instanceof _ServiceError) {
        if (error.code === "ConditionalCheckFailedException") {
          throw new _ConditionFailed(error.item);
        }
      }
      throw this.#storeError(operation, error);
    }
  }

  /**
   * Sends one request within the deadline and returns its body.
   *
   * @throws {_ServiceError} For an error reply.
   * @throws {StoreError} When no reply came in time.
   */
  async raw(
    target: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StoreError(
          `DynamoDB did not answer within ${this.#timeoutMs} ms`,
          BACKEND,
          target,
        );
        reject(error);
        abort.abort(error);
      }, timerDelay(this.#timeoutMs));
    });
    try {
      const reply = await Promise.race([
        this.#transport.send(target, input, abort.signal),
        late,
      ]);
      const body = (typeof reply.body === "object" && reply.body !== null
        ? reply.body
        : {}) as Record<string, unknown>;
      if (reply.status === 200 && reply.body !== undefined) {
        return body;
      }
      const type = typeof body.__type === "string" ? body.__type : "";
      const message = body.message ?? body.Message;
      throw new _ServiceError(
        type === ""
          ? `HTTP ${reply.status}`
          : type.slice(type.indexOf("#") + 1),
        typeof message === "string" ? message : "",
        reply.status,
        typeof body.Item === "object" && body.Item !== null
          ? body.Item as Record<string, unknown>
          : undefined,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Creates the table and enables its TTL, once per endpoint or client. */
  ensureTable(): Promise<CreateTableResult> {
    return _createTable(this);
  }

  #ensured(): Promise<void> {
    let byTable: Map<string, Promise<void>>;
    if (typeof this.#identity === "string") byTable = ensured;
    else {
      byTable = ensuredByClient.get(this.#identity) ?? new Map();
      ensuredByClient.set(this.#identity, byTable);
    }
    const key = typeof this.#identity === "string"
      ? `${this.#identity}\n${this.table}`
      : this.table;
    let ready = byTable.get(key);
    if (ready === undefined) {
      ready = _createTable(this).then(() => {});
      byTable.set(key, ready);
      // A failed set-up is tried again by the next operation.
      ready.catch(() => byTable.delete(key));
    }
    return ready;
  }

  #storeError(operation: string, error: unknown): StoreError {
    if (error instanceof StoreError) {
      return error.operation === operation ? error : new StoreError(
        `Cannot ${operation} on ${this.component}: ${error.message}`,
        BACKEND,
        operation,
        { cause: error },
      );
    }
    return new StoreError(
      `Cannot ${operation} on ${this.component}: ${this.#describe(error)}`,
      BACKEND,
      operation,
      { cause: error },
    );
  }

  #describe(error: unknown): string {
    if (error instanceof _ServiceError) {
      if (THROTTLING.has(error.code)) {
        return `DynamoDB throttled the request (${error.message})`;
      }
      if (error.code === "ResourceNotFoundException") {
        return `the table '${this.table}' does not exist (${error.message}); create it with createTable() or TABLE_SCHEMA, or set ensureTableExists in development`;
      }
      if (
        error.code === "UnrecognizedClientException" ||
        error.code === "InvalidSignatureException" ||
        error.code === "MissingAuthenticationTokenException" ||
        error.code === "AccessDeniedException"
      ) {
        return `DynamoDB rejected the credentials (${error.message})`;
      }
      return `DynamoDB answered ${error.status} ${error.message}`;
    }
    if (error instanceof Error) return error.message || error.name;
    return String(error ?? "unknown error");
  }
}

/** How long `createTable` waits for a new table to become active. */
const ACTIVE_TIMEOUT_MS = 120_000;

async function _createTable(
  connection: _Connection,
): Promise<CreateTableResult> {
  const TableName = connection.table;
  let created = true;
  try {
    await connection.raw("CreateTable", { ...TABLE_SCHEMA, TableName });
  } catch (error) {
    if (
      !(error instanceof _ServiceError) ||
      error.code !== "ResourceInUseException"
    ) {
      throw error;
    }
    created = false;
  }
  const started = Date.now();
  for (;;) {
    const described = await connection.raw("DescribeTable", { TableName });
    const table = described.Table as { TableStatus?: string } | undefined;
    if (table?.TableStatus === "ACTIVE") break;
    if (Date.now() - started > ACTIVE_TIMEOUT_MS) {
      throw new Error(
        `the table '${TableName}' did not become active within ${ACTIVE_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, created ? 50 : 1_000));
  }
  try {
    await connection.raw("UpdateTimeToLive", {
      TableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
    });
  } catch (error) {
    if (!(error instanceof _ServiceError)) throw error;
    if (error.code === "UnknownOperationException") {
      return { created, ttl: "unsupported" };
    }
    // Enabled already (DynamoDB refuses to enable it twice).
    if (error.code !== "ValidationException") throw error;
  }
  return { created, ttl: "enabled" };
}

// The two ways the stores reach DynamoDB, behind one `send`: `fetch` with
// SigV4 signing of its own, or an injected AWS SDK v3 client, through its
// `send` and its middleware stack (credentials, signing, endpoint, HTTP
// handler), without importing the SDK. Either way a request carries
// DynamoDB's JSON wire format, and the reply comes back as its status and
// parsed body: errors are data here, the connection decides what they mean.

import { type DynamoDBCredentials, signRequest } from "./_sigv4.ts";

/** What one DynamoDB request answered. */
export interface _Reply {
  /** The HTTP status. */
  status: number;
  /** The parsed JSON body; `undefined` when it was not JSON. */
  body: unknown;
}

/** One DynamoDB request, as a transport sends it. */
export interface _Transport {
  send(target: string, input: object, signal: AbortSignal): Promise<_Reply>;
}

/**
 * A credentials source: fixed credentials, or a function that returns the
 * current ones (temporary credentials that rotate).
 */
export type DynamoDBCredentialsSource =
  | DynamoDBCredentials
  | (() => DynamoDBCredentials | Promise<DynamoDBCredentials>);

const TARGET_PREFIX = "DynamoDB_20120810.";
const JSON_TYPE = "application/x-amz-json-1.0";

/** DynamoDB over `fetch`, signed with SigV4. */
export class _FetchTransport implements _Transport {
  readonly #url: URL;
  readonly #region: string;
  readonly #credentials: DynamoDBCredentialsSource;

  constructor(
    url: URL,
    region: string,
    credentials: DynamoDBCredentialsSource,
  ) {
    this.#url = url;
    this.#region = region;
    this.#credentials = credentials;
  }

  async send(
    target: string,
    input: object,
    signal: AbortSignal,
  ): Promise<_Reply> {
    const body = JSON.stringify(input);
    const source = this.#credentials;
    const credentials = typeof source === "function" ? await source() : source;
    const headers = await signRequest({
      method: "POST",
      url: this.#url,
      headers: {
        "content-type": JSON_TYPE,
        "x-amz-target": TARGET_PREFIX + target,
      },
      body,
      credentials,
      region: this.#region,
      service: "dynamodb",
      date: new Date(),
    });
    const exchange = async (): Promise<_Reply> => {
      const response = await fetch(this.#url, {
        method: "POST",
        headers,
        body,
        signal,
      });
      return { status: response.status, body: _parse(await response.text()) };
    };
    try {
      return await exchange();
    } catch (error) {
      // Every request is a POST, which Bun's and Node's `fetch` do not send
      // again when a pooled keep-alive connection turns out to have been
      // closed by the server. A read is sent once more; a write may have
      // been applied, so it fails at once.
      if (signal.aborted || !READS.has(target)) throw error;
      return await exchange();
    }
  }
}

/** The operations that change nothing, and so may be sent twice. */
const READS: ReadonlySet<string> = new Set([
  "GetItem",
  "BatchGetItem",
  "Query",
  "Scan",
  "DescribeTable",
  "DescribeTimeToLive",
]);

/**
 * The command an injected client's `send` receives. An AWS SDK v3 client
 * resolves it through its own middleware stack; any other `send` may read
 * `operation` and `input` and answer with the operation's output.
 */
export interface DynamoDBCommandLike {
  /** The DynamoDB operation, for example `"GetItem"`. */
  readonly operation?: string;
  /** The operation's input, in DynamoDB's JSON wire format. */
  readonly input: object;
  /**
   * Called by an AWS SDK v3 client: builds the handler that sends the
   * request through the client's stack.
   */
  resolveMiddleware(stack: unknown, config: unknown, options: unknown): unknown;
}

/**
 * A DynamoDB client as the stores use it: anything with `send`, such as an
 * AWS SDK v3 `DynamoDBClient`.
 */
export interface DynamoDBClientLike {
  /**
   * Sends one command.
   *
   * @param command The command.
   * @param options The request's abort signal.
   * @returns The operation's output.
   */
  send(
    command: DynamoDBCommandLike,
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

const REPLY = Symbol("sluice.dynamodb.reply");

interface _Endpoint {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

/** The parts of an SDK client's resolved configuration the command uses. */
interface _SdkConfig {
  endpoint?: () => Promise<_Endpoint>;
  endpointProvider?: (
    params: Record<string, unknown>,
    context: Record<string, unknown>,
  ) => { url: URL };
  region?: () => Promise<string>;
  useFipsEndpoint?: () => Promise<boolean>;
  useDualstackEndpoint?: () => Promise<boolean>;
  requestHandler: {
    handle(request: unknown, options: unknown): Promise<{ response: unknown }>;
  };
  streamCollector?: (body: unknown) => Promise<Uint8Array>;
  logger?: unknown;
}

type _Next = (args: Record<string, unknown>) => Promise<
  Record<string, unknown>
>;
type _Middleware = (next: _Next, context: Record<string, unknown>) => _Next;

interface _SdkStack {
  clone(): _SdkStack;
  add(middleware: _Middleware, options: Record<string, unknown>): void;
  resolve(
    handler: (args: { request: unknown }) => Promise<unknown>,
    context: Record<string, unknown>,
  ): (command: unknown) => Promise<unknown>;
}

/** DynamoDB through an injected client's `send`. */
export class _ClientTransport implements _Transport {
  readonly #client: DynamoDBClientLike;

  constructor(client: DynamoDBClientLike) {
    this.#client = client;
  }

  async send(
    target: string,
    input: object,
    signal: AbortSignal,
  ): Promise<_Reply> {
    let output: unknown;
    try {
      output = await this.#client.send(_command(target, input), {
        abortSignal: signal,
      });
    } catch (error) {
      // A `send` of another kind throws the service's errors, as the SDK's
      // own commands do.
      const name = (error as { name?: unknown })?.name;
      const status = (error as { $metadata?: { httpStatusCode?: unknown } })
        ?.$metadata?.httpStatusCode;
      if (typeof name === "string" && typeof status === "number") {
        return {
          status,
          body: { __type: name, message: (error as Error).message },
        };
      }
      throw error;
    }
    if (typeof output === "object" && output !== null && REPLY in output) {
      return (output as { [REPLY]: _Reply })[REPLY];
    }
    return { status: 200, body: output };
  }
}

/**
 * A command that an SDK v3 client runs through a copy of its own stack:
 * its credentials, signing, user agent, logging and HTTP handler, with this
 * command's serializer and deserializer for DynamoDB's JSON, and without its
 * retries (the stores never retry, so that the client's fail-open policy
 * decides at once).
 */
function _command(target: string, input: object): DynamoDBCommandLike {
  return {
    operation: target,
    input,
    resolveMiddleware(stack, config, options) {
      const sdk = config as _SdkConfig;
      const own = (stack as _SdkStack).clone();
      // In the retry middleware's place, one that does not retry.
      own.add((next) => next, {
        name: "retryMiddleware",
        tags: ["RETRY"],
        step: "finalizeRequest",
        priority: "high",
        override: true,
      });
      own.add(
        (next, context) => async (args) => {
          context.endpointV2 = { url: await _endpoint(sdk) };
          return next(args);
        },
        { name: "endpointV2Middleware", step: "serialize", override: true },
      );
      own.add(
        (next, context) => (args) => {
          const { url } = context.endpointV2 as { url: URL };
          const request = {
            method: "POST",
            protocol: url.protocol,
            hostname: url.hostname,
            ...(url.port === "" ? {} : { port: Number(url.port) }),
            path: url.pathname,
            query: {},
            headers: {
              "content-type": JSON_TYPE,
              "x-amz-target": TARGET_PREFIX + target,
            },
            body: JSON.stringify(args.input),
          };
          return next({ ...args, request });
        },
        {
          name: "serializerMiddleware",
          step: "serialize",
          tags: ["SERIALIZER"],
          override: true,
        },
      );
      own.add(
        (next) => async (args) => {
          const { response } = await next(args) as {
            response: { statusCode: number; body: unknown };
          };
          const bytes = await _collect(sdk, response.body);
          const reply: _Reply = {
            status: response.statusCode,
            body: _parse(new TextDecoder().decode(bytes)),
          };
          return { response, output: { $metadata: {}, [REPLY]: reply } };
        },
        {
          name: "deserializerMiddleware",
          step: "deserialize",
          tags: ["DESERIALIZER"],
          override: true,
        },
      );
      return own.resolve(
        (args) =>
          sdk.requestHandler.handle(args.request, options ?? {}) as Promise<
            unknown
          >,
        {
          logger: sdk.logger,
          clientName: "DynamoDBClient",
          commandName: `${target}Command`,
          // Values and keys are the stores' own: never logged.
          inputFilterSensitiveLog: () => "[sluice request]",
          outputFilterSensitiveLog: () => "[sluice response]",
          __smithy_context: {
            service: "DynamoDB_20120810",
            operation: target,
            commandInstance: this,
          },
        },
      );
    },
  };
}

/** The client's endpoint: the one it was given, or its region's. */
async function _endpoint(config: _SdkConfig): Promise<URL> {
  const given = await config.endpoint?.();
  if (given !== undefined) {
    const port = given.port === undefined ? "" : `:${given.port}`;
    return new URL(`${given.protocol}//${given.hostname}${port}${given.path}`);
  }
  const region = await config.region?.();
  if (config.endpointProvider !== undefined) {
    return config.endpointProvider({
      Region: region,
      UseFIPS: await config.useFipsEndpoint?.() ?? false,
      UseDualStack: await config.useDualstackEndpoint?.() ?? false,
    }, { logger: config.logger }).url;
  }
  return new URL(`https://dynamodb.${region}.amazonaws.com/`);
}

async function _collect(
  config: _SdkConfig,
  body: unknown,
): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body === undefined || body === null) return new Uint8Array(0);
  if (config.streamCollector !== undefined) {
    return await config.streamCollector(body);
  }
  return new Uint8Array(await new Response(body as BodyInit).arrayBuffer());
}

function _parse(text: string): unknown {
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The error hierarchy of sluice. Every error the library throws on purpose is
 * a {@linkcode SluiceError} with a stable {@linkcode SluiceError.code}.
 *
 * @module
 */

const BRAND: unique symbol = Symbol.for("sluice.error") as never;

/** The stable codes carried by {@linkcode SluiceError.code}. */
export type SluiceErrorCode =
  | "ERR_SLUICE"
  | "ERR_HTTP"
  | "ERR_TIMEOUT"
  | "ERR_RATE_LIMIT"
  | "ERR_VALIDATION"
  | "ERR_STORE"
  | "ERR_CONFIG"
  | "ERR_BODY_TOO_LARGE";

/** Options accepted by every {@linkcode SluiceError} constructor. */
export interface SluiceErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The base class of every error sluice throws on purpose.
 *
 * @example Telling sluice errors apart
 * ```ts
 * import { isSluiceError, SluiceError } from "@sluice/http";
 *
 * const error: unknown = new SluiceError("boom");
 * if (isSluiceError(error)) console.log(error.code); // "ERR_SLUICE"
 * ```
 */
export class SluiceError extends Error {
  /** A stable, machine-readable code for this kind of error. */
  readonly code: SluiceErrorCode;

  /**
   * Creates a new error.
   *
   * @param message What went wrong.
   * @param options The cause of the error.
   * @param code The stable code; subclasses pass their own.
   */
  constructor(
    message: string,
    options: SluiceErrorOptions = {},
    code: SluiceErrorCode = "ERR_SLUICE",
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "SluiceError";
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * Tells whether a value is a {@linkcode SluiceError}, even one created by
 * another copy of the library (another realm, or a second installed version).
 *
 * @param value The value to test.
 * @returns `true` when `value` is an error thrown by sluice.
 *
 * @example Checking a caught value
 * ```ts
 * import { ConfigError, isSluiceError } from "@sluice/http";
 *
 * console.log(isSluiceError(new ConfigError("C", "limit", -1, "a positive integer"))); // true
 * console.log(isSluiceError(new Error("plain"))); // false
 * ```
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Options for {@linkcode HttpError}. */
export interface HttpErrorOptions extends SluiceErrorOptions {
  /** The HTTP status code. */
  status: number;
  /** The HTTP status text. */
  statusText?: string;
  /** The response headers. */
  headers?: Headers;
  /** The first characters of the response body, for diagnostics. */
  bodyPreview?: string;
  /** The request method. */
  method?: string;
  /** The request URL. */
  url?: string;
}

/** Thrown by the client helpers when the origin answers outside 2xx. */
export class HttpError extends SluiceError {
  /** The HTTP status code. */
  readonly status: number;
  /** The HTTP status text. */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
  /** The first characters of the response body (at most 512). */
  readonly bodyPreview: string;
  /** The request method. */
  readonly method: string;
  /**
   * The request URL as the client's `redactUrls` option shows it: with
   * query values replaced by `REDACTED` unless that option is `false`.
   */
  readonly url: string;

  /**
   * Creates a new HTTP error.
   *
   * @param message What went wrong.
   * @param options The response details.
   */
  constructor(message: string, options: HttpErrorOptions) {
    super(message, options, "ERR_HTTP");
    this.name = "HttpError";
    this.status = options.status;
    this.statusText = options.statusText ?? "";
    this.headers = options.headers ?? new Headers();
    this.bodyPreview = (options.bodyPreview ?? "").slice(0, 512);
    this.method = options.method ?? "GET";
    this.url = options.url ?? "";
  }
}

/** Which deadline a {@linkcode TimeoutError} hit. */
export type TimeoutPhase = "attempt" | "total";

/** Thrown when a request runs past its per-attempt or total deadline. */
export class TimeoutError extends SluiceError {
  /** The deadline that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  /** Whether the per-attempt or the total deadline was exceeded. */
  readonly phase: TimeoutPhase;

  /**
   * Creates a new timeout error.
   *
   * @param message What timed out.
   * @param timeoutMs The deadline, in milliseconds.
   * @param phase Which deadline it was.
   * @param options The cause.
   */
  constructor(
    message: string,
    timeoutMs: number,
    phase: TimeoutPhase,
    options: SluiceErrorOptions = {},
  ) {
    super(message, options, "ERR_TIMEOUT");
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
    this.phase = phase;
  }
}

/** Thrown when the rate budget of a resource is spent and waiting is not allowed. */
export class RateLimitError extends SluiceError {
  /** How long until the budget admits another request, in milliseconds. */
  readonly retryAfterMs: number;
  /** The rate-limited resource. */
  readonly resource: string;

  /**
   * Creates a new rate-limit error.
   *
   * @param message What was refused.
   * @param resource The resource whose budget is spent.
   * @param retryAfterMs Milliseconds until the next admission.
   * @param options The cause.
   */
  constructor(
    message: string,
    resource: string,
    retryAfterMs: number,
    options: SluiceErrorOptions = {},
  ) {
    super(message, options, "ERR_RATE_LIMIT");
    this.name = "RateLimitError";
    this.resource = resource;
    this.retryAfterMs = retryAfterMs;
  }
}

/** One problem reported by a Standard Schema validator. */
export interface ValidationIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where in the data it is wrong. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** Thrown when response data fails the caller's schema. */
export class ValidationError extends SluiceError {
  /** The problems the validator reported. */
  readonly issues: readonly ValidationIssue[];

  /**
   * Creates a new validation error.
   *
   * @param message What failed validation.
   * @param issues The validator's issues.
   * @param options The cause.
   */
  constructor(
    message: string,
    issues: readonly ValidationIssue[],
    options: SluiceErrorOptions = {},
  ) {
    super(message, options, "ERR_VALIDATION");
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** Options for {@linkcode BodyTooLargeError}. */
export interface BodyTooLargeErrorOptions extends SluiceErrorOptions {
  /** The limit, in bytes (the client's `maxBodyBytes`). */
  maxBodyBytes: number;
  /** The `Content-Length` the response declared, when it declared one. */
  contentLength?: number;
  /** The HTTP status code. */
  status: number;
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
}

/**
 * Thrown by the client helpers (`get`, `post`, ...) when a response body is
 * larger than the client's `maxBodyBytes`: the body is not read past the
 * limit (not at all when its `Content-Length` says it is too large), never
 * cached, and never shared with callers of the same request.
 * `client.fetch` streams such a body to its caller instead.
 *
 * @example Telling it apart
 * ```ts
 * import { BodyTooLargeError } from "@sluice/http";
 *
 * const error: unknown = new BodyTooLargeError("too large", {
 *   maxBodyBytes: 1_024,
 *   contentLength: 4_096,
 *   status: 200,
 *   method: "GET",
 *   url: "https://api.example/export",
 * });
 * if (error instanceof BodyTooLargeError) console.log(error.maxBodyBytes); // 1024
 * ```
 */
export class BodyTooLargeError extends SluiceError {
  /** The limit, in bytes. */
  readonly maxBodyBytes: number;
  /** The `Content-Length` the response declared, or `undefined`. */
  readonly contentLength: number | undefined;
  /** The HTTP status code of the response. */
  readonly status: number;
  /** The request method. */
  readonly method: string;
  /**
   * The request URL as the client's `redactUrls` option shows it: with
   * query values replaced by `REDACTED` unless that option is `false`.
   */
  readonly url: string;

  /**
   * Creates a new body-too-large error.
   *
   * @param message What was refused.
   * @param options The limit and the response.
   */
  constructor(message: string, options: BodyTooLargeErrorOptions) {
    super(message, options, "ERR_BODY_TOO_LARGE");
    this.name = "BodyTooLargeError";
    this.maxBodyBytes = options.maxBodyBytes;
    this.contentLength = options.contentLength;
    this.status = options.status;
    this.method = options.method;
    this.url = options.url;
  }
}

/** Thrown when a store backend fails: it is down, slow, or answered wrongly. */
export class StoreError extends SluiceError {
  /** The backend that failed, for example `"memory"`, `"libsql"` or `"upstash"`. */
  readonly backend: string;
  /** The store operation that failed, for example `"acquire"`. */
  readonly operation: string;

  /**
   * Creates a new store error.
   *
   * @param message What failed.
   * @param backend The backend name.
   * @param operation The operation name.
   * @param options The underlying error.
   */
  constructor(
    message: string,
    backend: string,
    operation: string,
    options: SluiceErrorOptions = {},
  ) {
    super(message, options, "ERR_STORE");
    this.name = "StoreError";
    this.backend = backend;
    this.operation = operation;
  }
}

/**
 * Thrown at construction when an option is invalid. The message names the
 * component, the option, what was expected and the value received.
 */
export class ConfigError extends SluiceError {
  /** The name of the bad option, for example `"defaultConfig.limit"`. */
  readonly option: string;
  /** The value that was received. */
  readonly value: unknown;

  /**
   * Creates a new configuration error.
   *
   * @param component The thing being created, for example `"MemoryCacheStore"`.
   * @param option The name of the bad option.
   * @param value The value received.
   * @param expected What the option must be, for example `"a positive integer"`.
   */
  constructor(
    component: string,
    option: string,
    value: unknown,
    expected: string,
  ) {
    super(
      `Cannot create ${component} as '${option}' must be ${expected}: received ${
        describeValue(value)
      }`,
      {},
      "ERR_CONFIG",
    );
    this.name = "ConfigError";
    this.option = option;
    this.value = value;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Map) return "a Map";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

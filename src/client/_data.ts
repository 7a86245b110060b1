// Turning bodies into data for the helpers (client.get and friends): JSON by
// content type, text otherwise; Standard Schema validation; and a fast deep
// copy of parsed JSON so each caller of a cached entry owns its data.

import { ValidationError } from "../errors.ts";
import type { StandardSchemaV1 } from "./options.ts";

const decoder = new TextDecoder();
const JSON_TYPE = /^[^;]*[/+]json\s*(?:;|$)/i;

/** Parsed body data, kept per cache entry: JSON values or text. */
export interface ParsedBody {
  /** Whether `value` is parsed JSON (to copy per caller) or a string. */
  json: boolean;
  /** The data. */
  value: unknown;
}

/**
 * Reads a field from `[name, value]` pairs with lower-case names: every line
 * joined by `", "`, or `null` when absent.
 */
export function headerOf(
  headers: readonly (readonly [string, string])[],
  name: string,
): string | null {
  let out: string | null = null;
  for (const [key, value] of headers) {
    if (key === name) out = out === null ? value : `${out}, ${value}`;
  }
  return out;
}

/** Tells whether a content type is JSON (`application/json`, `…+json`). */
export function isJsonType(contentType: string | null): boolean {
  return contentType !== null && JSON_TYPE.test(contentType);
}

/**
 * Parses a body by content type: bytes, or the text a cache entry holds in
 * their place (read as their decoding would be, without a byte-order
 * mark). An empty body is `undefined`. A body labelled JSON that does not
 * parse throws the `SyntaxError`.
 */
export function parseBody(
  body: Uint8Array | string,
  contentType: string | null,
): ParsedBody {
  if (body.length === 0) return { json: false, value: undefined };
  const text = typeof body !== "string"
    ? decoder.decode(body)
    : body.charCodeAt(0) === 0xfeff
    ? body.slice(1)
    : body;
  if (isJsonType(contentType)) return { json: true, value: JSON.parse(text) };
  return { json: false, value: text };
}

/**
 * Copies parsed JSON: plain objects, arrays and primitives only. Faster
 * than `structuredClone` and than parsing the text again. Recursive down to
 * {@linkcode RECURSION_DEPTH} levels (the fastest walk), iterative with its
 * own stack below that, so that no depth of nesting overflows the call
 * stack.
 */
export function copyJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  return _copy(value, 0);
}

/** How deep {@linkcode copyJson} recurses before it walks with its own stack. */
const RECURSION_DEPTH = 64;

// Copies by spreading (native, and for keys as JSON.parse makes them:
// `__proto__` stays an own data property), then replaces nested values.
function _copy(value: object, depth: number): unknown {
  if (depth === RECURSION_DEPTH) return _copyDeep(value);
  if (Array.isArray(value)) {
    const out = value.slice();
    const length = out.length;
    for (let i = 0; i < length; i++) {
      const item = out[i];
      if (typeof item === "object" && item !== null) {
        out[i] = _copy(item, depth + 1);
      }
    }
    return out;
  }
  const out: Record<string, unknown> = { ...value };
  for (const key in out) {
    const item = out[key];
    // An own data property: assigning to it, `__proto__` included, sets it.
    if (typeof item === "object" && item !== null) {
      out[key] = _copy(item, depth + 1);
    }
  }
  return out;
}

function _put(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key === "__proto__") {
    // JSON.parse makes "__proto__" an own data property; keep it one.
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

function _copyDeep(value: object): unknown {
  const root = _shell(value);
  // Pairs of (source, copy) still to fill, flat: source at even indexes.
  const pending: unknown[] = [value, root];
  while (pending.length > 0) {
    const out = pending.pop() as Record<string, unknown> | unknown[];
    const source = pending.pop() as Record<string, unknown> | unknown[];
    if (Array.isArray(source)) {
      const target = out as unknown[];
      const length = source.length;
      for (let i = 0; i < length; i++) {
        const item = source[i];
        if (typeof item !== "object" || item === null) target[i] = item;
        else {
          const copy = _shell(item);
          target[i] = copy;
          pending.push(item, copy);
        }
      }
      continue;
    }
    const target = out as Record<string, unknown>;
    for (const key in source) {
      const item = (source as Record<string, unknown>)[key];
      let copy = item;
      if (typeof item === "object" && item !== null) {
        copy = _shell(item);
        pending.push(item, copy);
      }
      _put(target, key, copy);
    }
  }
  return root;
}

// An empty array of the same length, or an empty plain object.
function _shell(value: object): Record<string, unknown> | unknown[] {
  return Array.isArray(value) ? new Array(value.length) : {};
}

/**
 * Validates data with a Standard Schema.
 *
 * @returns The schema's output.
 * @throws {ValidationError} With the schema's issues.
 */
export async function validate<T>(
  schema: StandardSchemaV1<T>,
  value: unknown,
  what: string,
): Promise<T> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues !== undefined) {
    const issues = result.issues.map((issue) =>
      issue.path === undefined
        ? { message: issue.message }
        : { message: issue.message, path: issue.path }
    );
    const first = issues[0]?.message ?? "invalid data";
    throw new ValidationError(
      `Cannot accept the response of ${what}: ${first}${
        issues.length > 1 ? ` (and ${issues.length - 1} more issues)` : ""
      }`,
      issues,
    );
  }
  return result.value;
}

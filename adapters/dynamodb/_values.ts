// DynamoDB's attribute values, and the requests every backend builds from
// them.
import { fromBase64, toBase64 } from "../../src/stores/codec.ts";
import type { StoreEvent } from "../../src/stores/store_events.ts";

/** An attribute value in DynamoDB's JSON wire format. */
export type _Value =
  | { S: string }
  | { N: string }
  | { B: string }
  | { NULL: true };

/** An item: attribute names to values. */
export type _Item = Record<string, _Value>;

/**
 * Something a DynamoDB store did on its own that the caller may want to
 * know about: an entry too large to store, or a stored value that could not
 * be decoded (and was deleted).
 */
export type DynamoDBStoreEvent = StoreEvent;

export function S(value: string): { S: string } {
  return { S: value };
}

export function N(value: number): { N: string } {
  return { N: String(value) };
}

export function B(bytes: Uint8Array): { B: string } {
  return { B: toBase64(bytes) };
}

/** A string attribute's value, or `undefined`. */
export function str(value: unknown): string | undefined {
  const s = (value as { S?: unknown } | undefined)?.S;
  return typeof s === "string" ? s : undefined;
}

/** A number attribute's value, or `undefined` (also for anything else). */
export function num(value: unknown): number | undefined {
  const n = (value as { N?: unknown } | undefined)?.N;
  if (typeof n !== "string") return undefined;
  const parsed = Number(n);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A binary attribute's bytes, or `undefined` (also for anything else). */
export function bytes(value: unknown): Uint8Array | undefined {
  const b = (value as { B?: unknown } | undefined)?.B;
  if (typeof b !== "string") return undefined;
  try {
    return fromBase64(b);
  } catch {
    return undefined;
  }
}

/** The items of a reply. */
export function items(
  reply: Record<string, unknown>,
): Record<string, unknown>[] {
  return Array.isArray(reply.Items)
    ? reply.Items as Record<string, unknown>[]
    : [];
}

/**
 * The `ttl` attribute (epoch seconds) of an item that may go at `ms`
 * (epoch milliseconds): a second later, rounded up, so that DynamoDB never
 * removes it early. Reads compare the exact time themselves.
 */
export function ttlAt(ms: number): { N: string } {
  return N(Math.ceil(ms / 1_000) + 1);
}

/**
 * The expression attribute names of expressions that spell every attribute
 * `#name`, so that none collides with DynamoDB's reserved words (`ttl`,
 * `at`) and none is declared unused.
 */
export function names(...expressions: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const expression of expressions) {
    for (const [, name] of expression.matchAll(/#([A-Za-z0-9_]+)/g)) {
      out[`#${name}`] = name!;
    }
  }
  return out;
}

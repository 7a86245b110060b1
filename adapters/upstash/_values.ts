import {
  decodePayload,
  encodePayload,
  utf8Length,
} from "../../src/stores/_payload.ts";
import type { StoreEvent } from "../../src/stores/store_events.ts";

/**
 * Something an Upstash store did on its own that the caller may want to
 * know about: an entry too large to store, or a stored value that could not
 * be decoded (and was deleted).
 */
export type UpstashStoreEvent = StoreEvent;

/** Encodes a store value as text for Redis. */
export function _encodeValue(value: unknown): string {
  return encodePayload(value, "text") as string;
}

/**
 * Decodes text written by {@linkcode _encodeValue}.
 *
 * @throws {CodecError} When the stored value is not one this adapter wrote.
 */
export function _decodeValue(stored: unknown): unknown {
  return decodePayload(stored, "text");
}

/** The UTF-8 length of `text`, without encoding it. */
export const _utf8Length: (text: string) => number = utf8Length;

import { CodecError, decodeText, encodeText } from "../../src/stores/codec.ts";

/**
 * Something an Upstash store did on its own that the caller may want to
 * know about: an entry too large to store, or a stored entry that could not
 * be decoded (and was deleted).
 */
export type UpstashStoreEvent =
  | {
    /** A cache entry was not stored because it is larger than the limit. */
    type: "cache.skipped";
    /** The store key of the entry. */
    key: string;
    /** Its encoded size in bytes. */
    bytes: number;
    /** The store's `maxEntrySizeBytes`. */
    limit: number;
  }
  | {
    /** A dedupe result was not shared because it is larger than the limit; waiters get `undefined`. */
    type: "dedupe.skipped";
    /** The store key of the job. */
    key: string;
    /** Its encoded size in bytes. */
    bytes: number;
    /** The store's `maxEntrySizeBytes`. */
    limit: number;
  }
  | {
    /** A stored value could not be decoded; it counted as a miss and was deleted. */
    type: "cache.corrupt" | "dedupe.corrupt";
    /** The store key of the value. */
    key: string;
  };

/** Calls a listener, ignoring anything it throws. */
export function _emit(
  listener: ((event: UpstashStoreEvent) => void) | undefined,
  event: UpstashStoreEvent,
): void {
  if (listener === undefined) return;
  try {
    const result: unknown = listener(event);
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // A listener never breaks a store operation.
  }
}

// Every stored value starts with this marker. Besides versioning the format,
// it makes the stored text invalid JSON, so an `@upstash/redis` client left
// with `automaticDeserialization` on hands it back untouched.
const MARKER = "v1:";

/** Encodes a store value as text for Redis. */
export function _encodeValue(value: unknown): string {
  return MARKER + encodeText(value);
}

/**
 * Decodes text written by {@linkcode _encodeValue}.
 *
 * @throws {CodecError} When the stored value is not one this adapter wrote.
 */
export function _decodeValue(stored: unknown): unknown {
  if (typeof stored !== "string" || !stored.startsWith(MARKER)) {
    throw new CodecError("Cannot decode store value: unknown format");
  }
  return decodeText(stored.slice(MARKER.length));
}

/** The UTF-8 length of `text`, without encoding it. */
export function _utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // a surrogate pair: 4 bytes for 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Whether `text` exceeds `limit` bytes once UTF-8 encoded; returns its size when it does. */
export function _oversize(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  if (text.length > limit) return _utf8Length(text);
  const bytes = _utf8Length(text);
  return bytes > limit ? bytes : undefined;
}

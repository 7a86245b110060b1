// How a value is written into a backend: as bytes (a BLOB, a DynamoDB
// binary attribute) or as text (a Redis string sent over a JSON protocol).
// Both forms are byte-exact for Uint8Array parts, and every failure to read
// one back is a CodecError, so that the policy above can treat it as a miss.
import {
  CodecError,
  decodeBinary,
  decodeText,
  encodeBinary,
  encodeText,
} from "./codec.ts";

/** The form a backend keeps values in. */
export type PayloadEncoding = "binary" | "text";

/** A value in a backend's form. */
export type Payload = Uint8Array | string;

// Every text payload starts with this marker. Besides versioning the format,
// it makes the text invalid JSON, so a Redis client that parses JSON replies
// on its own hands it back untouched.
const TEXT_MARKER = "v1:";

/** Encodes a value in `encoding`. */
export function encodePayload(
  value: unknown,
  encoding: PayloadEncoding,
): Payload {
  return encoding === "binary"
    ? encodeBinary(value)
    : TEXT_MARKER + encodeText(value);
}

/**
 * Decodes what a backend handed back.
 *
 * @throws {CodecError} Whatever is wrong with it: another form, a foreign
 * value, a truncated frame.
 */
export function decodePayload(
  stored: unknown,
  encoding: PayloadEncoding,
): unknown {
  if (encoding === "binary") {
    const bytes = _asBytes(stored);
    if (bytes === undefined) {
      throw new CodecError("Cannot decode store value: not bytes");
    }
    return decodeBinary(bytes);
  }
  if (typeof stored !== "string" || !stored.startsWith(TEXT_MARKER)) {
    throw new CodecError("Cannot decode store value: unknown format");
  }
  return decodeText(stored.slice(TEXT_MARKER.length));
}

/**
 * The size of a payload in bytes (UTF-8 for text) when it exceeds `limit`;
 * `undefined` when it fits. Text is measured without being encoded.
 */
export function oversize(payload: Payload, limit: number): number | undefined {
  if (typeof payload !== "string") {
    return payload.byteLength > limit ? payload.byteLength : undefined;
  }
  if (payload.length * 3 <= limit) return undefined;
  if (payload.length > limit) return utf8Length(payload);
  const bytes = utf8Length(payload);
  return bytes > limit ? bytes : undefined;
}

/** The UTF-8 length of `text`, without encoding it. */
export function utf8Length(text: string): number {
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

/** A BLOB as bytes, whatever view a client hands it back in. */
export function _asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return undefined;
}

/**
 * The expiry of an entry from its TTL in seconds: `null` for never (`0` or
 * `Infinity`), otherwise whole milliseconds of at least 1; `undefined` when
 * the entry is already expired (a negative TTL, NaN, or not a number).
 */
export function ttlToMs(ttlSeconds: unknown): number | null | undefined {
  if (typeof ttlSeconds !== "number" || !(ttlSeconds >= 0)) return undefined;
  if (ttlSeconds === 0 || ttlSeconds === Infinity) return null;
  return Math.max(1, Math.ceil(ttlSeconds * 1000));
}

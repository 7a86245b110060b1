/**
 * Serialisation of store values for persistent backends. Values are JSON
 * data that may hold `Uint8Array`s anywhere; both encodings round-trip them
 * byte-exact.
 *
 * - {@linkcode encodeBinary} / {@linkcode decodeBinary}: a compact binary
 *   frame for BLOB columns. Byte arrays are appended raw after the JSON, so
 *   a large body costs one copy, not a base64 expansion.
 * - {@linkcode encodeText} / {@linkcode decodeText}: a JSON string for
 *   backends that only hold text; byte arrays are base64-encoded.
 *
 * Decoding throws {@linkcode CodecError} on anything it did not write, so a
 * store can treat a corrupt entry as a miss.
 *
 * @module
 */

const BYTES_TAG = "\u0001sluice.bytes";
const ESCAPE_TAG = "\u0001sluice.object";
const MAGIC_0 = 0x53; // "S"
const MAGIC_1 = 0x01; // format version
const HEADER_BYTES = 6;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Thrown when stored bytes or text are not a value this codec wrote. */
export class CodecError extends Error {
  /**
   * Creates a codec error.
   *
   * @param message What is wrong with the input.
   */
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/**
 * Encodes a value into a binary frame: a 6-byte header, the JSON text, then
 * the raw bytes of every `Uint8Array` in the value.
 *
 * @param value JSON data, possibly holding `Uint8Array`s.
 * @returns The encoded frame.
 */
export function encodeBinary(value: unknown): Uint8Array {
  const chunks: Uint8Array[] = [];
  let binaryLength = 0;
  const json = JSON.stringify(
    tag(value, (bytes) => {
      const ref = [binaryLength, bytes.byteLength];
      chunks.push(bytes);
      binaryLength += bytes.byteLength;
      return ref;
    }),
  );
  const jsonBytes = encoder.encode(json ?? "null");
  const out = new Uint8Array(
    HEADER_BYTES + jsonBytes.byteLength + binaryLength,
  );
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  new DataView(out.buffer).setUint32(2, jsonBytes.byteLength);
  out.set(jsonBytes, HEADER_BYTES);
  let offset = HEADER_BYTES + jsonBytes.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Decodes a frame written by {@linkcode encodeBinary}.
 *
 * @param frame The stored bytes.
 * @returns The value, with fresh `Uint8Array` copies.
 * @throws {CodecError} When the frame is truncated, foreign or corrupt.
 */
export function decodeBinary(frame: Uint8Array): unknown {
  if (
    frame.byteLength < HEADER_BYTES || frame[0] !== MAGIC_0 ||
    frame[1] !== MAGIC_1
  ) {
    throw new CodecError("Cannot decode store value: unknown frame header");
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const jsonLength = view.getUint32(2);
  const binaryStart = HEADER_BYTES + jsonLength;
  if (binaryStart > frame.byteLength) {
    throw new CodecError("Cannot decode store value: frame is truncated");
  }
  const json = parseJson(
    decodeUtf8(frame.subarray(HEADER_BYTES, binaryStart)),
  );
  const binaryLength = frame.byteLength - binaryStart;
  return untag(json, (ref) => {
    if (
      !Array.isArray(ref) || ref.length !== 2 || !isOffset(ref[0]) ||
      !isOffset(ref[1]) || ref[0] + ref[1] > binaryLength
    ) {
      throw new CodecError("Cannot decode store value: bad byte reference");
    }
    const start = binaryStart + ref[0];
    return frame.slice(start, start + ref[1]);
  });
}

/**
 * Encodes a value as JSON text, with `Uint8Array`s as base64.
 *
 * @param value JSON data, possibly holding `Uint8Array`s.
 * @returns The JSON text.
 */
export function encodeText(value: unknown): string {
  return JSON.stringify(tag(value, (bytes) => toBase64(bytes))) ?? "null";
}

/**
 * Decodes text written by {@linkcode encodeText}.
 *
 * @param text The stored text.
 * @returns The value.
 * @throws {CodecError} When the text is not valid output of `encodeText`.
 */
export function decodeText(text: string): unknown {
  return untag(parseJson(text), (ref) => {
    if (typeof ref !== "string") {
      throw new CodecError("Cannot decode store value: bad byte string");
    }
    return fromBase64(ref);
  });
}

/**
 * Measures the encoded size of a value without keeping the encoding: the
 * UTF-8 length of its JSON plus the length of its byte arrays.
 *
 * @param value JSON data, possibly holding `Uint8Array`s.
 * @returns An estimate of the stored size in bytes.
 */
export function estimateSize(value: unknown): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") size += item.length * 2 + 2;
    else if (typeof item === "number" || typeof item === "boolean") size += 8;
    else if (item === null || item === undefined) size += 4;
    else if (item instanceof Uint8Array) size += item.byteLength + 16;
    else if (Array.isArray(item)) {
      size += 2;
      for (const element of item) stack.push(element);
    } else if (typeof item === "object") {
      size += 2;
      for (const key in item) {
        size += key.length * 2 + 4;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return size;
}

function tag(value: unknown, onBytes: (bytes: Uint8Array) => unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES_TAG]: onBytes(value) };
  if (Array.isArray(value)) return value.map((item) => tag(item, onBytes));
  if (typeof value === "object" && value !== null) {
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
      return value;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = tag(item, onBytes);
    }
    // An object that happens to use a reserved key is wrapped, so decoding
    // never mistakes user data for a byte reference.
    return BYTES_TAG in out || ESCAPE_TAG in out ? { [ESCAPE_TAG]: out } : out;
  }
  return value;
}

function untag(value: unknown, onRef: (ref: unknown) => Uint8Array): unknown {
  if (Array.isArray(value)) return value.map((item) => untag(item, onRef));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (BYTES_TAG in record) return onRef(record[BYTES_TAG]);
    const source = ESCAPE_TAG in record
      ? record[ESCAPE_TAG] as Record<string, unknown>
      : record;
    if (typeof source !== "object" || source === null) {
      throw new CodecError("Cannot decode store value: bad escaped object");
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      out[key] = untag(source[key], onRef);
    }
    return out;
  }
  return value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CodecError(
      `Cannot decode store value: invalid JSON (${(error as Error).message})`,
    );
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CodecError("Cannot decode store value: invalid UTF-8");
  }
}

function isOffset(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as standard base64 with padding.
 *
 * @param bytes The bytes to encode.
 * @returns The base64 text.
 */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  const parts: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! +
      ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
    if (out.length >= 8192) {
      parts.push(out);
      out = "";
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! +
      ALPHABET[(n >> 6) & 63]! + "=";
  }
  parts.push(out);
  return parts.join("");
}

/**
 * Decodes standard base64 text, with or without padding.
 *
 * @param text The base64 text.
 * @returns The decoded bytes.
 * @throws {CodecError} When the text is not base64.
 */
export function fromBase64(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (text.length - end > 2 || end % 4 === 1) {
    throw new CodecError("Cannot decode store value: invalid base64");
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? LOOKUP[code]! : -1;
    if (v < 0) {
      throw new CodecError("Cannot decode store value: invalid base64");
    }
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

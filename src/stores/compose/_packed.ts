// The packed form of a value: its binary frame (see ../codec.ts), gzip-
// compressed when that is worth it, behind a small header that says which
// and how long the frame is. Compression and encryption both store values
// in this form.

import { CodecError, decodeBinary, encodeBinary } from "../codec.ts";
import { alreadyCompressed } from "./_compressible.ts";
import { gunzip, gzip } from "./_gzip.ts";

const MAGIC_0 = 0x53; // "S"
const MAGIC_1 = 0x5a; // "Z"
const VERSION = 0x01;
const HEADER_BYTES = 8;

/** How a packed value holds its frame. */
const STORED = 0;
const GZIP = 1;

/** Compression is kept only when it saves at least this share of the frame. */
const MIN_SAVING = 0.1;

/** When to compress, and how far to inflate. */
export interface _CompressionPolicy {
  /** Frames shorter than this are not compressed. */
  minBytes: number;
  /** The most bytes a stored frame may inflate to. */
  maxDecompressedBytes: number;
}

/** A value in packed form, and whether its frame was compressed. */
export interface _Packed {
  bytes: Uint8Array;
  compressed: boolean;
}

/**
 * Packs a value: its frame, compressed when `policy` allows and the value
 * is worth it (see {@linkcode compressFrame}).
 *
 * @throws What encoding the value throws (a BigInt, a cycle).
 */
export async function pack(
  value: unknown,
  policy: _CompressionPolicy | undefined,
): Promise<_Packed> {
  const frame = encodeBinary(value);
  const compressed = policy === undefined
    ? undefined
    : await compressFrame(value, frame, policy);
  return compressed === undefined
    ? { bytes: _framed(STORED, frame, frame), compressed: false }
    : { bytes: _framed(GZIP, compressed, frame), compressed: true };
}

/**
 * The gzip of `frame`, the frame of `value`; `undefined` when it is not
 * worth compressing: shorter than `minBytes`, a response whose body is
 * already compressed, or saving less than 10 %.
 */
export async function compressFrame(
  value: unknown,
  frame: Uint8Array,
  policy: _CompressionPolicy,
): Promise<Uint8Array | undefined> {
  if (frame.byteLength < policy.minBytes || alreadyCompressed(value)) {
    return undefined;
  }
  const compressed = await gzip(frame);
  return compressed.byteLength + HEADER_BYTES <=
      frame.byteLength * (1 - MIN_SAVING)
    ? compressed
    : undefined;
}

/** Packs a frame already compressed by {@linkcode compressFrame}. */
export function packCompressed(
  compressed: Uint8Array,
  frame: Uint8Array,
): Uint8Array {
  return _framed(GZIP, compressed, frame);
}

/** Packs a frame as it is. */
export function packStored(frame: Uint8Array): Uint8Array {
  return _framed(STORED, frame, frame);
}

/** Whether `value` starts like a packed value. */
export function isPacked(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength >= 3 &&
    value[0] === MAGIC_0 && value[1] === MAGIC_1 && value[2] === VERSION;
}

/**
 * Unpacks a value.
 *
 * @param bytes The packed value.
 * @param maxDecompressedBytes The most bytes its frame may inflate to.
 * @returns The value, with fresh `Uint8Array`s.
 * @throws {CodecError} When it is not a packed value, is corrupt, or
 * inflates past its declared length or `maxDecompressedBytes`.
 */
export async function unpack(
  bytes: Uint8Array,
  maxDecompressedBytes: number,
): Promise<unknown> {
  if (!isPacked(bytes) || bytes.byteLength < HEADER_BYTES) {
    throw new CodecError("Cannot decode store value: not a packed value");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const method = bytes[3];
  const length = view.getUint32(4);
  const payload = bytes.subarray(HEADER_BYTES);
  if (method === STORED) {
    if (payload.byteLength !== length) {
      throw new CodecError("Cannot decode store value: frame is truncated");
    }
    return decodeBinary(payload);
  }
  if (method !== GZIP) {
    throw new CodecError("Cannot decode store value: unknown compression");
  }
  if (length > maxDecompressedBytes) {
    throw new CodecError(
      `Cannot decode store value: it inflates to ${length} bytes, over the limit of ${maxDecompressedBytes}`,
    );
  }
  const frame = await gunzip(payload, length);
  if (frame === undefined || frame.byteLength !== length) {
    throw new CodecError(
      "Cannot decode store value: it does not inflate to its declared length",
    );
  }
  return decodeBinary(frame);
}

function _framed(
  method: number,
  payload: Uint8Array,
  frame: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out[3] = method;
  new DataView(out.buffer).setUint32(4, frame.byteLength);
  out.set(payload, HEADER_BYTES);
  return out;
}

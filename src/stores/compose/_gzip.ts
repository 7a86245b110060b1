// gzip through the runtime's CompressionStream and DecompressionStream, with
// decompression bounded: a stored value that inflates past its limit stops
// being read at the limit, so a decompression bomb costs a bounded amount of
// memory and time and reads as a miss.

import { CodecError } from "../codec.ts";

/**
 * How much compressed input is handed to the decompressor at once. gzip
 * inflates at most about 1 032 times, and some runtimes inflate a whole
 * input chunk before handing any of it out: a small slice bounds what can
 * pile up past the limit before the reader sees it.
 */
const INPUT_SLICE_BYTES = 8_192;

/**
 * Compresses `bytes` with gzip.
 *
 * @param bytes The bytes to compress.
 * @returns The gzip stream.
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  // Not awaited here: the reader below drains what the writer fills, and a
  // failure surfaces through the reader.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(_ignore);
  writer.close().catch(_ignore);
  const out = await _collect(stream.readable, Infinity);
  return out!;
}

/**
 * Decompresses a gzip stream, reading at most `maxBytes` of output.
 *
 * @param bytes The gzip stream.
 * @param maxBytes The most bytes of output read.
 * @returns The output, or `undefined` when it would exceed `maxBytes` (the
 * rest is never inflated).
 * @throws {CodecError} When `bytes` is not a complete gzip stream.
 */
export async function gunzip(
  bytes: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  let stopped = false;
  const feed = async (): Promise<void> => {
    for (
      let at = 0;
      at < bytes.byteLength && !stopped;
      at += INPUT_SLICE_BYTES
    ) {
      await writer.write(
        bytes.subarray(at, at + INPUT_SLICE_BYTES) as Uint8Array<ArrayBuffer>,
      );
    }
    if (!stopped) await writer.close();
  };
  const feeding = feed().catch(_ignore);
  try {
    return await _collect(stream.readable, maxBytes);
  } catch (error) {
    throw new CodecError(
      `Cannot decode store value: invalid gzip data (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  } finally {
    stopped = true;
    writer.abort().catch(_ignore);
    await feeding;
  }
}

/** Reads a stream whole, or answers `undefined` once it exceeds `maxBytes`. */
async function _collect(
  readable: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(_ignore);
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function _ignore(): void {
  // A failure of the writer side surfaces through the reader.
}

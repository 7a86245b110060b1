// Bounded body reading. A body is buffered up to a limit; past it, the bytes
// already read and the rest of the stream are stitched into one stream, so
// the caller still gets the whole body without the client holding it, or,
// for a caller that wants the data, the call fails.

import { BodyTooLargeError } from "../errors.ts";

const EMPTY = new Uint8Array(0);

/**
 * Whether the runtime's `arrayBuffer()` reads a body in one native step
 * (Deno, Bun), cheaper than a read of each chunk; on Node it reads chunks
 * itself, at a higher cost than a reader's.
 */
const WHOLE_BODIES = _wholeBodies(
  (globalThis as { navigator?: { userAgent?: unknown } }).navigator
    ?.userAgent,
);

/** The `Content-Length` of a response, when it is one number. */
export function contentLength(headers: Headers): number | undefined {
  const field = headers.get("content-length");
  if (field === null || field.trim() === "") return undefined;
  const length = Number(field);
  return Number.isFinite(length) ? length : undefined;
}

/**
 * The error of a body larger than `maxBytes` whose caller wanted its data.
 */
export function bodyTooLarge(
  request: { method: string; shownUrl: string },
  status: number,
  maxBytes: number,
  declaredLength: number | undefined,
): BodyTooLargeError {
  const declared = declaredLength !== undefined && declaredLength > maxBytes;
  return new BodyTooLargeError(
    `${request.method} ${request.shownUrl} answered a body larger than maxBodyBytes (${maxBytes} bytes)${
      declared ? `: Content-Length ${declaredLength}` : ""
    }`,
    {
      maxBodyBytes: maxBytes,
      ...(declaredLength === undefined
        ? {}
        : { contentLength: declaredLength }),
      status,
      method: request.method,
      url: request.shownUrl,
    },
  );
}

/**
 * Reads a body that is to be turned into data, up to `maxBytes`: one that
 * declares a larger `Content-Length` is cancelled unread, one that grows
 * past the limit is cancelled there.
 *
 * @throws {BodyTooLargeError} When the body is larger than `maxBytes`.
 */
export async function readLimited(
  request: { method: string; shownUrl: string },
  response: Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const declared = contentLength(response.headers);
  const body = await readBounded(response.body, maxBytes, declared);
  if (body.complete) return body.bytes;
  await discard(body.stream);
  throw bodyTooLarge(request, response.status, maxBytes, declared);
}

/** A body read in full, or one too large to hold. */
export type BoundedBody =
  | { complete: true; bytes: Uint8Array }
  | { complete: false; stream: ReadableStream<Uint8Array> };

/**
 * Reads `body` up to `maxBytes`.
 *
 * @param body The response body, `null` for none.
 * @param maxBytes The most bytes to buffer.
 * @param declaredLength The `Content-Length`, when known: a larger value
 * skips buffering at once.
 * @param signal Cancels the body and rejects with its reason when it aborts
 * while the body is buffered, whether or not the body's source heeds it.
 */
export async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  declaredLength: number | undefined,
  signal?: AbortSignal,
): Promise<BoundedBody> {
  if (body === null) return { complete: true, bytes: EMPTY };
  if (declaredLength !== undefined && declaredLength > maxBytes) {
    return { complete: false, stream: body };
  }
  const reader = body.getReader();
  // A cancelled read resolves as if the body had ended: the signal is
  // checked after every read, so a truncated body is never taken as whole.
  const onAbort = (): void => {
    reader.cancel(signal!.reason).catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        reader.releaseLock();
        throw error;
      }
      signal?.throwIfAborted();
      if (result.done) break;
      chunks.push(result.value);
      size += result.value.byteLength;
      if (size > maxBytes) {
        return {
          complete: false,
          stream: _stitch(chunks, reader),
        };
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return { complete: true, bytes: concat(chunks, size) };
}

/**
 * Reads the body of a response from the runtime's own `fetch` that declares
 * a `Content-Length` within `maxBytes` and no content coding, in one piece:
 * the runtime delivers exactly the declared bytes, so nothing needs
 * counting on the way. Answers `undefined` (nothing read) for any other
 * response, and on a runtime where a reader is cheaper (Node):
 * {@linkcode readBounded} reads those.
 *
 * @param signal Rejects the read with its reason when it aborts (the
 * runtime's `fetch` then ends the body, its signal being the same).
 */
export function readDeclared(
  response: Response,
  maxBytes: number,
  declaredLength: number | undefined,
  signal: AbortSignal,
): Promise<BoundedBody> | undefined {
  if (
    !WHOLE_BODIES ||
    declaredLength === undefined || !Number.isInteger(declaredLength) ||
    declaredLength < 0 || declaredLength > maxBytes ||
    response.body === null || response.bodyUsed ||
    response.headers.has("content-encoding")
  ) {
    return undefined;
  }
  if (signal.aborted) {
    void discard(response.body);
    return Promise.reject(signal.reason);
  }
  const reading = response.arrayBuffer();
  return new Promise<BoundedBody>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reading.then((buffer) => {
      signal.removeEventListener("abort", onAbort);
      const bytes = new Uint8Array(buffer);
      resolve(
        bytes.byteLength <= maxBytes
          ? { complete: true, bytes }
          : { complete: false, stream: _stitch([bytes], _ended()) },
      );
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/** Joins chunks into one array. */
export function concat(
  chunks: readonly Uint8Array[],
  size: number,
): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.length === 0) return EMPTY;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Drains and discards a body, ignoring failures. */
export async function discard(
  body: ReadableStream<Uint8Array> | null,
): Promise<void> {
  if (body === null) return;
  try {
    await body.cancel();
  } catch {
    // The body is unwanted; a failure to cancel it changes nothing.
  }
}

function _stitch(
  prefix: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < prefix.length) {
        controller.enqueue(prefix[index]!);
        prefix[index++] = EMPTY;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

// A reader with nothing left to read.
function _ended(): ReadableStreamDefaultReader<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  }).getReader();
}

function _wholeBodies(userAgent: unknown): boolean {
  return typeof userAgent === "string" && /^(?:Deno|Bun)\//.test(userAgent);
}

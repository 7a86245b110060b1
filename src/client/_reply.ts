// The data the helpers (`get`, `post`, ...) return: parsed from a cached
// entry, a buffered body or a stream (read up to `maxBodyBytes`), validated
// by a schema when given, or an HttpError for a status that is not 2xx.

import { bodyBytes } from "../cache/entry.ts";
import { HttpError, SluiceError } from "../errors.ts";
import type { Call, Outcome, Raw } from "./_call.ts";
import {
  copyJson,
  headerOf,
  parseBody,
  type ParsedBody,
  validate,
} from "./_data.ts";
import { readLimited } from "./_body.ts";
import type { Engine } from "./_engine.ts";
import type { StandardSchemaV1 } from "./options.ts";

const PREVIEW_BYTES = 2_048;
const decoder = new TextDecoder();

/**
 * The data of an outcome for the data helpers: parsed JSON (a copy of its
 * own for each caller), text, or `undefined` for an empty body, validated
 * by `schema` when given. Synchronous for a cached or buffered body without
 * a schema: the hot path.
 *
 * @throws {HttpError} When the status is not 2xx.
 */
export function dataOf<T>(
  engine: Engine,
  outcome: Outcome,
  call: Call,
  schema: StandardSchemaV1<T> | undefined,
): T | Promise<T> {
  let value: unknown;
  switch (outcome.kind) {
    case "entry": {
      const { entry } = outcome;
      if (entry.status < 200 || entry.status >= 300) {
        return httpError(outcome, call).then((error) => {
          throw error;
        });
      }
      if (outcome.validated !== undefined) {
        return _validated(outcome.validated);
      }
      const parsed = engine.parsed(
        entry,
        () => _parse(entry.body, headerOf(entry.headers, "content-type"), call),
      );
      value = parsed.json ? copyJson(parsed.value) : parsed.value;
      break;
    }
    case "raw": {
      const { raw } = outcome;
      if (raw.status < 200 || raw.status >= 300) {
        return httpError(outcome, call).then((error) => {
          throw error;
        });
      }
      if (outcome.validated !== undefined) {
        return _validated(outcome.validated);
      }
      value = _rawData(raw, call);
      break;
    }
    case "response":
      return _responseData(
        outcome.response,
        call,
        schema,
        engine.maxBodyBytes,
      );
  }
  if (schema !== undefined) {
    return validate(schema, value, `${call.method} ${call.shownUrl}`);
  }
  return value as T;
}

/**
 * The parsed bodies of buffered responses that more than one caller read:
 * the owner of a flight and its joiners share one. `null` marks a response
 * read once.
 */
const shared = new WeakMap<Raw, ParsedBody | null>();

// The data of a buffered response: the first caller parses its own; from
// the second on, each gets a copy of one parse, which stays unread.
function _rawData(raw: Raw, call: Call): unknown {
  const known = shared.get(raw);
  if (known === undefined) {
    shared.set(raw, null);
    return _parse(raw.body, headerOf(raw.headers, "content-type"), call).value;
  }
  let parsed = known;
  if (parsed === null) {
    parsed = _parse(raw.body, headerOf(raw.headers, "content-type"), call);
    shared.set(raw, parsed);
  }
  return parsed.json ? copyJson(parsed.value) : parsed.value;
}

async function _responseData<T>(
  response: Response,
  call: Call,
  schema: StandardSchemaV1<T> | undefined,
  maxBytes: number,
): Promise<T> {
  if (response.status < 200 || response.status >= 300) {
    throw await httpError({
      kind: "response",
      response,
      source: "network",
      attempts: 0,
      ownsTimer: false,
    }, call);
  }
  const body = await readLimited(call, response, maxBytes);
  const { value } = _parse(body, response.headers.get("content-type"), call);
  if (schema !== undefined) {
    return await validate(schema, value, `${call.method} ${call.shownUrl}`);
  }
  return value as T;
}

function _parse(
  body: Uint8Array | string,
  contentType: string | null,
  call: Call,
): { json: boolean; value: unknown } {
  try {
    return parseBody(body, contentType);
  } catch (error) {
    throw _parseError(call, error);
  }
}

function _parseError(call: Call, error: unknown): SluiceError {
  return new SluiceError(
    `Cannot parse the JSON body of ${call.method} ${call.shownUrl}: ${
      (error as Error)?.message ?? String(error)
    }`,
    { cause: error },
  );
}

function _validated<T>(
  validated: { ok: true; value: unknown } | { ok: false; error: unknown },
): T {
  if (validated.ok) return validated.value as T;
  throw validated.error;
}

/** The HttpError of an outcome whose status is not 2xx. */
export async function httpError(
  outcome: Outcome,
  call: Call,
): Promise<HttpError> {
  let status: number;
  let statusText: string;
  let headers: Headers;
  let preview: string;
  switch (outcome.kind) {
    case "entry":
    case "raw": {
      const source = outcome.kind === "entry" ? outcome.entry : outcome.raw;
      status = source.status;
      statusText = source.statusText;
      headers = new Headers(source.headers);
      preview = decoder.decode(
        bodyBytes(source.body).subarray(0, PREVIEW_BYTES),
      );
      break;
    }
    case "response": {
      const { response } = outcome;
      status = response.status;
      statusText = response.statusText;
      headers = response.headers;
      preview = await _readPreview(response);
      break;
    }
  }
  return new HttpError(
    `${call.method} ${call.shownUrl} answered ${status}${
      statusText === "" ? "" : ` ${statusText}`
    }`,
    {
      status,
      statusText,
      headers,
      bodyPreview: preview,
      method: call.method,
      url: call.shownUrl,
    },
  );
}

// Reads the start of a body for an error message, then lets the rest go.
async function _readPreview(response: Response): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < PREVIEW_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A preview is best effort.
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decoder.decode(all.subarray(0, PREVIEW_BYTES));
}

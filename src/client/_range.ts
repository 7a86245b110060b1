// Range requests (RFC 9110 §14) answered from a stored complete response:
// one range of bytes is cut from the stored body as a 206, a range that
// starts past its end is a 416, and whatever the stored response cannot
// answer exactly (several ranges, another unit, a malformed field, an
// If-Range it does not match, a body `fetch` decoded) is left to the
// origin. The parser and the slicing are pure.

import {
  bodyBytes,
  type CachedResponse,
  etagOf,
  lastModifiedOf,
} from "../cache/entry.ts";
import { parseHttpDate } from "../cache/http_date.ts";
import type { Outcome, Raw } from "./_call.ts";
import { headerOf } from "./_data.ts";

/**
 * One byte range (RFC 9110 §14.1.1): from `first` to `last` inclusive (to
 * the end without `last`), or the last `suffix` bytes.
 */
export type ByteRange =
  | { readonly first: number; readonly last: number | undefined }
  | { readonly suffix: number };

/** What a GET's `Range` and `If-Range` ask of a stored response. */
export interface RangeRequest {
  /** The range; `undefined` when the field is not one byte range. */
  readonly range: ByteRange | undefined;
  /** The `If-Range` field, or `null`. */
  readonly ifRange: string | null;
}

/** Where a range falls in a body: `start` to `end`, both inclusive. */
export interface Slice {
  readonly start: number;
  readonly end: number;
}

/** Fields of the stored response that describe the whole body. */
const WHOLE_BODY: ReadonlySet<string> = new Set([
  "age",
  "content-length",
  "content-range",
]);
/** Fields of the stored response a 416 keeps: its validators and date. */
const KEPT_BY_416: ReadonlySet<string> = new Set([
  "date",
  "etag",
  "last-modified",
]);
const RANGE_SPEC = /^(\d*)-(\d*)$/;

/**
 * Parses a `Range` field that asks for one byte range: `bytes=a-b`,
 * `bytes=a-` or `bytes=-n` (the unit in any case; empty list elements
 * ignored). Anything else is `undefined`: another unit, several ranges, or
 * a malformed or invalid range (`last` before `first`).
 */
export function parseRange(value: string): ByteRange | undefined {
  const eq = value.indexOf("=");
  if (eq < 0 || value.slice(0, eq).toLowerCase() !== "bytes") return undefined;
  const specs = value.slice(eq + 1).split(",").map((s) => s.trim()).filter(
    (s) => s !== "",
  );
  if (specs.length !== 1) return undefined;
  const match = RANGE_SPEC.exec(specs[0]!);
  if (match === null) return undefined;
  const first = match[1]!;
  const last = match[2]!;
  if (first === "") return last === "" ? undefined : { suffix: _int(last) };
  if (last !== "" && BigInt(last) < BigInt(first)) return undefined;
  return { first: _int(first), last: last === "" ? undefined : _int(last) };
}

/**
 * Where `range` falls in a body of `length` bytes (RFC 9110 §14.1.2): a
 * last position past the end stops at the end, and a suffix longer than
 * the body takes all of it. `"unsatisfiable"` when the range starts at or
 * past the end, or is an empty suffix; `"whole"` for a suffix of an empty
 * body, which no `Content-Range` can describe.
 */
export function sliceOf(
  range: ByteRange,
  length: number,
): Slice | "unsatisfiable" | "whole" {
  if ("suffix" in range) {
    if (range.suffix === 0) return "unsatisfiable";
    if (length === 0) return "whole";
    return { start: Math.max(0, length - range.suffix), end: length - 1 };
  }
  if (range.first >= length) return "unsatisfiable";
  return {
    start: range.first,
    end: range.last === undefined
      ? length - 1
      : Math.min(range.last, length - 1),
  };
}

/**
 * Whether an `If-Range` field matches a stored response (RFC 9110
 * §13.1.5), by strong comparison: an entity tag equal to the stored
 * `ETag`, neither weak; or a date equal to the stored `Last-Modified`,
 * which is strong only when the stored `Date` is a second or more later
 * (RFC 9110 §8.8.2.2).
 */
export function ifRangeMatches(value: string, entry: CachedResponse): boolean {
  const validator = value.trim();
  if (validator.startsWith('"') || validator.startsWith("W/")) {
    const etag = etagOf(entry);
    return validator.startsWith('"') && etag.startsWith('"') &&
      validator === etag;
  }
  const lastModified = lastModifiedOf(entry);
  if (lastModified === "" || validator !== lastModified) return false;
  const modified = parseHttpDate(lastModified);
  const date = parseHttpDate(headerOf(entry.headers, "date"));
  return modified !== undefined && date !== undefined &&
    date - modified >= 1_000;
}

/**
 * Whether a stored response answers a Range request itself. One that is
 * not a 200 does, as it is: the range does not apply to it. A 200 does
 * for one byte range, without a content coding (the stored body is the
 * decoded one, and the range counts encoded bytes), and when an `If-Range`
 * matches it.
 */
export function answersRange(
  entry: CachedResponse,
  request: RangeRequest,
): boolean {
  if (entry.status !== 200) return true;
  if (request.range === undefined) return false;
  const coding = headerOf(entry.headers, "content-encoding");
  if (coding !== null && coding.trim().toLowerCase() !== "identity") {
    return false;
  }
  return request.ifRange === null || ifRangeMatches(request.ifRange, entry);
}

/**
 * The answer to a Range request from a stored response that answers it
 * ({@linkcode answersRange}): a 206 with the slice, `Content-Range` and its
 * `Content-Length` (the other stored fields kept), or a 416 with the
 * length in `Content-Range`. Any other outcome is returned as it is.
 */
export function rangedOutcome(
  outcome: Outcome,
  request: RangeRequest,
): Outcome {
  if (outcome.kind !== "entry") return outcome;
  const { entry } = outcome;
  if (
    entry.status !== 200 || request.range === undefined ||
    !answersRange(entry, request)
  ) {
    return outcome;
  }
  const body = bodyBytes(entry.body);
  const length = body.byteLength;
  const slice = sliceOf(request.range, length);
  if (slice === "whole") return outcome;
  let raw: Raw;
  if (slice === "unsatisfiable") {
    const headers = entry.headers.filter(([name]) => KEPT_BY_416.has(name));
    headers.push(["content-range", `bytes */${length}`]);
    headers.push(["content-length", "0"]);
    raw = {
      url: entry.url,
      status: 416,
      statusText: "Range Not Satisfiable",
      headers,
      body: new Uint8Array(0),
    };
  } else {
    const { start, end } = slice;
    const headers = entry.headers.filter(([name]) => !WHOLE_BODY.has(name));
    headers.push(["content-range", `bytes ${start}-${end}/${length}`]);
    headers.push(["content-length", String(end - start + 1)]);
    headers.push(["age", String(outcome.ageSeconds)]);
    raw = {
      url: entry.url,
      status: 206,
      statusText: "Partial Content",
      headers,
      body: body.subarray(start, end + 1),
    };
  }
  return {
    kind: "raw",
    raw,
    source: outcome.source,
    attempts: outcome.attempts,
  };
}

// A position: exact up to Number.MAX_SAFE_INTEGER, which no stored body
// reaches, and that beyond.
function _int(digits: string): number {
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

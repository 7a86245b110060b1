// What a flight hands its joiners: in process, the owner's outcome without
// what belongs to the owner alone; across processes, the owner's answer as
// plain data in the dedupe store, checked before it is served.

import {
  isHeaderList,
  isReasonPhrase,
  isVarySelection,
} from "../cache/_fields.ts";
import { bodyBytes } from "../cache/entry.ts";
import type { Call, FlightResult, Outcome, Raw } from "./_call.ts";
import { rangedOutcome } from "./_range.ts";
import { withoutCookies } from "./_response.ts";

/** What a flight shares through a dedupe store. */
export interface Shared {
  sluice: 1;
  raw: Raw | null;
  vary: Record<string, string | null>;
  /** The owner's `requestId`, when it had one (a listener was set). */
  by?: string;
}

/** The longest owner id a joiner reports. */
const MAX_OWNER_ID = 64;

// What a joiner gets of the owner's outcome: no cookie the origin set for
// the owner, and none of its validated data (a joiner parses its own copy).
export function joinedOutcome(
  outcome: Exclude<Outcome, { kind: "response" }>,
): Outcome {
  return outcome.kind === "raw"
    ? {
      ...outcome,
      raw: withoutCookies(outcome.raw),
      source: "dedupe",
      attempts: 0,
      validated: undefined,
    }
    : { ...outcome, source: "dedupe", attempts: 0, validated: undefined };
}

// What a flight shares: the answer of its owner's request, which is that of
// every request with its key (one Range, say, cut from a stored response).
export function sharedResult(result: FlightResult, call: Call): Shared {
  const range = call.state.range;
  const outcome = range === undefined
    ? result.outcome
    : rangedOutcome(result.outcome, range);
  let raw: Raw | null = null;
  if (outcome.kind === "raw") raw = withoutCookies(outcome.raw);
  else if (outcome.kind === "entry") {
    raw = {
      url: outcome.entry.url,
      status: outcome.entry.status,
      statusText: outcome.entry.statusText,
      headers: outcome.entry.headers,
      body: bodyBytes(outcome.entry.body),
    };
  }
  const shared: Shared = { sluice: 1, raw, vary: result.vary };
  if (call.requestId !== "") shared.by = call.requestId;
  return shared;
}

/** The owner id a shared result names, when it names a plausible one. */
export function sharedOwner(shared: Shared): string | undefined {
  const by = shared.by;
  return typeof by === "string" && by !== "" && by.length <= MAX_OWNER_ID
    ? by
    : undefined;
}

// Whether a dedupe store's value is one a flight shared, down to what
// building its `Response` and matching its Vary need.
export function isSharedResult(value: unknown): value is Shared {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.sluice !== 1 || !isVarySelection(v.vary)) return false;
  if (v.raw === null) return true;
  const raw = v.raw as Record<string, unknown> | undefined;
  return typeof raw === "object" && raw !== null &&
    typeof raw.url === "string" && Number.isInteger(raw.status) &&
    (raw.status as number) >= 200 && (raw.status as number) <= 599 &&
    isReasonPhrase(raw.statusText) && isHeaderList(raw.headers) &&
    raw.body instanceof Uint8Array;
}

/**
 * What a rate-limit store learns from the requests it admitted, per
 * resource, so that the origin's own count holds and not just the store's.
 *
 * An origin counts arrivals, and a request arrives some time after its
 * admission: a first request may spend milliseconds connecting while a
 * later one goes out at once over a warm connection, so two admissions
 * exactly `windowMs` apart may arrive closer together than that. Arrival
 * cannot be observed from the client, but it happens before the answer: a
 * request answered (response headers, or an error) at `r` arrived before
 * `r`, and one not yet answered may still arrive.
 *
 * Two rules follow, one exact and one learnt:
 *
 * - **Held slots.** An admission of this process keeps its slot until its
 *   request was answered at least `windowMs` ago. The backend counts an
 *   admission for `windowMs` (plus the margin) after it was made; the
 *   store counts its own slow requests beyond that itself, and admits that
 *   many fewer. Within one process the origin then never sees more than
 *   `limit` arrivals in any window, however late requests leave.
 * - **Learnt margin.** Admissions of other processes are known only to the
 *   backend. Every window is lengthened by the longest time from asking for
 *   an admission to the answer that this process saw recently, capped at
 *   {@linkcode MAX_LEARNT_MARGIN_SHARE} of the window: requests of other
 *   processes on the same network are assumed to leave as late as this
 *   process's own, within that cap.
 *
 * @module
 */

/**
 * The largest share of its window that a learnt margin adds: a burst is
 * then admitted at no less than `limit` per `1.15 × windowMs`.
 */
export const MAX_LEARNT_MARGIN_SHARE = 0.15;

/**
 * Milliseconds added to a learnt delay for the whole-millisecond clocks
 * that stamp both the admission and the answer: each may be up to 1 ms
 * early.
 */
const CLOCK_GRAIN_MS = 2;

/** How many resources are remembered at most; the oldest is forgotten first. */
const MAX_RESOURCES = 10_000;

/** The shortest and the longest period over which the longest delay is kept. */
const MIN_PERIOD_MS = 1_000;
const MAX_PERIOD_MS = 600_000;

/**
 * How long a tracked request never answered keeps its slot at most: ten
 * windows, and at least five minutes (longer than any attempt's timeout).
 */
function pendingLimitMs(windowMs: number): number {
  return Math.max(10 * windowMs, 300_000);
}

/** How long a delay is remembered: ten windows, within the bounds above. */
function periodMs(windowMs: number): number {
  return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, 10 * windowMs));
}

/** The most a learnt margin adds to a window of `windowMs`. */
export function learntMarginCap(windowMs: number): number {
  return Math.floor(windowMs * MAX_LEARNT_MARGIN_SHARE);
}

/** One tracked admission. */
interface _Admission {
  /** When the admission was asked for, in the store's clock. */
  readonly since: number;
  /** When its request was answered; `undefined` while it is not. */
  answered: number | undefined;
}

/** What is known of one resource. */
interface _Resource {
  /** The longest delay of the current period, in ms. */
  longest: number;
  /** The longest delay of the period before. */
  previous: number;
  /** When the current period began. */
  since: number;
  /** Tracked admissions that may still hold a slot, oldest first. */
  admissions: _Admission[];
}

/** Slots held by this process's own late requests. */
export interface HeldSlots {
  /** How many admissions the backend no longer counts but must be. */
  count: number;
  /**
   * Milliseconds until the first of them frees its slot; `windowMs` when
   * none was answered yet (none can free sooner than that after its
   * answer). `0` when `count` is `0`.
   */
  releaseMs: number;
}

const NONE_HELD: Readonly<HeldSlots> = Object.freeze({
  count: 0,
  releaseMs: 0,
});

/** Does nothing: what {@linkcode ArrivalMargins.track} returns when it need not learn. */
function _ignore(): void {}

/**
 * The learnt margins and held slots of every resource of one store, in
 * that store's clock.
 */
export class ArrivalMargins {
  readonly #resources = new Map<string, _Resource>();

  /**
   * The margin to add to `windowMs` for `resource` at `now`: whole
   * milliseconds, `0` until a tracked request on it was answered, and at
   * most {@linkcode learntMarginCap}.
   */
  marginMs(resource: string, windowMs: number, now: number): number {
    const known = this.#resources.get(resource);
    if (known === undefined) return 0;
    const cap = learntMarginCap(windowMs);
    if (cap === 0) return 0;
    _roll(known, windowMs, now);
    const delay = Math.max(known.longest, known.previous);
    return delay === 0 && known.admissions.length === 0
      ? 0
      : Math.min(cap, Math.ceil(delay) + CLOCK_GRAIN_MS);
  }

  /**
   * The admissions of `resource` that a backend counting the last
   * `enforcedMs` at `now` no longer counts, although their requests were
   * answered less than `windowMs` ago or not at all.
   */
  held(
    resource: string,
    windowMs: number,
    enforcedMs: number,
    now: number,
  ): Readonly<HeldSlots> {
    const known = this.#resources.get(resource);
    if (known === undefined || known.admissions.length === 0) return NONE_HELD;
    const admissions = known.admissions;
    const counted = now - enforcedMs;
    const freed = now - windowMs;
    const abandoned = now - pendingLimitMs(windowMs);
    let count = 0;
    let release = Infinity;
    let kept = 0;
    for (let i = 0; i < admissions.length; i++) {
      const admission = admissions[i]!;
      const answered = admission.answered;
      if (answered === undefined && admission.since <= abandoned) continue;
      if (answered !== undefined && answered <= freed) {
        // Answered a window ago: it can no longer share a window with
        // anything sent from now on.
        if (admission.since <= counted) continue;
      } else if (admission.since <= counted) {
        count++;
        if (answered !== undefined) {
          release = Math.min(release, answered - freed);
        }
      }
      admissions[kept++] = admission;
    }
    admissions.length = kept;
    if (count === 0) return NONE_HELD;
    return {
      count,
      releaseMs: release === Infinity ? windowMs : Math.max(1, release),
    };
  }

  /**
   * Starts tracking a request admitted on `resource`, whose admission was
   * asked for at `since`. The returned function, called once the request
   * is answered or has failed (later calls do nothing), frees its slot a
   * window later and learns its delay.
   *
   * @param now Reads the store's clock when the request is answered.
   */
  track(
    resource: string,
    windowMs: number,
    since: number,
    now: () => number,
  ): () => void {
    if (learntMarginCap(windowMs) === 0) return _ignore;
    let known = this.#resources.get(resource);
    if (known === undefined) {
      if (this.#resources.size >= MAX_RESOURCES) {
        const oldest = this.#resources.keys().next().value as string;
        this.#resources.delete(oldest);
      }
      known = { longest: 0, previous: 0, since, admissions: [] };
      this.#resources.set(resource, known);
    }
    const admission: _Admission = { since, answered: undefined };
    known.admissions.push(admission);
    const tracked = known;
    return () => {
      if (admission.answered !== undefined) return;
      const at = now();
      admission.answered = Math.max(at, since);
      _roll(tracked, windowMs, at);
      tracked.longest = Math.max(tracked.longest, at - since);
    };
  }

  /** Forgets every resource. */
  clear(): void {
    this.#resources.clear();
  }
}

/** Starts a new period when the current one is over. */
function _roll(known: _Resource, windowMs: number, now: number): void {
  const period = periodMs(windowMs);
  const elapsed = now - known.since;
  if (elapsed < period && elapsed >= 0) return;
  // A clock that went back starts afresh, as does a long silence.
  known.previous = elapsed >= 0 && elapsed < 2 * period ? known.longest : 0;
  known.longest = 0;
  known.since = now;
}

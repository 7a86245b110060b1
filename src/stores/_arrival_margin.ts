/**
 * The safety margin a rate-limit store learns, per resource, from how long
 * the requests it admitted took to be answered.
 *
 * An origin counts arrivals, and a request arrives some time after its
 * admission: a first request may spend milliseconds connecting while a
 * later one goes out at once over a warm connection. Two admissions exactly
 * `windowMs` apart may then arrive closer together than `windowMs`. A
 * window lengthened by the longest admission-to-arrival delay of the
 * requests still in it cannot be crossed that way.
 *
 * Arrival is not observable from the client, but it happens before the
 * answer: the time from asking for an admission to receiving the response
 * headers (or the error) bounds the delay from above. The margin is the
 * longest such time seen recently, and at least the age of the oldest
 * admitted request still unanswered: a request that has not been answered
 * may not have arrived yet, so its admission must stay in the window. Both
 * are capped at {@linkcode MAX_LEARNT_MARGIN_SHARE} of the window, which
 * keeps at least 87% of the budget usable when the answers are slow.
 *
 * @module
 */

/**
 * The largest share of its window that a learnt margin adds: a burst is
 * then admitted at `limit` per `1.15 × windowMs` at worst.
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

/** How long a delay is remembered: ten windows, within the bounds above. */
function periodMs(windowMs: number): number {
  return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, 10 * windowMs));
}

/** The most a learnt margin adds to a window of `windowMs`. */
export function learntMarginCap(windowMs: number): number {
  return Math.floor(windowMs * MAX_LEARNT_MARGIN_SHARE);
}

/** What is known of one resource's delays. */
interface _Delays {
  /** The longest delay of the current period, in ms. */
  longest: number;
  /** The longest delay of the period before. */
  previous: number;
  /** When the current period began. */
  since: number;
  /** Unanswered admissions: ticket → when the admission was asked for. */
  pending: Map<number, number>;
}

/** Does nothing: what {@linkcode ArrivalMargins.track} returns when it need not learn. */
function _ignore(): void {}

/**
 * The learnt margins of every resource of one store, in that store's clock.
 */
export class ArrivalMargins {
  readonly #delays = new Map<string, _Delays>();
  #tickets = 0;

  /**
   * The margin to add to `windowMs` for `resource` at `now`: whole
   * milliseconds, `0` until a request on it was tracked, and at most
   * {@linkcode learntMarginCap}.
   */
  marginMs(resource: string, windowMs: number, now: number): number {
    const delays = this.#delays.get(resource);
    if (delays === undefined) return 0;
    const cap = learntMarginCap(windowMs);
    if (cap === 0) return 0;
    this.#roll(delays, windowMs, now);
    let delay = Math.max(delays.longest, delays.previous);
    for (const [ticket, since] of delays.pending) {
      const age = now - since;
      if (age > periodMs(windowMs)) {
        // Never answered (or answered without telling): what it could
        // still do to the origin is at most the cap.
        delays.pending.delete(ticket);
        delays.longest = Math.max(delays.longest, cap);
        delay = cap;
        continue;
      }
      // Tickets are in the order of admission: the first is the oldest.
      delay = Math.max(delay, age);
      break;
    }
    return Math.min(cap, Math.ceil(delay) + CLOCK_GRAIN_MS);
  }

  /**
   * Starts tracking a request admitted on `resource`, whose admission was
   * asked for at `since`. The returned function, called once the request
   * is answered or has failed (later calls do nothing), learns its delay.
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
    let delays = this.#delays.get(resource);
    if (delays === undefined) {
      if (this.#delays.size >= MAX_RESOURCES) {
        const oldest = this.#delays.keys().next().value as string;
        this.#delays.delete(oldest);
      }
      delays = { longest: 0, previous: 0, since, pending: new Map() };
      this.#delays.set(resource, delays);
    }
    const ticket = ++this.#tickets;
    delays.pending.set(ticket, since);
    const tracked = delays;
    return () => {
      if (!tracked.pending.delete(ticket)) return;
      const at = now();
      this.#roll(tracked, windowMs, at);
      tracked.longest = Math.max(tracked.longest, at - since);
    };
  }

  /** Forgets what was learnt of `resource`, or of every resource. */
  forget(resource?: string): void {
    if (resource === undefined) this.#delays.clear();
    else this.#delays.delete(resource);
  }

  /** Starts a new period when the current one is over. */
  #roll(delays: _Delays, windowMs: number, now: number): void {
    const period = periodMs(windowMs);
    const elapsed = now - delays.since;
    if (elapsed < period && elapsed >= 0) return;
    // A clock that went back starts afresh, as does a long silence.
    delays.previous = elapsed >= 0 && elapsed < 2 * period
      ? delays.longest
      : 0;
    delays.longest = 0;
    delays.since = now;
  }
}

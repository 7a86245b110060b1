/**
 * The slots a rate-limit store's own requests still hold at the origin.
 *
 * An origin counts arrivals, and a request arrives some time after its
 * admission: a first request may spend milliseconds connecting while a
 * later one leaves at once over a warm connection, so two admissions
 * exactly `windowMs` apart may arrive closer together than that. Arrival
 * cannot be observed from the client, but it happens before the answer (the
 * response headers, or the error): a request answered at `r` arrived before
 * `r`, and one not yet answered may still arrive.
 *
 * So each admission the client tracks keeps its slot until its request was
 * answered at least `windowMs` ago. The backend counts an admission for
 * `windowMs` (plus the store's margin) after the time it recorded it; the
 * store counts its own requests beyond that here, and admits that many
 * fewer. Within one process the origin then never sees more than `limit`
 * arrivals in any window, however late requests leave, and a slow request
 * costs only its own slot.
 *
 * The backend decides a little after the store counted: after a read, a
 * queue, a round trip, and in its own clock. The store notes how far ahead
 * of its own clock backend decisions came (the lag), and counts as held
 * every own admission that may have left the backend's window by twice the
 * longest recent lag (and 5 ms) later, and every one older than the
 * configured window, whatever margin the backend's window adds. An
 * admission counted twice costs a slot for a moment; one missed would let
 * one request too many through.
 *
 * @module
 */

/**
 * Milliseconds added to a window for the whole-millisecond clocks that stamp
 * both the answer and the next admission: each may be up to 1 ms early.
 */
const CLOCK_GRAIN_MS = 2;

/** How many resources are remembered at most; the oldest is forgotten first. */
const MAX_RESOURCES = 10_000;

/**
 * How long a tracked request never answered keeps its slot at most: ten
 * windows, and at least five minutes (longer than any attempt's timeout).
 */
function pendingLimitMs(windowMs: number): number {
  return Math.max(10 * windowMs, 300_000);
}

/**
 * Milliseconds by which a backend may decide later than twice its longest
 * recent lag, on top of the whole-millisecond clocks.
 */
const LAG_SLACK_MS = CLOCK_GRAIN_MS + 3;

/** How long the longest lag is remembered, in ms. */
const LAG_PERIOD_MS = 10_000;

/** One tracked admission. */
interface _Admission {
  /** When the backend recorded it, in the backend's clock. */
  at: number;
  /** When the store asked for it, in its own clock. */
  readonly since: number;
  /** When its request was answered; `undefined` while it is not. */
  answered: number | undefined;
  /** Its place in the order admissions were tracked in. */
  readonly seq: number;
}

/**
 * The tracked admissions of one resource, in the order they were tracked.
 * Those before `head` are gone.
 */
interface _Log {
  readonly list: _Admission[];
  head: number;
  /**
   * Whether every admission was recorded at or after the one tracked
   * before it, as they are while the backend's clock does not step back.
   * A count then stops at the first admission recorded after the time it
   * counts up to: the rest of the log is newer still.
   */
  sorted: boolean;
}

/** Once this many admissions at the head of a log are gone, they are dropped from its list. */
const COMPACT_AT = 1_024;

/**
 * What {@linkcode HeldSlots.track} returns: called once the request is
 * answered or has failed (later calls do nothing).
 */
export interface TrackedAdmission {
  (): void;
  /**
   * Notes that the backend now records the admission at `at` (its clock)
   * or later: it counts it that much longer, and the store need not count
   * it as held until then. Never moves it earlier.
   */
  moved(at: number): void;
}

/** Slots held by a store's own requests beyond what its backend counts. */
export interface Held {
  /** How many admissions the backend no longer counts but must be. */
  count: number;
  /**
   * Milliseconds until the first of them frees its slot; `windowMs` when
   * none was answered yet (none can free sooner than that after its
   * answer). `0` when `count` is `0`.
   */
  releaseMs: number;
  /**
   * The backend time up to which admissions were counted: those recorded
   * at or before it. A backend deciding later than expected may no longer
   * count some recorded after it (see {@linkcode HeldSlots.late}).
   */
  before: number;
  /**
   * How many admissions had been tracked when they were counted: those
   * tracked since were not, whenever the backend recorded them.
   */
  seen: number;
}

const NONE_HELD: Readonly<{ count: number; releaseMs: number }> = Object
  .freeze({ count: 0, releaseMs: 0 });

/** The tracked admissions of every resource of one store, in its clock. */
export class HeldSlots {
  readonly #resources = new Map<string, _Log>();
  /** How many admissions were tracked so far. */
  #tracked = 0;
  /** The longest lag of the current and of the previous period. */
  #lag = 0;
  #previousLag = 0;
  #lagSince = -Infinity;
  /**
   * The shortest time from a backend's decision (its clock) to its answer
   * (the store's clock), in the current and in the previous period.
   */
  #returned = Infinity;
  #previousReturned = Infinity;

  /**
   * Notes a backend decision made at `decidedAt` (the backend's clock) for
   * a call the store began at `askedAt` and had the answer of at
   * `answeredAt` (its own clock).
   */
  observe(askedAt: number, decidedAt: number, answeredAt: number): void {
    if (askedAt - this.#lagSince >= LAG_PERIOD_MS || askedAt < this.#lagSince) {
      this.#previousLag = this.#lag;
      this.#lag = -Infinity;
      this.#previousReturned = this.#returned;
      this.#returned = Infinity;
      this.#lagSince = askedAt;
    }
    const lag = decidedAt - askedAt;
    if (Number.isFinite(lag)) this.#lag = Math.max(this.#lag, lag);
    const returned = answeredAt - decidedAt;
    if (Number.isFinite(returned)) {
      this.#returned = Math.min(this.#returned, returned);
    }
  }

  /**
   * Whether the answer to a decision the backend made at `decidedAt` (its
   * clock) came back at `now` (the store's clock) more than half of
   * `marginMs` later than the shortest recent way back from a decision
   * allows: the process stalled, or the answer waited in a queue. The
   * admission was recorded when the backend decided, and other processes
   * count it for the margin beyond the window only: a request sent this
   * late may reach the origin after they stopped counting it. Time spent
   * before the decision (a queue, a locked database retried) is harmless
   * and not counted. Comparing with the shortest way back cancels the
   * offset between the two clocks.
   */
  stale(decidedAt: number, now: number, marginMs: number): boolean {
    if (!(marginMs > 0)) return false;
    const shortest = Math.min(this.#returned, this.#previousReturned);
    return now - decidedAt - shortest > marginMs / 2;
  }

  /**
   * The admissions of `resource` that a backend counting the last
   * `countedMs` may no longer count when it decides on a call begun at
   * `now` (the store's clock), although their requests were answered less
   * than `windowMs` ago or not at all.
   */
  held(
    resource: string,
    windowMs: number,
    countedMs: number,
    now: number,
  ): Readonly<Held> {
    // The latest the backend is expected to decide, in its clock: twice the
    // longest lag seen lately, for a backend that is slower this time.
    const lag = Math.max(this.#lag, this.#previousLag);
    // An own admission older than the configured window counts here
    // whatever margin the backend adds: the margin is for other processes.
    const ahead = Math.max(
      (Number.isFinite(lag) ? lag + Math.max(lag, 0) : 0) + LAG_SLACK_MS,
      countedMs - windowMs,
    );
    const before = now + ahead - countedMs;
    return {
      ...this.#count(resource, windowMs, before, -Infinity, Infinity, now),
      before,
      seen: this.#tracked,
    };
  }

  /**
   * The admissions of `resource` that a backend counting the last
   * `countedMs` no longer counted when it decided at `decidedAt` (its
   * clock), that {@linkcode HeldSlots.held} did not count either, and whose
   * requests may still share a window with one sent from `now` (the
   * store's clock). `held` missed those recorded after its `before`, and
   * those tracked after it counted (their calls were still under way).
   * When there are any, an admission the backend made at `decidedAt` may
   * be one too many: it decided later than the store expected, or behind
   * calls made before it.
   */
  late(
    resource: string,
    windowMs: number,
    countedMs: number,
    held: Readonly<{ before: number; seen: number }>,
    decidedAt: number,
    now: number,
  ): Readonly<{ count: number; releaseMs: number }> {
    const after = decidedAt - countedMs;
    if (!(after > held.before) && held.seen === this.#tracked) {
      return NONE_HELD;
    }
    return this.#count(resource, windowMs, after, held.before, held.seen, now);
  }

  // Counts the admissions of `resource` recorded at or before `to` and
  // either recorded after `from` or tracked as the `seen`th or later, whose
  // requests may still share a window with one sent from `now`; forgets
  // those that no longer can. In a sorted log only the admissions recorded
  // at or before `to` are visited: the requests of one window, at a high
  // rate, are many, and those that still hold a slot are few.
  #count(
    resource: string,
    windowMs: number,
    to: number,
    from: number,
    seen: number,
    now: number,
  ): Readonly<{ count: number; releaseMs: number }> {
    const log = this.#resources.get(resource);
    if (log === undefined) return NONE_HELD;
    const { list, head } = log;
    let stop = list.length;
    if (log.sorted) {
      stop = head;
      while (stop < list.length && list[stop]!.at <= to) stop++;
    }
    const freed = now - windowMs - CLOCK_GRAIN_MS;
    const abandoned = now - pendingLimitMs(windowMs);
    let count = 0;
    let release = Infinity;
    // Kept admissions move towards `stop`, in their order; the gone ones
    // end up before the new head.
    let kept = stop;
    for (let i = stop - 1; i >= head; i--) {
      const admission = list[i]!;
      const { at, since, answered } = admission;
      // Answered a window ago, or given up on: it can no longer share a
      // window with anything sent from now on.
      if (answered === undefined ? since <= abandoned : answered <= freed) {
        continue;
      }
      if (at <= to && (at > from || admission.seq >= seen)) {
        count++;
        if (answered !== undefined) {
          release = Math.min(release, answered - freed);
        }
      }
      list[--kept] = admission;
    }
    log.head = kept;
    if (kept === list.length) this.#resources.delete(resource);
    else if (kept >= COMPACT_AT && kept * 2 >= list.length) {
      list.splice(0, kept);
      log.head = 0;
    }
    if (count === 0) return NONE_HELD;
    return {
      count,
      releaseMs: release === Infinity ? windowMs : Math.max(1, release),
    };
  }

  /**
   * Starts tracking a request admitted on `resource`, asked for at `since`
   * (the store's clock) and recorded by the backend at `at` (its clock).
   * The returned function, called once the request is answered or has
   * failed (later calls do nothing), frees its slot a window later.
   *
   * @param now Reads the store's clock when the request is answered.
   */
  track(
    resource: string,
    since: number,
    at: number,
    now: () => number,
  ): TrackedAdmission {
    let log = this.#resources.get(resource);
    if (log === undefined) {
      if (this.#resources.size >= MAX_RESOURCES) {
        const oldest = this.#resources.keys().next().value as string;
        this.#resources.delete(oldest);
      }
      log = { list: [], head: 0, sorted: true };
      this.#resources.set(resource, log);
    }
    const admission: _Admission = {
      at: Number.isFinite(at) ? at : since,
      since,
      answered: undefined,
      seq: this.#tracked++,
    };
    const { list } = log;
    if (list.length > log.head && admission.at < list[list.length - 1]!.at) {
      log.sorted = false;
    }
    list.push(admission);
    const done = () => {
      if (admission.answered === undefined) admission.answered = now();
    };
    done.moved = (movedAt: number) => {
      if (!(movedAt > admission.at)) return;
      admission.at = movedAt;
      // Later than the admissions tracked after it, maybe: counts then
      // visit the whole log.
      if (log.list[log.list.length - 1] !== admission) log.sorted = false;
    };
    return done;
  }

  /** Forgets every resource. */
  clear(): void {
    this.#resources.clear();
  }
}

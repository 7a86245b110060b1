/**
 * The backend primitive under every sluice rate-limit store. A backend
 * (memory, libSQL, Upstash, or one of yours) implements {@linkcode RateWindow}
 * once; `WindowRateLimitStore` and `WindowAdaptiveRateLimitStore` build the
 * public stores on it and hold all the policy: budgets, margins, the adaptive
 * split and its cache, waits, reset times, validation.
 *
 * Per resource, a rate window keeps:
 *
 * - the log of admissions within the window, each either `"user"` or
 *   `"background"` (a store without priorities records every admission in
 *   the total only);
 * - the user admissions of the adaptive monitoring window, and the time of
 *   the newest user admission;
 * - a cooldown: an end time that only ever moves later.
 *
 * Each operation is atomic, and should cost one round trip. Every argument
 * that a decision needs (limit, window length with the margin included,
 * background share, pause, retention) comes with the call: a backend holds no
 * configuration, no TTL or split arithmetic, and no waiting logic. Times are
 * the backend's own: a backend with a server clock reads it inside each
 * operation and reports it as `now`; a backend without one (DynamoDB with
 * conditional writes, a file) reads the store's clock and reports that.
 *
 * @module
 */

import type { Priority, RateLimitStoreStats } from "./types.ts";
import type { EnforcedBudgets } from "./window_rate_limit_store.ts";

/**
 * How a backend keeps and counts the user admissions of a resource, for the
 * adaptive split. One store sends the same value with every call. Every age
 * below is measured back from the backend's `now`, and every boundary is
 * exclusive on the old side: an admission at time `t` is younger than `ms`
 * when `t > now - ms`.
 */
export interface RateWindowUsers {
  /**
   * The monitoring window: user admissions younger than this count as
   * `recent`. Keep every user admission at least this long.
   */
  monitoringMs: number;
  /** User admissions younger than this count in `lastThird`. */
  lastThirdMs: number;
  /**
   * User admissions younger than this but not younger than `lastThirdMs`
   * count in `previousThird`.
   */
  previousThirdMs: number;
  /** Remember the time of the newest user admission at least this long. */
  lastUserMs: number;
}

/** User admissions counted against {@linkcode RateWindowUsers}. */
export interface RateWindowUserCounts {
  /** User admissions younger than `monitoringMs`. */
  recent: number;
  /** User admissions younger than `lastThirdMs`. */
  lastThird: number;
  /** User admissions younger than `previousThirdMs`, but not than `lastThirdMs`. */
  previousThird: number;
}

/** What both {@linkcode RateWindow.admit} and {@linkcode RateWindow.status} read. */
export interface RateWindowQuery {
  /**
   * The most admissions of any priority the window holds. `waitMs` is
   * measured against it. A positive integer.
   */
  limit: number;
  /**
   * The window's length in milliseconds, any safety margin included: an
   * admission at `t` is in the window while `t > now - windowMs`. A positive
   * integer.
   */
  windowMs: number;
  /**
   * The most background admissions the window holds; `backgroundWaitMs` is
   * measured against it. `null` for a store without priorities: it needs no
   * background count, and its admissions count in the total only.
   */
  backgroundMax: number | null;
  /**
   * How user activity is kept and counted; `null` for a store without
   * priorities (it records no user activity).
   */
  users: RateWindowUsers | null;
  /**
   * Whether the reply must carry `users` counts. Stores ask for them only
   * when they recompute the adaptive split.
   */
  countUsers: boolean;
}

/** The arguments of {@linkcode RateWindow.admit}. */
export interface RateWindowAdmitRequest extends RateWindowQuery {
  /**
   * The traffic class of the admission. A `"user"` admission needs room in
   * the total only, and is recorded as user activity when `users` is given.
   */
  priority: Priority;
  /**
   * Whether background admissions are refused outright. Ignored when
   * `backgroundMax` is `null`.
   */
  backgroundPaused: boolean;
  /**
   * When not `null`, a background admission is refused if a user admission
   * at or after this time (in the backend's clock) is known. A store sends
   * it while its split says that users are idle, so that users returning
   * through another process end that split at once. Ignored for user
   * admissions and when `backgroundMax` is `null`.
   */
  idleSince: number | null;
  /**
   * The resource whose cooldown holds this admission back: while its
   * cooldown runs, nothing is recorded. `null` checks no cooldown.
   */
  cooldownResource: string | null;
  /**
   * Records the admission whatever the window, the share and the cooldown
   * say (`record()`).
   */
  force: boolean;
  /**
   * Whether a refusal must tell its waits (`waitMs`, `backgroundWaitMs`).
   * `acquire()` needs none, and a backend may then spare itself the reads
   * and report `0`.
   */
  measureWaits: boolean;
}

/** What both {@linkcode RateWindow.admit} and {@linkcode RateWindow.status} report. */
export interface RateWindowTimes {
  /** The backend's current time, at which the operation decided. */
  now: number;
  /**
   * Milliseconds until fewer than `limit` admissions are in the window: the
   * time until the admission that must leave for one more to fit is
   * `windowMs` old. `0` when there is room now, after an admission, and
   * for an admission that did not ask to `measureWaits`.
   */
  waitMs: number;
  /**
   * The same against `backgroundMax` and the background admissions. `0`
   * when there is room, when `backgroundMax` is `0` or `null`, after an
   * admission, and for one that did not ask to `measureWaits`.
   */
  backgroundWaitMs: number;
  /** User activity, when `countUsers` was set and `users` given; else `null`. */
  users: RateWindowUserCounts | null;
  /**
   * The time of the newest user admission, in the backend's clock; `null`
   * when none is known or `users` was not given. An admission may leave it
   * `null` unless `countUsers` was set or `idleSince` given.
   */
  lastUserAt: number | null;
}

/** The reply of {@linkcode RateWindow.admit}. */
export interface RateWindowAdmitReply extends RateWindowTimes {
  /** Whether the admission was recorded. */
  admitted: boolean;
  /**
   * The backend's handle of the recorded admission, which the store hands
   * back to {@linkcode RateWindow.postpone}; absent when nothing was
   * recorded or the backend cannot postpone.
   */
  ref?: unknown;
  /**
   * Milliseconds left of the cooldown of `cooldownResource`; `0` when none
   * runs or none was asked for.
   */
  cooldownMs: number;
}

/** The reply of {@linkcode RateWindow.status}. */
export interface RateWindowStatus extends RateWindowTimes {
  /** Admissions of any priority in the window. */
  total: number;
  /** Background admissions in the window; `0` when `backgroundMax` is `null`. */
  background: number;
  /** The time of the oldest admission in the window; `null` when it is empty. */
  oldestAt: number | null;
}

/**
 * A backend's sliding windows, user activity and cooldowns, one set per
 * resource. Implement it once, in the backend's own statements or scripts,
 * and hand it to `WindowRateLimitStore` or `WindowAdaptiveRateLimitStore`.
 * Run the conformance suites of `@sluice/http/testing` against the result.
 *
 * A backend that decides in the calling step (one in process memory) may
 * return the replies of `admit` and `status` themselves instead of
 * promises, and throw instead of rejecting; the store then answers without
 * an extra turn of the event loop.
 *
 * @example A store over your own backend
 * ```ts ignore
 * import { type RateWindow, WindowRateLimitStore } from "@sluice/http";
 *
 * class MyRateLimitStore extends WindowRateLimitStore {
 *   constructor(window: RateWindow) {
 *     super(window, { defaultConfig: { limit: 10, windowMs: 1_000 } }, "MyRateLimitStore");
 *   }
 * }
 * ```
 */
export interface RateWindow {
  /**
   * `true` when only this process sees the window (one in process memory).
   * A store over a window that other processes share lengthens its windows
   * by a default margin, for the requests of those processes that reach the
   * origin late; over a local one it needs none. Absent means shared.
   */
  readonly local?: boolean;

  /**
   * Atomically, in one step: drops what has left the window; refuses while
   * the cooldown of `cooldownResource` runs; otherwise admits when fewer
   * than `limit` admissions are in the window and, for a background
   * admission with a `backgroundMax`, background is not paused, fewer than
   * `backgroundMax` background admissions are in the window and no user
   * came back since `idleSince`; records an admitted (or forced) admission
   * at `now` (or later, to keep the log ordered); and reports the waits,
   * the cooldown and the user activity as they are afterwards.
   *
   * Concurrent calls, from any number of processes on the same backend,
   * never admit more than the arguments allow.
   *
   * @param resource The rate-limited resource.
   * @param request The budget and share to enforce.
   * @returns Whether it was admitted, and what the store needs to wait or to
   * recompute its split.
   */
  admit(
    resource: string,
    request: RateWindowAdmitRequest,
  ): Promise<RateWindowAdmitReply> | RateWindowAdmitReply;

  /**
   * Reads a resource's window without changing it.
   *
   * @param resource The rate-limited resource.
   * @param query What to count against.
   * @returns The counts, the oldest admission and the waits.
   */
  status(
    resource: string,
    query: RateWindowQuery,
  ): Promise<RateWindowStatus> | RateWindowStatus;

  /**
   * Moves an admission recorded by `admit` (its `ref`) to the backend's
   * current time less `marginMs`, unless it is recorded later already; one
   * gone from the window stays gone. Stores call it when a request was
   * answered so late after its admission that it may have reached the
   * origin after other processes stopped counting it: they then count it
   * until a window after now. Optional; a window only this process sees
   * needs none.
   *
   * @param resource The rate-limited resource.
   * @param ref The `ref` of the admission's reply.
   * @param marginMs The store's margin, a positive integer.
   * @returns `true` when the admission is still recorded (now at least at
   * that time); `false` when it is gone.
   */
  postpone?(
    resource: string,
    ref: unknown,
    marginMs: number,
  ): Promise<boolean>;

  /**
   * Forgets every admission, the user activity and the cooldown of a
   * resource.
   *
   * @param resource The rate-limited resource.
   */
  reset(resource: string): Promise<void>;

  /**
   * Atomically moves the end of a resource's cooldown to `now + durationMs`,
   * unless it already ends later.
   *
   * @param resource The rate-limited resource.
   * @param durationMs A non-negative integer number of milliseconds.
   */
  setCooldown(resource: string, durationMs: number): Promise<void>;

  /**
   * Reads how long a resource's cooldown still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left; `0` when none runs.
   */
  getCooldown(resource: string): Promise<number>;

  /**
   * Counts what the backend holds across resources.
   *
   * @param budgets The budgets the store enforces, to tell which resources
   * have spent theirs.
   * @param users With an adaptive store, how long user admissions count as
   * recent; `null` otherwise.
   * @returns The counts, and with `users` the recent user admissions.
   */
  stats(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<RateWindowStats>;

  /**
   * Removes, for every resource, admissions older than the longest window
   * (with `users`, user admissions past the monitoring window and activity
   * past the inactivity threshold) and cooldowns that ended.
   *
   * @param budgets The budgets the store enforces.
   * @param users With an adaptive store, how long user activity matters;
   * `null` otherwise.
   * @returns How many records were removed; `0` where the backend expires
   * them itself.
   */
  cleanup(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<number>;

  /** Releases the backend's resources. Later calls reject. Safe to call twice. */
  close(): Promise<void>;
}

/** How long an adaptive store keeps user activity, for stats and clean-up. */
export interface RateWindowRetention {
  /** User admissions within this many milliseconds count as recent. */
  monitoringMs: number;
  /** The last user admission matters for this many milliseconds. */
  lastUserMs: number;
}

/** What {@linkcode RateWindow.stats} reports. */
export interface RateWindowStats extends RateLimitStoreStats {
  /** With a retention: user admissions within `monitoringMs`, and over how many resources. */
  recentUsers?: { n: number; resources: number };
}

/**
 * The adaptive rate-limit policy, written once over a
 * {@linkcode RateWindow}: the split between user and background traffic,
 * its cache, the idle guard, and the adaptive waits and reset times.
 * `MemoryAdaptiveRateLimitStore`, `LibsqlAdaptiveRateLimitStore` and
 * `UpstashAdaptiveRateLimitStore` are this class over their backends.
 *
 * @module
 */

import {
  activityCutoffs,
  type AdaptiveConfig,
  adaptiveRemaining,
  adaptiveResetAt,
  adaptiveWaitMs,
  type AdaptiveWindowState,
  admitsPriority,
  computeAdaptiveSplit,
  validateAdaptiveConfig,
} from "../rate_limit/adaptive_policy.ts";
import { type CachedSplit, SplitCache } from "./_split_cache.ts";
import {
  isPromiseLike,
  localDate,
  type Maybe,
  millis,
  settle,
} from "./_window_values.ts";
import type {
  RateWindow,
  RateWindowAdmitReply,
  RateWindowRetention,
  RateWindowStatus,
  RateWindowTimes,
  RateWindowUsers,
} from "./rate_window.ts";
import type {
  AdaptiveRateLimitStatus,
  AdaptiveRateLimitStore,
  AdaptiveRateLimitStoreStats,
  Admission,
  AdmitOptions,
  Priority,
  RateLimitConfig,
} from "./types.ts";
import {
  WindowRateLimitStore,
  type WindowRateLimitStoreOptions,
} from "./window_rate_limit_store.ts";

/** Options for {@linkcode WindowAdaptiveRateLimitStore}. */
export interface WindowAdaptiveRateLimitStoreOptions
  extends WindowRateLimitStoreOptions {
  /**
   * How the split between user and background traffic follows user
   * activity. Omitted fields take their defaults. Give every process that
   * shares a resource the same settings.
   *
   * @default {DEFAULT_ADAPTIVE_CONFIG}
   */
  adaptiveConfig?: Partial<AdaptiveConfig>;
}

/** A resource's window as read, and the split in force. */
interface _Read {
  state: RateWindowStatus;
  entry: CachedSplit | undefined;
  budget: Readonly<RateLimitConfig>;
}

/**
 * An {@linkcode AdaptiveRateLimitStore} over any {@linkcode RateWindow}: the
 * exact window of `WindowRateLimitStore`, its budget split between `"user"`
 * and `"background"` traffic from the user activity the backend shares.
 *
 * - A user request is admitted whenever the total budget has room. A
 *   background request also needs background to be unpaused and under
 *   `backgroundMax` within the window; the backend checks both atomically.
 * - The split comes from the shared adaptive policy, computed from activity
 *   the backend reports, at most every `recalculationIntervalMs` per
 *   resource and store (by the store's clock). Splits of at most 10 000
 *   resources are kept; the least recently computed goes first.
 * - A user admission, or a background one when no split is current, costs
 *   one backend operation: its reply brings the activity back. A background
 *   request whose split is due costs one more, to read the activity first.
 * - Under an idle split, background is admitted only while no user came back
 *   since the split was computed, in any process: the first background
 *   request after a user's return, in any process, recomputes the split and
 *   is decided by the new one.
 *
 * A call without a priority counts as `"background"`.
 *
 * @example A store over a backend of your own
 * ```ts ignore
 * import { type RateWindow, WindowAdaptiveRateLimitStore } from "@sluice/http";
 *
 * declare const window: RateWindow;
 * const store = new WindowAdaptiveRateLimitStore(window, {
 *   defaultConfig: { limit: 100, windowMs: 60_000 },
 * });
 * await store.acquire("search", "user");
 * console.log((await store.getStatus("search")).reason);
 * ```
 */
export class WindowAdaptiveRateLimitStore extends WindowRateLimitStore
  implements AdaptiveRateLimitStore {
  readonly #window: RateWindow;
  readonly #adaptive: Readonly<AdaptiveConfig>;
  readonly #users: Readonly<RateWindowUsers>;
  readonly #splits: SplitCache = new SplitCache();

  /**
   * Creates a store over a backend.
   *
   * @param window The backend primitive.
   * @param options Budgets, margin, adaptive settings and clock.
   * @param component The name errors give the store, for example
   * `"MyAdaptiveRateLimitStore"`.
   * @throws {ConfigError} When `window` is not a {@linkcode RateWindow}, or
   * a budget, `marginMs`, an adaptive setting or `clock` is invalid.
   */
  constructor(
    window: RateWindow,
    options: WindowAdaptiveRateLimitStoreOptions = {},
    component: string = "WindowAdaptiveRateLimitStore",
  ) {
    super(window, options, component);
    this.#window = window;
    this.#adaptive = validateAdaptiveConfig(component, options.adaptiveConfig);
    const cutoffs = activityCutoffs(0, this.#adaptive);
    this.#users = Object.freeze({
      monitoringMs: -cutoffs.monitoringSince,
      lastThirdMs: -cutoffs.lastThirdSince,
      previousThirdMs: -cutoffs.previousThirdSince,
      lastUserMs: this.#adaptive.sustainedInactivityThresholdMs,
    });
  }

  /** The adaptive settings in force, defaults filled in. */
  get adaptiveConfig(): Readonly<AdaptiveConfig> {
    return this.#adaptive;
  }

  /**
   * Counts admissions, spent budgets, running cooldowns and recent user
   * activity across resources.
   *
   * @returns The counts.
   * @throws {StoreError} When the backend fails.
   */
  override async getStats(): Promise<AdaptiveRateLimitStoreStats> {
    const { recentUsers, ...stats } = await this.#window.stats(
      this.enforcedBudgets(),
      this.#retention(),
    );
    return {
      ...stats,
      adaptiveMetrics: {
        recentUserRequests: recentUsers?.n ?? 0,
        resourcesWithRecentUsers: recentUsers?.resources ?? 0,
      },
    };
  }

  /**
   * Removes admissions older than the longest window, user activity too old
   * to matter, and cooldowns that ended, for every resource.
   *
   * @returns How many records were removed (`0` where the backend expires
   * them itself).
   * @throws {StoreError} When the backend fails.
   */
  override async cleanup(): Promise<number> {
    return await this.#window.cleanup(
      this.enforcedBudgets(),
      this.#retention(),
    );
  }

  #retention(): RateWindowRetention {
    return {
      monitoringMs: this.#adaptive.monitoringWindowMs,
      lastUserMs: this.#adaptive.sustainedInactivityThresholdMs,
    };
  }

  /**
   * Admits a request of `priority` unless a cooldown runs or the budget and
   * the split refuse it.
   *
   * @param resource The rate-limited resource.
   * @param options The priority (`"background"` by default) and the
   * cooldown resource (the resource itself by default).
   * @returns Whether it was admitted; otherwise what
   * {@linkcode WindowAdaptiveRateLimitStore.getWaitTime} tells for the same
   * priority, or the cooldown left.
   * @throws {StoreError} When the backend fails.
   */
  override admit(
    resource: string,
    options: AdmitOptions = {},
  ): Promise<Admission> {
    const priority = _priority(options.priority);
    const askedAt = this.now();
    return settle(
      () =>
        this.#admit(
          resource,
          priority,
          options.cooldownResource ?? resource,
          false,
        ),
      (reply): Admission =>
        this.tracked(
          resource,
          askedAt,
          reply.now,
          options.track === true,
          reply.admitted === true
            ? { admitted: true, waitMs: 0, cooldownMs: 0 }
            : this.#refusal(resource, priority, reply),
          reply.ref,
        ),
    );
  }

  /**
   * Admits a request of `priority` if the budget and the split allow it,
   * recording it.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `true` when admitted.
   * @throws {StoreError} When the backend fails.
   */
  override acquire(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    try {
      const level = _priority(priority);
      const budget = this.budget(resource);
      const entry = this.#current(resource, budget.limit);
      const fixed = entry?.requests[level];
      let reply: Maybe<RateWindowAdmitReply>;
      if (fixed === undefined) {
        reply = this.#admit(resource, level, null, false);
      } else {
        // The common case, spelled out: the request of a current split.
        const answer = this.#window.admit(resource, fixed);
        reply = !isPromiseLike(answer) && !_returned(fixed.idleSince, answer)
          ? answer
          : this.#sent(
            resource,
            level,
            null,
            false,
            budget,
            entry,
            true,
            fixed.idleSince,
            answer,
          );
      }
      return isPromiseLike(reply)
        ? Promise.resolve(reply).then(_admitted)
        : Promise.resolve(reply.admitted === true);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Tells whether a request of `priority` would be admitted now, without
   * recording it.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When the backend fails.
   */
  override async canProceed(
    resource: string,
    priority: Priority = "background",
  ): Promise<boolean> {
    const level = _priority(priority);
    const read = await this.#read(resource, level === "background", false);
    return admitsPriority(level, this.#state(read));
  }

  /**
   * Records an admission of `priority` unconditionally.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @throws {StoreError} When the backend fails.
   */
  override record(
    resource: string,
    priority: Priority = "background",
  ): Promise<void> {
    return settle(
      () => this.#admit(resource, _priority(priority), null, true),
      _nothing,
    );
  }

  /**
   * Reads the budget and the current split.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class whose `remaining` is reported.
   * @throws {StoreError} When the backend fails.
   */
  override async getStatus(
    resource: string,
    priority: Priority = "background",
  ): Promise<AdaptiveRateLimitStatus> {
    const level = _priority(priority);
    const started = this.now();
    const read = await this.#read(resource, true, true);
    const state = this.#state(read);
    const split = read.entry!.split;
    return {
      remaining: adaptiveRemaining(level, state),
      resetTime: localDate(
        adaptiveResetAt(level, state),
        read.state.now,
        started,
      ),
      limit: state.limit,
      userReserved: split.userReserved,
      backgroundMax: split.backgroundMax,
      backgroundPaused: split.backgroundPaused,
      recentUserActivity: read.state.users?.recent ?? split.recentUserActivity,
      reason: split.reason,
    };
  }

  /**
   * Forgets the admissions, the user activity and the cooldown of a
   * resource, for every process on the backend.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the backend fails.
   */
  override async reset(resource: string): Promise<void> {
    this.#splits.delete(resource);
    await super.reset(resource);
  }

  /**
   * Tells how long until a request of `priority` may be admitted.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `0` when admitted now. Otherwise the milliseconds until enough
   * admissions leave the window (`windowMs + marginMs`); while background
   * is paused or has no share, the time until this store next recomputes
   * the split.
   * @throws {StoreError} When the backend fails.
   */
  override async getWaitTime(
    resource: string,
    priority: Priority = "background",
  ): Promise<number> {
    const level = _priority(priority);
    // A user's wait reads no split, so it leaves the split's schedule alone.
    const read = await this.#read(resource, level === "background", false);
    return this.#wait(level, read.state, read.entry);
  }

  /**
   * Sets the budget of one resource in this process. The split is
   * recomputed for the new limit at the next call.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  override setResourceConfig(resource: string, config: RateLimitConfig): void {
    super.setResourceConfig(resource, config);
    this.#splits.delete(resource);
  }

  /** Releases the backend and forgets every split. Safe to call twice. */
  override close(): Promise<void> {
    this.#splits.clear();
    return super.close();
  }

  /**
   * The answer to a refused `admit()`: the wait of the split it was decided
   * under, even if that is due for recomputation by now, or sooner when one
   * of this process's held slots frees first.
   */
  #refusal(
    resource: string,
    priority: Priority,
    reply: RateWindowAdmitReply,
  ): Admission {
    const waitMs = this.#wait(priority, reply, this.#splits.get(resource));
    const held = this.held(resource, this.budget(resource), this.now());
    return {
      admitted: false,
      waitMs: held.count > 0 ? Math.min(waitMs, held.releaseMs) : waitMs,
      cooldownMs: millis(reply.cooldownMs),
    };
  }

  /**
   * Admits (or records) through the backend with the split in force, and
   * keeps the split current from the reply. A background admission without
   * a current split reads the activity first.
   */
  #admit(
    resource: string,
    priority: Priority,
    cooldownResource: string | null,
    force: boolean,
  ): Maybe<RateWindowAdmitReply> {
    const budget = this.budget(resource);
    const entry = this.#current(resource, budget.limit);
    if (entry === undefined && priority === "background" && !force) {
      return this.#read(resource, true, false, true).then((read) =>
        this.#admitWith(
          resource,
          priority,
          cooldownResource,
          force,
          budget,
          read.entry,
          true,
        )
      );
    }
    return this.#admitWith(
      resource,
      priority,
      cooldownResource,
      force,
      budget,
      entry,
      true,
    );
  }

  /**
   * One admission through the backend under the split `entry`. A background
   * admission refused because users came back under an idle split is tried
   * once more (`retry`), under the split recomputed from that reply.
   */
  #admitWith(
    resource: string,
    priority: Priority,
    cooldownResource: string | null,
    force: boolean,
    budget: Readonly<RateLimitConfig>,
    entry: CachedSplit | undefined,
    retry: boolean,
  ): Maybe<RateWindowAdmitReply> {
    const idleSince = entry?.split.regime === "idle" ? entry.at : null;
    // admit() (the one call that names a cooldown) leaves out the slots
    // this process's own requests still hold, counted now, just before the
    // backend is asked: a read or a retry before it takes time.
    let limit = budget.limit;
    let held:
      | Readonly<
        { count: number; releaseMs: number; before: number; seen: number }
      >
      | undefined;
    if (cooldownResource !== null && !force) {
      const now = this.now();
      held = this.held(resource, budget, now);
      if (held.count >= limit) {
        return {
          admitted: false,
          now,
          waitMs: held.releaseMs,
          backgroundWaitMs: 0,
          cooldownMs: 0,
          users: null,
          lastUserAt: null,
        };
      }
      limit -= held.count;
    }
    // Plain acquisitions under a current split send the same request every
    // time: it is built once, with the split.
    const plain = entry !== undefined && cooldownResource === null && !force;
    let request = plain ? entry.requests[priority] : undefined;
    if (request === undefined) {
      request = {
        limit,
        windowMs: budget.windowMs,
        backgroundMax: entry?.split.backgroundMax ?? budget.limit,
        users: this.#users,
        // A user admitted under an idle split ends it: its reply brings the
        // activity for the next one.
        countUsers: entry === undefined ||
          (idleSince !== null && priority === "user"),
        priority,
        backgroundPaused: entry?.split.backgroundPaused ?? false,
        idleSince,
        cooldownResource,
        force,
        // Only admit() tells a wait; it is the one that names a cooldown.
        measureWaits: cooldownResource !== null,
      };
      if (plain) entry.requests[priority] = Object.freeze(request);
    }
    return this.#sent(
      resource,
      priority,
      cooldownResource,
      force,
      budget,
      entry,
      retry,
      idleSince,
      held === undefined
        ? this.#window.admit(resource, request)
        : this.#checked(
          resource,
          budget,
          held,
          this.#window.admit(resource, request),
        ),
    );
  }

  /**
   * Turns an admission into a refusal when own admissions that neither
   * the backend nor the held slots counted may still reach the origin
   * (see `late()`), or when its answer came back too late for other
   * processes to count it until its request arrives (see `stale()`). The
   * admission stays recorded, unused.
   */
  #checked(
    resource: string,
    budget: Readonly<RateLimitConfig>,
    held: Readonly<{ before: number; seen: number }>,
    answer: Maybe<RateWindowAdmitReply>,
  ): Maybe<RateWindowAdmitReply> {
    const check = (reply: RateWindowAdmitReply): RateWindowAdmitReply => {
      if (reply.admitted !== true) return reply;
      const late = this.late(resource, budget, held, reply.now);
      const waitMs = late.count > 0
        ? late.releaseMs
        : this.stale(resource, budget, reply.now)
        ? 1
        : 0;
      if (waitMs === 0) return reply;
      return {
        ...reply,
        admitted: false,
        waitMs,
        backgroundWaitMs: waitMs,
        cooldownMs: 0,
      };
    };
    return isPromiseLike(answer)
      ? Promise.resolve(answer).then(check)
      : check(answer);
  }

  /** Goes on with the backend's answer to an admission, now or once it settles. */
  #sent(
    resource: string,
    priority: Priority,
    cooldownResource: string | null,
    force: boolean,
    budget: Readonly<RateLimitConfig>,
    entry: CachedSplit | undefined,
    retry: boolean,
    idleSince: number | null,
    answer: Maybe<RateWindowAdmitReply>,
  ): Maybe<RateWindowAdmitReply> {
    if (!isPromiseLike(answer)) {
      return this.#decide(
        resource,
        priority,
        cooldownResource,
        force,
        budget,
        entry,
        retry,
        idleSince,
        answer,
      );
    }
    return Promise.resolve(answer).then((reply) =>
      this.#decide(
        resource,
        priority,
        cooldownResource,
        force,
        budget,
        entry,
        retry,
        idleSince,
        reply,
      )
    );
  }

  /** Keeps the split current from an admission's reply; retries once when users came back. */
  #decide(
    resource: string,
    priority: Priority,
    cooldownResource: string | null,
    force: boolean,
    budget: Readonly<RateLimitConfig>,
    entry: CachedSplit | undefined,
    retry: boolean,
    idleSince: number | null,
    reply: RateWindowAdmitReply,
  ): Maybe<RateWindowAdmitReply> {
    const returned = _returned(idleSince, reply);
    if (entry !== undefined && !returned) return reply;
    if (reply.users === null) {
      // Users came back, but the reply did not count them: the split is
      // recomputed from a read before the next admission.
      this.#splits.delete(resource);
    } else {
      entry = this.#remember(resource, budget.limit, reply);
    }
    if (
      returned && retry && reply.admitted !== true &&
      priority === "background" && millis(reply.cooldownMs) === 0
    ) {
      return reply.users === null
        ? this.#read(resource, true, false, true).then((read) =>
          this.#admitWith(
            resource,
            priority,
            cooldownResource,
            force,
            budget,
            read.entry,
            false,
          )
        )
        : this.#admitWith(
          resource,
          priority,
          cooldownResource,
          force,
          budget,
          entry,
          false,
        );
    }
    return reply;
  }

  /**
   * Reads the window of a resource and, when `withSplit`, the split in
   * force: the cached one, or one recomputed from the activity read (then a
   * second read when the new split changes the background share, unless
   * only the split is wanted).
   */
  async #read(
    resource: string,
    withSplit: boolean,
    countUsers: boolean,
    forSplitOnly = false,
  ): Promise<_Read> {
    const budget = this.budget(resource);
    let entry = this.#current(resource, budget.limit);
    const idleSince = entry?.split.regime === "idle" ? entry.at : null;
    const query = {
      limit: budget.limit,
      windowMs: budget.windowMs,
      backgroundMax: entry?.split.backgroundMax ?? budget.limit,
      users: this.#users,
      countUsers: countUsers ||
        (withSplit && (entry === undefined || idleSince !== null)),
    };
    let state = await this.#window.status(resource, query);
    if (withSplit && (entry === undefined || _returned(idleSince, state))) {
      entry = this.#remember(resource, budget.limit, state);
      if (!forSplitOnly && entry.split.backgroundMax !== query.backgroundMax) {
        state = await this.#window.status(resource, {
          ...query,
          backgroundMax: entry.split.backgroundMax,
        });
      }
    }
    return { state, entry, budget };
  }

  /** The cached split of a resource while it is current for `limit`. */
  #current(resource: string, limit: number): CachedSplit | undefined {
    const entry = this.#splits.get(resource);
    if (entry === undefined || entry.limit !== limit) return undefined;
    const age = this.now() - entry.computedAt;
    return age >= 0 && age < this.#adaptive.recalculationIntervalMs
      ? entry
      : undefined;
  }

  /** Computes the split from a reply's activity and caches it. */
  #remember(
    resource: string,
    limit: number,
    reply: RateWindowTimes,
  ): CachedSplit {
    const users = reply.users;
    const lastUserAt = reply.lastUserAt;
    const split = computeAdaptiveSplit(
      limit,
      {
        recent: _count(users?.recent),
        lastThird: _count(users?.lastThird),
        previousThird: _count(users?.previousThird),
        idleMs: typeof lastUserAt === "number" && Number.isFinite(lastUserAt)
          ? Math.max(0, reply.now - lastUserAt)
          : Infinity,
      },
      this.#adaptive,
    );
    const entry = {
      split,
      limit,
      at: reply.now,
      computedAt: this.now(),
      requests: {},
    };
    this.#splits.set(resource, entry);
    return entry;
  }

  /** A read window and its split, as the adaptive policy reads them. */
  #state({ state, entry, budget }: _Read): AdaptiveWindowState {
    return {
      now: state.now,
      windowMs: budget.windowMs,
      limit: budget.limit,
      totalInWindow: _count(state.total),
      backgroundInWindow: _count(state.background),
      backgroundMax: entry?.split.backgroundMax ?? budget.limit,
      backgroundPaused: entry?.split.backgroundPaused ?? false,
      oldestAt: state.oldestAt ?? undefined,
      totalWaitMs: millis(state.waitMs),
      backgroundWaitMs: millis(state.backgroundWaitMs),
      nextSplitInMs: this.#nextSplitInMs(entry),
    };
  }

  /** What a request of `priority` waits, from a backend's waits and the split. */
  #wait(
    priority: Priority,
    times: RateWindowTimes,
    entry: CachedSplit | undefined,
  ): number {
    return adaptiveWaitMs(priority, {
      totalWaitMs: millis(times.waitMs),
      backgroundWaitMs: millis(times.backgroundWaitMs),
      backgroundMax: entry?.split.backgroundMax ?? Infinity,
      backgroundPaused: entry?.split.backgroundPaused ?? false,
      nextSplitInMs: this.#nextSplitInMs(entry),
    });
  }

  #nextSplitInMs(entry: CachedSplit | undefined): number {
    return entry === undefined
      ? 0
      : entry.computedAt + this.#adaptive.recalculationIntervalMs - this.now();
  }
}

/**
 * Whether a user admission is known from the time an idle split was counted
 * or later. An idle split saw none for a while before it, so any such
 * admission is a user's return.
 */
function _returned(idleSince: number | null, times: RateWindowTimes): boolean {
  return idleSince !== null && typeof times.lastUserAt === "number" &&
    times.lastUserAt >= idleSince;
}

function _priority(priority: unknown): Priority {
  return priority === "user" ? "user" : "background";
}

function _count(value: unknown): number {
  return typeof value === "number" && value > 0 && value < Infinity
    ? Math.floor(value)
    : 0;
}

function _admitted(reply: RateWindowAdmitReply): boolean {
  return reply.admitted === true;
}

function _nothing(): void {}

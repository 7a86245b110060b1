/**
 * The rate-limit policy, written once over a {@linkcode RateWindow}: budgets
 * and their validation, the safety margin, waits, reset times and cooldowns.
 * `MemoryRateLimitStore`, `LibsqlRateLimitStore` and `UpstashRateLimitStore`
 * are this class over their backends.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { ConfigError } from "../errors.ts";
import { HeldSlots } from "./_held_slots.ts";
import { registerSyncAdmit } from "./_sync_admit.ts";
import { Budgets } from "./_budgets.ts";
import { cooldownDuration, validClock } from "./_validate.ts";
import {
  isPromiseLike,
  localDate,
  type Maybe,
  millis,
  settle,
  settleNow,
} from "./_window_values.ts";
import type {
  RateWindow,
  RateWindowAdmitReply,
  RateWindowAdmitRequest,
  RateWindowStatus,
} from "./rate_window.ts";
import type {
  Admission,
  AdmitOptions,
  RateLimitConfig,
  RateLimitStatus,
  RateLimitStore,
  RateLimitStoreStats,
} from "./types.ts";

/** The budget options of every rate-limit store. */
export interface RateLimitBudgetOptions {
  /**
   * The budget of every resource without its own entry in
   * `resourceConfigs`.
   *
   * @default {{ limit: 60, windowMs: 60_000 }}
   */
  defaultConfig?: RateLimitConfig;
  /**
   * Budgets of individual resources, as a `Map` or a plain record keyed by
   * resource. Budgets live in the process, not in a shared backend: give
   * every process that shares a resource the same budget.
   *
   * @default {new Map()}
   */
  resourceConfigs?:
    | ReadonlyMap<string, RateLimitConfig>
    | Readonly<Record<string, RateLimitConfig>>;
  /**
   * A safety margin, in milliseconds, added to every window. The store then
   * admits at most `limit` requests in any interval of `windowMs +
   * marginMs`, and `getWaitTime` and `getStatus().resetTime` count waits
   * against that longer window; `getResourceConfig` still reports the
   * configured `windowMs`.
   *
   * The origin counts arrivals, not admissions, and a request arrives some
   * time after its admission. The store holds the slot of each admission
   * the client tracks (`admit` with `track`) until a window after its
   * answer, which keeps this process's own requests within the limit at the
   * origin whatever the margin. The margin is for other processes sharing
   * the backend: by default 15% of each window over a backend that other
   * processes can share (`RateWindow.local` not set), and none over one only
   * this process sees (the memory stores). Set it higher when processes may
   * send later than that after their admission, or to cover the clock skew
   * between processes of a backend without a server clock; `0` for none. A
   * non-negative integer of at most 366 days.
   */
  marginMs?: number;
}

/** Options for {@linkcode WindowRateLimitStore}. */
export interface WindowRateLimitStoreOptions extends RateLimitBudgetOptions {
  /**
   * The store's clock: it times the adaptive split and turns the backend's
   * times into `Date`s. A backend without a server clock reads the same one.
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** The requests of `acquire` and `record`, the same for every call on one budget. */
interface _Fixed {
  acquire: Readonly<RateWindowAdmitRequest>;
  record: Readonly<RateWindowAdmitRequest>;
}

/** The budgets a store enforces, windows lengthened by its margin. */
export interface EnforcedBudgets {
  /** The budget of every resource without an override. */
  fallback: Readonly<RateLimitConfig>;
  /** The budgets of resources with an override. */
  overrides: ReadonlyMap<string, Readonly<RateLimitConfig>>;
  /** The longest window of them all. */
  longestWindowMs: number;
}

const METHODS = [
  "admit",
  "status",
  "reset",
  "setCooldown",
  "getCooldown",
  "stats",
  "cleanup",
  "close",
] as const;

/**
 * A {@linkcode RateLimitStore} over any {@linkcode RateWindow}: one exact
 * sliding window per resource, in whatever the backend shares.
 *
 * Every decision is one atomic backend operation: `acquire`, `record` and
 * `admit` are one `RateWindow.admit`, and `canProceed`, `getStatus` and
 * `getWaitTime` one `RateWindow.status`. Cooldowns (`setCooldown`) are kept
 * in the backend and only ever extend; `acquire` ignores them, `admit`
 * honours them.
 *
 * @example A store over a backend of your own
 * ```ts ignore
 * import { type RateWindow, WindowRateLimitStore } from "@sluice/http";
 *
 * declare const window: RateWindow;
 * const store = new WindowRateLimitStore(window, {
 *   defaultConfig: { limit: 10, windowMs: 1_000 },
 * });
 * const { admitted, waitMs } = await store.admit("search");
 * if (!admitted) console.log(`retry in ${waitMs} ms`);
 * ```
 */
export class WindowRateLimitStore implements RateLimitStore {
  readonly #window: RateWindow;
  readonly #budgets: Budgets;
  readonly #clock: Clock;
  readonly #component: string;
  readonly #held: HeldSlots = new HeldSlots();

  /**
   * Creates a store over a backend.
   *
   * @param window The backend primitive.
   * @param options Budgets, margin and clock.
   * @param component The name errors give the store, for example
   * `"MyRateLimitStore"`.
   * @throws {ConfigError} When `window` is not a {@linkcode RateWindow}, a
   * budget's `limit` is not a positive integer or its `windowMs` not an
   * integer from 50 ms to 366 days, `resourceConfigs` is malformed,
   * `marginMs` is not a non-negative integer of at most 366 days, or `clock`
   * has no `now()`.
   */
  constructor(
    window: RateWindow,
    options: WindowRateLimitStoreOptions = {},
    component: string = "WindowRateLimitStore",
  ) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(component, "options", options, "an object");
    }
    if (
      typeof window !== "object" || window === null ||
      METHODS.some((name) => typeof window[name] !== "function")
    ) {
      throw new ConfigError(
        component,
        "window",
        window,
        `a RateWindow (with ${METHODS.join(", ")})`,
      );
    }
    this.#window = window;
    this.#component = component;
    this.#budgets = new Budgets(component, options, window.local !== true);
    this.#clock = validClock(component, options.clock ?? systemClock);
    if (
      window.local === true &&
      this.admit === WindowRateLimitStore.prototype.admit
    ) {
      registerSyncAdmit(
        this,
        (resource, options) => this.#admit(resource, options, true),
      );
    }
  }

  /**
   * Admits a request unless a cooldown runs or the window is full: one
   * backend operation.
   *
   * @param resource The rate-limited resource.
   * @param options The cooldown resource (the resource itself by default);
   * the priority is ignored.
   * @returns Whether it was admitted; otherwise the exact wait until the
   * window has room, or the cooldown left.
   * @throws {StoreError} When the backend fails.
   */
  admit(resource: string, options: AdmitOptions = {}): Promise<Admission> {
    return this.#admit(resource, options, false) as Promise<Admission>;
  }

  // `admit`, or with `now` its answer itself when the backend answered at
  // once (a failure then throws).
  #admit(
    resource: string,
    options: AdmitOptions,
    now: boolean,
  ): Maybe<Admission> {
    const askedAt = this.now();
    const budget = this.budget(resource);
    const held = this.held(resource, budget, askedAt);
    if (held.count >= budget.limit) {
      // Every slot is held by this process's own unanswered requests.
      const refused = {
        admitted: false,
        waitMs: held.releaseMs,
        cooldownMs: 0,
      };
      return now ? refused : Promise.resolve(refused);
    }
    const enforced = held.count === 0 ? budget : {
      limit: budget.limit - held.count,
      windowMs: budget.windowMs,
    };
    return (now ? settleNow : settle)(
      () =>
        this.#window.admit(
          resource,
          this.#request(
            resource,
            options.cooldownResource ?? resource,
            false,
            enforced,
          ),
        ),
      (reply) => {
        let admission = _admission(reply);
        if (admission.admitted) {
          const late = this.late(resource, budget, held, reply.now);
          if (late.count > 0 || this.stale(resource, budget, reply.now)) {
            // Recorded, but never sent: the slot goes unused for a window.
            admission = {
              admitted: false,
              waitMs: late.count > 0 ? late.releaseMs : 1,
              cooldownMs: 0,
            };
          }
        } else if (held.count > 0) {
          admission.waitMs = Math.min(admission.waitMs, held.releaseMs);
        }
        return this.tracked(
          resource,
          askedAt,
          reply.now,
          options.track === true,
          admission,
          reply.ref,
        );
      },
    );
  }

  /**
   * Admits a request if the window has room, recording it: one backend
   * operation.
   *
   * @param resource The rate-limited resource.
   * @returns `true` when admitted.
   * @throws {StoreError} When the backend fails.
   */
  acquire(resource: string): Promise<boolean> {
    try {
      const reply = this.#window.admit(resource, this.#fixed(resource, false));
      return isPromiseLike(reply)
        ? Promise.resolve(reply).then(_admitted)
        : Promise.resolve(reply.admitted === true);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Tells whether a request would be admitted now, without recording it.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the backend fails.
   */
  canProceed(resource: string): Promise<boolean> {
    const { limit } = this.budget(resource);
    return settle(() => this.#status(resource), (state) => state.total < limit);
  }

  /**
   * Records an admission whether or not the window has room.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the backend fails.
   */
  record(resource: string): Promise<void> {
    return settle(
      () => this.#window.admit(resource, this.#fixed(resource, true)),
      _nothing,
    );
  }

  /**
   * Reads the budget of a resource.
   *
   * @param resource The rate-limited resource.
   * @returns What remains, when the oldest admission leaves the window (now
   * when there is none), and the limit.
   * @throws {StoreError} When the backend fails.
   */
  getStatus(resource: string): Promise<RateLimitStatus> {
    const { limit, windowMs } = this.budget(resource);
    const started = this.now();
    return settle(() => this.#status(resource), (state) => ({
      remaining: Math.max(0, limit - state.total),
      resetTime: localDate(
        state.oldestAt === null ? state.now : state.oldestAt + windowMs,
        state.now,
        started,
      ),
      limit,
    }));
  }

  /**
   * Forgets the admissions and the cooldown of a resource.
   *
   * @param resource The rate-limited resource.
   * @throws {StoreError} When the backend fails.
   */
  reset(resource: string): Promise<void> {
    return settle(() => this.#window.reset(resource), _nothing);
  }

  /**
   * Tells how long until a resource admits again.
   *
   * @param resource The rate-limited resource.
   * @returns `0` when a request is admitted now; otherwise the exact
   * milliseconds until the oldest admission that must leave the window does.
   * @throws {StoreError} When the backend fails.
   */
  getWaitTime(resource: string): Promise<number> {
    return settle(
      () => this.#status(resource),
      (state) => millis(state.waitMs),
    );
  }

  /**
   * Sets the budget of one resource in this process. Admissions already
   * recorded count against the new budget.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void {
    this.#budgets.set(resource, config);
  }

  /**
   * Returns the budget that applies to a resource, as configured (without
   * the margin).
   *
   * @param resource The rate-limited resource.
   */
  getResourceConfig(resource: string): RateLimitConfig {
    return { ...this.#budgets.get(resource) };
  }

  /**
   * Holds back a resource for `durationMs` from now, for every process on
   * the backend, unless a longer cooldown already runs. The duration is
   * rounded up to whole milliseconds and held to at most 366 days.
   *
   * @param resource The rate-limited resource.
   * @param durationMs How long, in milliseconds.
   * @throws {RangeError} When `durationMs` is negative or not finite.
   * @throws {StoreError} When the backend fails.
   */
  setCooldown(resource: string, durationMs: number): Promise<void> {
    return settle(
      () =>
        this.#window.setCooldown(
          resource,
          cooldownDuration(this.#component, durationMs),
        ),
      _nothing,
    );
  }

  /**
   * Tells how long the cooldown of a resource still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left, or `0` (also for a value the backend cannot
   * read as a time).
   * @throws {StoreError} When the backend fails.
   */
  getCooldown(resource: string): Promise<number> {
    return settle(() => this.#window.getCooldown(resource), millis);
  }

  /**
   * Counts admissions, spent budgets and running cooldowns across
   * resources.
   *
   * @returns The counts.
   * @throws {StoreError} When the backend fails.
   */
  async getStats(): Promise<RateLimitStoreStats> {
    const { recentUsers: _, ...stats } = await this.#window.stats(
      this.enforcedBudgets(),
      null,
    );
    return stats;
  }

  /**
   * Removes admissions older than the longest window and cooldowns that
   * ended, for every resource, including those nobody touches any more.
   *
   * @returns How many records were removed (`0` where the backend expires
   * them itself).
   * @throws {StoreError} When the backend fails.
   */
  async cleanup(): Promise<number> {
    return await this.#window.cleanup(this.enforcedBudgets(), null);
  }

  /** Releases the backend. Later calls reject with a `StoreError`. Safe to call twice. */
  close(): Promise<void> {
    this.#held.clear();
    return settle(() => this.#window.close(), _nothing);
  }

  /** Same as {@linkcode WindowRateLimitStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The budget the store enforces for a resource: its window lengthened by
   * the margin.
   *
   * @param resource The rate-limited resource.
   * @returns The limit and the window, margin included.
   */
  protected budget(resource: string): Readonly<RateLimitConfig> {
    return this.#budgets.effective(resource);
  }

  /**
   * The slots of a resource held by this process's own tracked requests
   * that the backend may no longer count under `budget` when it decides on
   * a call begun at `askedAt`: requests not answered yet, or answered less
   * than a window ago.
   *
   * @param resource The rate-limited resource.
   * @param budget The budget the backend is asked to enforce now.
   * @param askedAt When the call began, in the store's clock.
   * @returns How many, and how soon the first frees.
   */
  protected held(
    resource: string,
    budget: Readonly<RateLimitConfig>,
    askedAt: number,
  ): Readonly<
    { count: number; releaseMs: number; before: number; seen: number }
  > {
    return this.#held.held(
      resource,
      this.#budgets.get(resource).windowMs,
      budget.windowMs,
      askedAt,
    );
  }

  /**
   * Checks an admission the backend made at `decidedAt` against the slots
   * `held` counted when the call was made
   * ({@linkcode WindowRateLimitStore.held}). A backend that decided later
   * than expected, or behind calls made before it whose admissions were
   * not tracked yet, may not have counted own admissions that `held` did
   * not count either. When there are any, the admission may be one too
   * many: its request must not be sent, and it waits for the first of them
   * to free.
   *
   * @param resource The rate-limited resource.
   * @param budget The budget the backend was asked to enforce.
   * @param held What `held()` counted when the call was made.
   * @param decidedAt The backend's `now` in its reply.
   * @returns How many own admissions neither side counted, and how soon
   * the first frees.
   */
  protected late(
    resource: string,
    budget: Readonly<RateLimitConfig>,
    held: Readonly<{ before: number; seen: number }>,
    decidedAt: number,
  ): Readonly<{ count: number; releaseMs: number }> {
    return this.#held.late(
      resource,
      this.#budgets.get(resource).windowMs,
      budget.windowMs,
      held,
      decidedAt,
      this.now(),
    );
  }

  /**
   * Whether the answer to an admission the backend decided at `decidedAt`
   * came back so late (see {@linkcode WindowRateLimitStore.late}) that other
   * processes,
   * which count it for the margin beyond the window only, may stop
   * counting it before its request reaches the origin. Never over a window
   * without a margin.
   *
   * @param resource The rate-limited resource.
   * @param budget The budget the backend was asked to enforce.
   * @param decidedAt When the backend decided, in its clock.
   * @returns `true` when the admission must not be used: the request asks
   * again.
   */
  protected stale(
    resource: string,
    budget: Readonly<RateLimitConfig>,
    decidedAt: number,
  ): boolean {
    return this.#held.stale(
      decidedAt,
      this.now(),
      this.#margin(resource, budget),
    );
  }

  /**
   * Takes a backend's answer to an admission: notes how far ahead of the
   * call the backend decided and, for an admission asked for with `track`,
   * hands it the function that reports its answer, so that its slot is
   * held until a window after it.
   *
   * Other processes count the admission for the window and the margin
   * after the backend recorded it. A request answered later than half the
   * margin after that may have reached the origin too late for them: when
   * the backend can ({@linkcode RateWindow.postpone}), the answer then
   * moves the record to the backend's time less the margin, and every
   * process counts it until a window after the answer.
   *
   * @param resource The rate-limited resource.
   * @param askedAt When the call began, in the store's clock.
   * @param decidedAt The backend's `now` in its reply.
   * @param track Whether the admission was asked for with `track`.
   * @param admission The store's answer; changed in place when admitted.
   * @param ref The backend's handle of the recorded admission, if any.
   * @returns The answer.
   */
  protected tracked(
    resource: string,
    askedAt: number,
    decidedAt: number,
    track: boolean,
    admission: Admission,
    ref?: unknown,
  ): Admission {
    this.#held.observe(askedAt, decidedAt, this.now());
    if (track && admission.admitted) {
      const answeredAt = this.now();
      const answered = this.#held.track(
        resource,
        askedAt,
        decidedAt,
        () => this.now(),
      );
      const marginMs = this.#margin(resource, this.budget(resource));
      const window = this.#window;
      if (
        ref === undefined || marginMs <= 0 || window.postpone === undefined
      ) {
        admission.done = answered;
      } else {
        let done = false;
        admission.done = () => {
          if (done) return;
          done = true;
          answered();
          const now = this.now();
          if (!this.#held.stale(decidedAt, now, marginMs)) return;
          // The backend's clock read at least `decidedAt` when this store
          // had its answer, and has run since: the record moves at least
          // to this time, and is then counted by the backend, not held.
          const movedAt = decidedAt + (now - answeredAt) - marginMs;
          // A window that throws, or answers other than with a promise,
          // must not reach the request that reported its answer.
          Promise.resolve().then(() =>
            window.postpone!(resource, ref, marginMs)
          ).then(
            (kept) => {
              // A record gone from the backend stays held here.
              if (kept === true) answered.moved(movedAt);
            },
            // Best effort: a backend that fails here fails the next
            // admission too, which then waits or is refused.
            () => {},
          );
        };
      }
    }
    return admission;
  }

  /**
   * Every budget the store enforces, for backends that report or clean up
   * across resources.
   *
   * @returns The default, the overrides and the longest window, margins
   * included.
   */
  protected enforcedBudgets(): EnforcedBudgets {
    return {
      fallback: this.#budgets.fallback,
      overrides: new Map(this.#budgets.effectiveOverrides()),
      longestWindowMs: this.#budgets.longestWindowMs(),
    };
  }

  /**
   * The current time of the store's clock.
   *
   * @returns Milliseconds since the epoch.
   */
  protected now(): number {
    return this.#clock.now();
  }

  // The margin of a resource's budget: what it adds to the configured window.
  #margin(resource: string, budget: Readonly<RateLimitConfig>): number {
    return budget.windowMs - this.#budgets.get(resource).windowMs;
  }

  /**
   * The request of `acquire` (or of `record`, when `force`) for a resource's
   * budget, built once per budget: it never changes, and a backend must not
   * change it.
   */
  #fixed(resource: string, force: boolean): Readonly<RateWindowAdmitRequest> {
    const budget = this.#budgets.budget(resource);
    let fixed = budget.derived as _Fixed | undefined;
    if (fixed === undefined) {
      fixed = {
        acquire: Object.freeze(this.#request(resource, null, false)),
        record: Object.freeze(this.#request(resource, null, true)),
      };
      budget.derived = fixed;
    }
    return force ? fixed.record : fixed.acquire;
  }

  #request(
    resource: string,
    cooldownResource: string | null,
    force: boolean,
    budget: Readonly<RateLimitConfig> = this.budget(resource),
  ): RateWindowAdmitRequest {
    const { limit, windowMs } = budget;
    return {
      limit,
      windowMs,
      backgroundMax: null,
      users: null,
      countUsers: false,
      priority: "background",
      backgroundPaused: false,
      idleSince: null,
      cooldownResource,
      force,
      // Only admit() tells a wait; it is the one that names a cooldown.
      measureWaits: cooldownResource !== null,
    };
  }

  #status(resource: string): Maybe<RateWindowStatus> {
    const { limit, windowMs } = this.budget(resource);
    return this.#window.status(resource, {
      limit,
      windowMs,
      backgroundMax: null,
      users: null,
      countUsers: false,
    });
  }
}

function _admitted(reply: RateWindowAdmitReply): boolean {
  return reply.admitted === true;
}

function _admission(reply: RateWindowAdmitReply): Admission {
  return reply.admitted === true
    ? { admitted: true, waitMs: 0, cooldownMs: 0 }
    : {
      admitted: false,
      waitMs: millis(reply.waitMs),
      cooldownMs: millis(reply.cooldownMs),
    };
}

function _nothing(): void {}

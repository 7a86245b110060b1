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
import {
  ArrivalMargins,
  type HeldSlots,
  learntMarginCap,
} from "./_arrival_margin.ts";
import { Budgets } from "./_budgets.ts";
import { cooldownDuration, validClock } from "./_validate.ts";
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
   * The origin counts arrivals, not admissions. A request reaches it some
   * time after the store admitted it, and that delay varies from request to
   * request (event loop, lock waits, network), so two admissions exactly
   * `windowMs` apart can arrive closer together than that. When the origin
   * enforces its limit strictly, set the margin to the spread of that delay
   * (slowest minus fastest, not the delay itself): tens of milliseconds
   * within one process, 250–400 ms across processes on a busy machine (the
   * most when they wait for one lock, as on a shared libSQL file). A backend
   * without a server clock also needs the clock skew between its processes.
   * The price is a little throughput: `limit` per `windowMs + marginMs`. A
   * non-negative integer of at most 366 days.
   *
   * @default {0}
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
  readonly #margins: ArrivalMargins = new ArrivalMargins();

  /**
   * Creates a store over a backend.
   *
   * @param window The backend primitive.
   * @param options Budgets, margin and clock.
   * @param component The name errors give the store, for example
   * `"MyRateLimitStore"`.
   * @throws {ConfigError} When `window` is not a {@linkcode RateWindow}, a
   * budget's `limit` is not a positive integer or its `windowMs` not a
   * positive integer of at most 366 days, `resourceConfigs` is malformed,
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
    this.#budgets = new Budgets(component, options);
    this.#clock = validClock(component, options.clock ?? systemClock);
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
    const since = options.track === true ? this.now() : undefined;
    const budget = this.budget(resource);
    const held = this.held(resource, budget);
    if (held.count >= budget.limit) {
      // Every slot is held by this process's own unanswered requests.
      return Promise.resolve({
        admitted: false,
        waitMs: held.releaseMs,
        cooldownMs: 0,
      });
    }
    const enforced = held.count === 0 ? budget : {
      limit: budget.limit - held.count,
      windowMs: budget.windowMs,
    };
    return settle(
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
        const admission = _admission(reply);
        if (!admission.admitted && held.count > 0) {
          admission.waitMs = Math.min(admission.waitMs, held.releaseMs);
        }
        return this.tracked(resource, since, admission);
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
    this.#margins.clear();
    return settle(() => this.#window.close(), _nothing);
  }

  /** Same as {@linkcode WindowRateLimitStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The budget the store enforces for a resource now: its window lengthened
   * by the fixed margin, or by the margin learnt so far.
   *
   * @param resource The rate-limited resource.
   * @returns The limit and the window, margin included.
   */
  protected budget(resource: string): Readonly<RateLimitConfig> {
    const enforced = this.#budgets.effective(resource);
    if (!this.#budgets.learns) return enforced;
    const marginMs = this.#margins.marginMs(
      resource,
      enforced.windowMs,
      this.now(),
    );
    return marginMs === 0 ? enforced : {
      limit: enforced.limit,
      windowMs: enforced.windowMs + marginMs,
    };
  }

  /**
   * How long the backend must keep an admission of a resource: its window,
   * with a learnt margin at the most it may reach.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds.
   */
  protected keepMs(resource: string): number {
    const { windowMs } = this.#budgets.effective(resource);
    return this.#budgets.learns
      ? windowMs + learntMarginCap(windowMs)
      : windowMs;
  }

  /**
   * The slots of a resource held by this process's own tracked requests
   * that the backend no longer counts under `budget`: requests not
   * answered yet, or answered less than a window ago.
   *
   * @param resource The rate-limited resource.
   * @param budget The budget the backend is asked to enforce now.
   * @returns How many, and how soon the first frees.
   */
  protected held(
    resource: string,
    budget: Readonly<RateLimitConfig>,
  ): Readonly<HeldSlots> {
    return this.#margins.held(
      resource,
      this.#budgets.get(resource).windowMs,
      budget.windowMs,
      this.now(),
    );
  }

  /**
   * Hands an admission asked for with `track` the function that reports its
   * answer: its slot is held until a window after it, and a store without
   * a fixed margin learns its margin from the delay.
   *
   * @param resource The rate-limited resource.
   * @param since The store's time when the admission was asked for;
   * `undefined` when it was not asked to track.
   * @param admission The store's answer; changed in place when admitted.
   * @returns The answer.
   */
  protected tracked(
    resource: string,
    since: number | undefined,
    admission: Admission,
  ): Admission {
    if (since !== undefined && admission.admitted) {
      admission.done = this.#margins.track(
        resource,
        this.#budgets.get(resource).windowMs,
        since,
        () => this.now(),
      );
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
    const budgets = this.#budgets;
    // A learnt margin may lengthen a window up to its cap: nothing younger
    // than that may be dropped.
    const widest = (budget: Readonly<RateLimitConfig>) =>
      budgets.learns
        ? {
          limit: budget.limit,
          windowMs: budget.windowMs + learntMarginCap(budget.windowMs),
        }
        : budget;
    const overrides = new Map<string, Readonly<RateLimitConfig>>();
    for (const [resource, budget] of budgets.effectiveOverrides()) {
      overrides.set(resource, widest(budget));
    }
    return {
      fallback: widest(budgets.fallback),
      overrides,
      longestWindowMs: budgets.longestWindowMs(),
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

  /**
   * The request of `acquire` (or of `record`, when `force`) for a resource's
   * budget. Built once per budget while no learnt margin lengthens it: it
   * never changes then, and a backend must not change it.
   */
  #fixed(resource: string, force: boolean): Readonly<RateWindowAdmitRequest> {
    const budget = this.#budgets.budget(resource);
    const enforced = this.budget(resource);
    if (enforced !== budget.enforced) {
      return this.#request(resource, null, force, enforced);
    }
    let fixed = budget.derived as _Fixed | undefined;
    if (fixed === undefined) {
      fixed = {
        acquire: Object.freeze(this.#request(resource, null, false, enforced)),
        record: Object.freeze(this.#request(resource, null, true, enforced)),
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
      keepMs: this.keepMs(resource),
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

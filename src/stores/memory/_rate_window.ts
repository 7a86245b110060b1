import { type Clock, systemClock } from "../../clock.ts";
import { ConfigError } from "../../errors.ts";
import { validClock } from "../_validate.ts";
import type {
  RateWindow,
  RateWindowAdmitReply,
  RateWindowAdmitRequest,
  RateWindowQuery,
  RateWindowRetention,
  RateWindowStats,
  RateWindowStatus,
  RateWindowUserCounts,
  RateWindowUsers,
} from "../rate_window.ts";
import type { EnforcedBudgets } from "../window_rate_limit_store.ts";
import { closedError } from "./_options.ts";
import { SweptMap } from "./_swept_map.ts";
import { TimestampRing } from "./_timestamp_ring.ts";

interface _Bucket {
  /** Admission times of any priority within the window, oldest first. */
  all: TimestampRing;
  /** Background admission times within the window, once a share was asked for. */
  background: TimestampRing | null;
  /** User admission times within the monitoring window, once asked for. */
  users: TimestampRing | null;
  /** The time of the newest user admission; `-Infinity` when none. */
  lastUserAt: number;
  /** When the cooldown ends; `-Infinity` when none. */
  cooldownUntil: number;
  /** The largest limit any call asked for: what the rings hold. */
  capacity: number;
  /** The retention the last call asked for, for lazy sweeping. */
  windowMs: number;
  monitoringMs: number;
  lastUserMs: number;
}

/**
 * A {@linkcode RateWindow} in process memory: ring buffers of admission
 * times per resource, so that every operation is O(1) (counting user
 * activity is O(log n)) and runs in one synchronous step. A ring keeps only
 * the newest `limit` admissions (the most any call asked for), since only
 * they decide when budget frees up. Idle resources are dropped lazily; no
 * timer runs.
 */
export class MemoryRateWindow implements RateWindow {
  /** Only this process sees it. */
  readonly local = true;
  readonly #component: string;
  readonly #clock: Clock;
  readonly #buckets: SweptMap<_Bucket>;
  #closed = false;

  constructor(component: string, clock: Clock) {
    this.#component = component;
    this.#clock = clock;
    this.#buckets = new SweptMap(clock, (bucket, now) => {
      _prune(bucket, now);
      return bucket.all.size === 0 &&
        (bucket.users === null || _users(bucket, now).size === 0) &&
        bucket.cooldownUntil <= now &&
        now - bucket.lastUserAt >= bucket.lastUserMs;
    });
  }

  admit(
    resource: string,
    request: RateWindowAdmitRequest,
  ): RateWindowAdmitReply {
    if (this.#closed) throw closedError(this.#component, "admit");
    const now = this.#clock.now();
    const bucket = this.#bucket(resource, now, request);
    const { limit, backgroundMax, users, priority } = request;
    let cooldownMs = 0;
    if (request.cooldownResource !== null) {
      const held = request.cooldownResource === resource
        ? bucket
        : this.#buckets.get(request.cooldownResource);
      if (held !== undefined && held.cooldownUntil > now) {
        cooldownMs = held.cooldownUntil - now;
      }
    }
    const admitted = request.force || (
      cooldownMs === 0 && bucket.all.size < limit && (
        priority === "user" || backgroundMax === null || (
          !request.backgroundPaused &&
          bucket.background!.size < backgroundMax &&
          (request.idleSince === null ||
            bucket.lastUserAt < request.idleSince)
        )
      )
    );
    if (admitted) {
      bucket.all.push(now);
      if (priority === "user") {
        if (users !== null) {
          _users(bucket, now).push(now);
          if (now > bucket.lastUserAt) bucket.lastUserAt = now;
        }
      } else if (backgroundMax !== null) {
        bucket.background!.push(now);
      }
    }
    return {
      admitted,
      now,
      waitMs: admitted ? 0 : _wait(bucket.all, limit, request.windowMs, now),
      backgroundWaitMs: admitted || backgroundMax === null
        ? 0
        : _wait(bucket.background!, backgroundMax, request.windowMs, now),
      cooldownMs,
      users: request.countUsers && users !== null
        ? _count(_users(bucket, now), users, now)
        : null,
      lastUserAt: users !== null && bucket.lastUserAt > -Infinity
        ? bucket.lastUserAt
        : null,
    };
  }

  status(resource: string, query: RateWindowQuery): RateWindowStatus {
    if (this.#closed) throw closedError(this.#component, "status");
    const now = this.#clock.now();
    const bucket = this.#buckets.get(resource);
    if (bucket === undefined) {
      return {
        now,
        total: 0,
        background: 0,
        oldestAt: null,
        waitMs: 0,
        backgroundWaitMs: 0,
        users: query.countUsers && query.users !== null
          ? { recent: 0, lastThird: 0, previousThird: 0 }
          : null,
        lastUserAt: null,
      };
    }
    _retain(bucket, query);
    _prune(bucket, now);
    const { limit, windowMs, backgroundMax, users } = query;
    const background = bucket.background;
    return {
      now,
      total: bucket.all.size,
      background: backgroundMax === null || background === null
        ? 0
        : background.size,
      oldestAt: bucket.all.size > 0 ? bucket.all.at(0) : null,
      waitMs: _wait(bucket.all, limit, windowMs, now),
      backgroundWaitMs: backgroundMax === null || background === null
        ? 0
        : _wait(background, backgroundMax, windowMs, now),
      users: query.countUsers && users !== null
        ? bucket.users === null
          ? { recent: 0, lastThird: 0, previousThird: 0 }
          : _count(_users(bucket, now), users, now)
        : null,
      lastUserAt: users !== null && bucket.lastUserAt > -Infinity
        ? bucket.lastUserAt
        : null,
    };
  }

  reset(resource: string): Promise<void> {
    if (this.#closed) return this.#rejectClosed("reset");
    this.#buckets.delete(resource);
    return Promise.resolve();
  }

  setCooldown(resource: string, durationMs: number): Promise<void> {
    if (this.#closed) return this.#rejectClosed("setCooldown");
    const now = this.#clock.now();
    const bucket = this.#buckets.getOrCreate(resource, _empty);
    bucket.cooldownUntil = Math.max(bucket.cooldownUntil, now + durationMs);
    return Promise.resolve();
  }

  getCooldown(resource: string): Promise<number> {
    if (this.#closed) return this.#rejectClosed("getCooldown");
    const until = this.#buckets.get(resource)?.cooldownUntil ?? -Infinity;
    return Promise.resolve(Math.max(0, until - this.#clock.now()));
  }

  stats(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<RateWindowStats> {
    if (this.#closed) return this.#rejectClosed("getStats");
    const now = this.#clock.now();
    let totalRequests = 0;
    let uniqueResources = 0;
    const rateLimited: string[] = [];
    const coolingDown: string[] = [];
    let recentUsers = 0;
    let usersResources = 0;
    for (const [resource, bucket] of this.#buckets.entries()) {
      const { limit, windowMs } = budgets.overrides.get(resource) ??
        budgets.fallback;
      const held = bucket.all.countAfter(now - windowMs);
      totalRequests += held;
      if (held > 0) uniqueResources++;
      if (held >= limit) rateLimited.push(resource);
      if (bucket.cooldownUntil > now) coolingDown.push(resource);
      if (users !== null && bucket.users !== null) {
        const recent = bucket.users.countAfter(now - users.monitoringMs);
        recentUsers += recent;
        if (recent > 0) usersResources++;
      }
    }
    const first100 = (names: string[]): string[] => names.sort().slice(0, 100);
    return Promise.resolve({
      totalRequests,
      uniqueResources,
      rateLimitedResources: first100(rateLimited),
      coolingDownResources: first100(coolingDown),
      ...(users === null
        ? {}
        : { recentUsers: { n: recentUsers, resources: usersResources } }),
    });
  }

  /** Drops the resources that hold nothing any more; returns how many. */
  cleanup(): Promise<number> {
    if (this.#closed) return this.#rejectClosed("cleanup");
    return Promise.resolve(this.#buckets.sweep());
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#buckets.clear();
    return Promise.resolve();
  }

  /** The bucket of `resource`, created if missing, sized and pruned for `request`. */
  #bucket(
    resource: string,
    now: number,
    request: RateWindowAdmitRequest,
  ): _Bucket {
    const bucket = this.#buckets.getOrCreate(resource, _empty);
    const { limit } = request;
    // Rings only grow: admissions already recorded keep counting against a
    // limit that is lowered and raised again.
    if (limit > bucket.capacity) {
      bucket.capacity = limit;
      bucket.all.setCapacity(limit);
      bucket.background?.setCapacity(limit);
    }
    if (request.backgroundMax !== null && bucket.background === null) {
      bucket.background = new TimestampRing(bucket.capacity);
    }
    if (request.users !== null && bucket.users === null) {
      bucket.users = new TimestampRing(Infinity);
    }
    _retain(bucket, request);
    _prune(bucket, now);
    return bucket;
  }

  #rejectClosed(operation: string): Promise<never> {
    return Promise.reject(closedError(this.#component, operation));
  }
}

/**
 * The backend of a memory store, on the clock of its options (checked here,
 * before the store's own validation, because the backend needs it first).
 */
export function memoryWindow(
  component: string,
  options: { clock?: unknown },
): MemoryRateWindow {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(component, "options", options, "an object");
  }
  return new MemoryRateWindow(
    component,
    validClock(component, options.clock ?? systemClock),
  );
}

function _empty(): _Bucket {
  return {
    all: new TimestampRing(1),
    background: null,
    users: null,
    lastUserAt: -Infinity,
    cooldownUntil: -Infinity,
    capacity: 1,
    windowMs: 0,
    monitoringMs: 0,
    lastUserMs: 0,
  };
}

/** Notes what a call asks the bucket to keep. */
function _retain(bucket: _Bucket, query: RateWindowQuery): void {
  bucket.windowMs = query.windowMs;
  if (query.users !== null) {
    bucket.monitoringMs = query.users.monitoringMs;
    bucket.lastUserMs = query.users.lastUserMs;
  }
}

/**
 * Drops what has left the windows the bucket was last asked to keep. User
 * admissions are dropped where they are read or added.
 */
function _prune(bucket: _Bucket, now: number): void {
  const since = now - bucket.windowMs;
  bucket.all.dropThrough(since);
  bucket.background?.dropThrough(since);
}

/** The user admissions of the monitoring window, pruned to it. */
function _users(bucket: _Bucket, now: number): TimestampRing {
  const users = bucket.users!;
  users.dropThrough(now - bucket.monitoringMs);
  return users;
}

/** How long until fewer than `max` of `ring` are younger than `windowMs`. */
function _wait(
  ring: TimestampRing,
  max: number,
  windowMs: number,
  now: number,
): number {
  if (max <= 0 || ring.size < max) return 0;
  return Math.max(0, ring.at(ring.size - max) + windowMs - now);
}

function _count(
  ring: TimestampRing,
  users: RateWindowUsers,
  now: number,
): RateWindowUserCounts {
  const lastThird = ring.countAfter(now - users.lastThirdMs);
  return {
    recent: ring.countAfter(now - users.monitoringMs),
    lastThird,
    previousThird: ring.countAfter(now - users.previousThirdMs) - lastThird,
  };
}

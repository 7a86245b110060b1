/**
 * The store contracts. A store that implements these interfaces plugs into
 * {@linkcode HttpClient}; the conformance suites in `@sluice/http/testing`
 * check that it keeps the guarantees written here.
 *
 * Keys passed to stores are opaque strings built by the client. Keys of one
 * client or scope share a prefix (for example `"github:tenant=t_42:"`), which
 * {@linkcode CacheStore.clear} accepts to clear only that client or scope.
 *
 * @module
 */

import type { StoreEvent } from "./store_events.ts";

/** The priority of a request: interactive traffic or background work. */
export type Priority = "user" | "background";

/** The rate budget of a resource. */
export interface RateLimitConfig {
  /** The most admissions allowed in any interval of `windowMs`. A positive integer. */
  limit: number;
  /**
   * The length of the sliding window, in milliseconds. An integer from 50
   * (a shorter window can be neither filled nor held at the origin) to 366
   * days (31 622 400 000).
   */
  windowMs: number;
}

/** A snapshot of a resource's rate budget. */
export interface RateLimitStatus {
  /** How many more admissions the window allows right now. */
  remaining: number;
  /** When the oldest admission in the window leaves it, freeing budget. */
  resetTime: Date;
  /** The configured limit of the resource. */
  limit: number;
}

/** A snapshot of a resource's budget, with the adaptive user/background split. */
export interface AdaptiveRateLimitStatus extends RateLimitStatus {
  /** Admissions per window held back for `"user"` traffic. */
  userReserved: number;
  /** The most admissions per window that `"background"` traffic may take. */
  backgroundMax: number;
  /** Whether background traffic is paused entirely. */
  backgroundPaused: boolean;
  /** User admissions seen within the monitoring window, across all processes. */
  recentUserActivity: number;
  /** A human-readable reason for the current split. */
  reason: string;
}

/** Options for {@linkcode RateLimitStore.admit}. */
export interface AdmitOptions {
  /**
   * The traffic class. A store without priorities ignores it.
   *
   * @default {"background"}
   */
  priority?: Priority;
  /**
   * The resource whose cooldown holds this admission back, when cooldowns
   * are shared more widely than the budget (the client keeps one cooldown
   * for every scope of a resource).
   *
   * @default {resource}
   */
  cooldownResource?: string;
  /**
   * Track the admitted request: the answer then carries `done`, to call
   * once the request is answered or has failed. The admission keeps its
   * slot until a window after that, since the request may reach the origin
   * until then (the client tracks every request it sends).
   *
   * @default {false}
   */
  track?: boolean;
}

/** The answer of {@linkcode RateLimitStore.admit}. */
export interface Admission {
  /** Whether the admission was recorded. */
  admitted: boolean;
  /**
   * `0` when admitted. Otherwise how long until an admission of this
   * priority may succeed, in milliseconds, as
   * {@linkcode RateLimitStore.getWaitTime} would tell at the same moment.
   */
  waitMs: number;
  /**
   * Milliseconds left of the cooldown of the cooldown resource, as
   * {@linkcode RateLimitStore.getCooldown} would tell; `0` when none runs.
   * While it runs, nothing is admitted.
   */
  cooldownMs: number;
  /**
   * For an admission asked for with `track`, when the store tracks it:
   * call it once the request was answered (its response headers arrived)
   * or failed; the slot frees a window later. Later calls do nothing. A
   * tracked request never answered holds its slot for five minutes (ten
   * windows when longer).
   */
  done?: () => void;
}

/** Options for {@linkcode DedupeStore.waitFor}. */
export interface WaitForOptions {
  /** Stops waiting when aborted; `waitFor` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The job the caller joined, as {@linkcode DedupeStore.registerOrJoin}
   * answered it. Its result then answers the caller however soon after the
   * job completed the first check comes, grace or not, as long as the store
   * still holds the job (every sluice store does, for at least a second).
   */
  jobId?: string;
}

/** The answer of {@linkcode DedupeStore.registerOrJoin}. */
export interface DedupeRegistration {
  /** The id of the job that was created or joined. */
  jobId: string;
  /** `true` when the caller owns the job and must `complete` or `fail` it. */
  isOwner: boolean;
  /**
   * For an owner, what its job replaced, when the store knows: `"none"` when
   * no job for the key was known, `"completed"` when it replaced a job that
   * completed, `"failed"` when it replaced one that failed or whose owner
   * ran out of time. After `"completed"` or `"failed"` the earlier owner may
   * have left its work behind (a cached response), so the new owner looks
   * for it first; after `"none"` it need not. Absent means unknown, which is
   * treated like `"completed"`.
   */
  previous?: "none" | "completed" | "failed";
}

/**
 * Counts of a dedupe store's jobs by state, as its backend holds them
 * (`getStats()` of every sluice dedupe store).
 */
export interface DedupeStoreStats {
  /** Jobs the backend holds, in any state. */
  totalJobs: number;
  /** Jobs in progress within their owner's lease (the job timeout). */
  pendingJobs: number;
  /** Completed jobs not yet removed. */
  completedJobs: number;
  /** Failed jobs not yet removed. */
  failedJobs: number;
  /** Jobs still marked in progress after their lease ran out: their owner is gone. */
  expiredJobs: number;
}

/**
 * What a dedupe store reports through its `onEvent` option: a result too
 * large to share (`dedupe.skipped`), or one that could not be decoded
 * (`dedupe.corrupt`). Its shapes are those of every store's events.
 */
export type DedupeStoreEvent = StoreEvent;

/**
 * Options for {@linkcode CacheStore.set}. A store without tag support
 * (one that has no {@linkcode CacheStore.invalidateTags}) ignores them.
 */
export interface CacheSetOptions {
  /**
   * Tags to attach to the entry, so that
   * {@linkcode CacheStore.invalidateTags} of any of them removes it. Tags
   * are opaque to the store: non-empty strings of at most 2 048 UTF-16 code
   * units, at most 64 of them (duplicates count once). They are the key's
   * for as long as it holds an entry: a later write of the same key, with
   * tags or without, keeps them and adds its own; once the entry expires,
   * is deleted, evicted or invalidated, its key carries none.
   *
   * @default {[]}
   */
  tags?: readonly string[];
  /**
   * How long before this write the value was obtained, in milliseconds: for
   * a cached response, the time since its request was sent. A store with
   * tag support refuses the write (`set` resolves `false` and changes
   * nothing) when, since that moment, `invalidateTags` removed this key or
   * was called with one of `tags`, so that a response fetched before an
   * invalidation never lands in the cache after it. Invalidations are
   * remembered for this long for that purpose: five minutes.
   *
   * @default {0}
   */
  ageMs?: number;
}

/**
 * A key-value cache with per-entry time to live.
 *
 * Tag support is optional: a store that has
 * {@linkcode CacheStore.invalidateTags} honours
 * {@linkcode CacheSetOptions.tags} in `set`; a store without it is used
 * untagged, and the client refuses tagged requests with a `ConfigError`.
 *
 * @typeParam T The type of the stored values.
 */
export interface CacheStore<T = unknown> {
  /**
   * Reads an entry.
   *
   * @param hash The entry's key.
   * @returns The stored value, equal to what was set (byte-exact for
   * `Uint8Array` parts), or `undefined` when the entry is missing, expired,
   * or cannot be decoded. An undecodable entry is deleted.
   */
  get(hash: string): Promise<T | undefined>;

  /**
   * Writes an entry, replacing any earlier value.
   *
   * @param hash The entry's key.
   * @param value The value to store.
   * @param ttlSeconds The time to live: `> 0` expires after that many
   * seconds, `0` never expires, `< 0` is already expired (nothing is
   * readable afterwards).
   * @returns `false` when the store did not keep the value (it is too large
   * for the store, or the TTL is negative or not a number; any older value
   * under `hash` is then gone too), `true` when it did. A store that resolves
   * to nothing is taken to have kept it. A store with tag support also
   * resolves `false`, and leaves the key as it was, for a write refused
   * because of an invalidation (see {@linkcode CacheSetOptions.ageMs}).
   * @param options Tags for the entry, and the value's age; ignored by a
   * store without tag support.
   */
  set(
    hash: string,
    value: T,
    ttlSeconds: number,
    options?: CacheSetOptions,
  ): Promise<void | boolean>;

  /**
   * Removes an entry. Removing a missing entry is not an error.
   *
   * @param hash The entry's key.
   */
  delete(hash: string): Promise<void>;

  /**
   * Removes entries.
   *
   * @param prefix When given, removes only the entries whose key starts with
   * it, so that one client or scope is cleared without touching the others.
   * When omitted, removes every entry of this store.
   */
  clear(prefix?: string): Promise<void>;

  /**
   * Optional: removes every entry stored with one of `tags` (see
   * {@linkcode CacheSetOptions.tags}), in every process that shares the
   * store. A write of one of those tags, or of a removed key, whose value
   * was obtained before this call is refused afterwards (see
   * {@linkcode CacheSetOptions.ageMs}). `clear(prefix)` also forgets the
   * index of the tags that start with `prefix`.
   *
   * @param tags The tags: non-empty strings of at most 2 048 UTF-16 code
   * units, at most 1 000 of them.
   * @returns How many entries it removed, as far as the store can tell (an
   * entry that expired but was not yet removed is not counted).
   * @throws {TypeError} When `tags` is not such a list.
   */
  invalidateTags?(tags: readonly string[]): Promise<number>;

  /** Releases the store's resources. Calling it twice is safe. */
  close(): Promise<void>;
}

/**
 * Single-flight coordination: one owner performs a job, joiners wait for its
 * result.
 *
 * A completed job is not a cache. Its result answers the waiters that joined
 * while it ran, plus those that call {@linkcode DedupeStore.waitFor} within a
 * short grace after completion (at most one second by default). A later
 * {@linkcode DedupeStore.registerOrJoin} starts a new job.
 *
 * @typeParam T The type of a job's result.
 */
export interface DedupeStore<T = unknown> {
  /**
   * Registers the caller as owner of a new job for `hash`, replacing any job
   * that is not in progress.
   *
   * @param hash The job's key.
   * @returns The new job id.
   */
  register(hash: string): Promise<string>;

  /**
   * Atomically joins the job in progress for `hash`, or becomes its owner when
   * there is none (or the previous owner exceeded the job timeout). Among any
   * number of concurrent callers, across all processes sharing the store,
   * exactly one becomes owner.
   *
   * @param hash The job's key.
   * @returns The job id, and whether the caller owns it.
   */
  registerOrJoin(hash: string): Promise<DedupeRegistration>;

  /**
   * Waits for the job of `hash` to settle.
   *
   * @param hash The job's key.
   * @param options An optional abort signal.
   * @returns The owner's result on completion. `undefined` when the owner
   * failed, when the job exceeded the job timeout, or when no job is in
   * progress and none completed within the grace. It never rejects because
   * the owner failed.
   * @throws The signal's reason when `options.signal` aborts.
   */
  waitFor(hash: string, options?: WaitForOptions): Promise<T | undefined>;

  /**
   * Marks the job of `hash` as completed and hands `value` to its waiters.
   *
   * @param hash The job's key.
   * @param value The result.
   */
  complete(hash: string, value: T): Promise<void>;

  /**
   * Marks the job of `hash` as failed. Its waiters receive `undefined`, so
   * that they may elect a new owner. Never causes an unhandled rejection,
   * even when nobody waits.
   *
   * @param hash The job's key.
   * @param error Why the job failed.
   */
  fail(hash: string, error: Error): Promise<void>;

  /**
   * Tells whether a job for `hash` is in progress and within its timeout.
   *
   * @param hash The job's key.
   */
  isInProgress(hash: string): Promise<boolean>;

  /** Releases the store's resources and wakes waiters with `undefined`. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Sliding-window rate limiting, shared by every process that uses the same
 * store.
 *
 * The guarantee: never more than `limit` admissions (by
 * {@linkcode RateLimitStore.acquire} or {@linkcode RateLimitStore.record}) in
 * any interval of length `windowMs`, for each resource.
 *
 * A store may lengthen its windows by a safety margin, so that the origin,
 * which counts arrivals rather than admissions, never sees more than `limit`
 * either: sluice's stores take a `marginMs` option (by default 15% of the
 * window over a backend that processes share, none in memory). The window
 * is then `windowMs` plus the margin for admissions, waits and reset times
 * alike. Admissions the client tracks (see {@linkcode AdmitOptions.track})
 * also keep their slots until a window after their requests' answers.
 */
export interface RateLimitStore {
  /**
   * Optional: the cooldown check, the admission and the wait in one atomic
   * step (for a remote store, one round trip instead of up to three). While
   * the cooldown of `options.cooldownResource` runs, nothing is recorded and
   * `cooldownMs` tells how long it still runs; otherwise it admits exactly
   * as {@linkcode RateLimitStore.acquire} would and, when it refuses, tells
   * the wait of {@linkcode RateLimitStore.getWaitTime}.
   *
   * The client uses it when a store has it, and `getCooldown`, `acquire`
   * and `getWaitTime` otherwise.
   *
   * @param resource The rate-limited resource.
   * @param options The priority and the cooldown resource.
   * @returns Whether it was admitted, the wait and the cooldown.
   */
  admit?(resource: string, options?: AdmitOptions): Promise<Admission>;

  /**
   * Atomically checks the budget of `resource` and, if it allows, records an
   * admission. Concurrent calls never admit more than the budget allows.
   *
   * @param resource The rate-limited resource.
   * @returns `true` when admitted (and recorded), `false` when the budget is spent.
   */
  acquire(resource: string): Promise<boolean>;

  /**
   * Tells whether an admission would be allowed now, without recording one.
   * Not atomic with {@linkcode RateLimitStore.record}: use
   * {@linkcode RateLimitStore.acquire} to admit.
   *
   * @param resource The rate-limited resource.
   */
  canProceed(resource: string): Promise<boolean>;

  /**
   * Records an admission unconditionally, for requests made outside
   * {@linkcode RateLimitStore.acquire}.
   *
   * @param resource The rate-limited resource.
   */
  record(resource: string): Promise<void>;

  /**
   * Reads the budget of `resource`.
   *
   * @param resource The rate-limited resource.
   */
  getStatus(resource: string): Promise<RateLimitStatus>;

  /**
   * Forgets every admission and the cooldown of `resource`.
   *
   * @param resource The rate-limited resource.
   */
  reset(resource: string): Promise<void>;

  /**
   * Tells how long until `resource` admits again.
   *
   * @param resource The rate-limited resource.
   * @returns `0` when an admission is allowed now; otherwise the exact number
   * of milliseconds until the oldest admission in the window leaves it.
   */
  getWaitTime(resource: string): Promise<number>;

  /**
   * Sets the budget of one resource, overriding the default configuration.
   *
   * @param resource The rate-limited resource.
   * @param config Its budget.
   * @throws {ConfigError} When `config` is invalid.
   */
  setResourceConfig(resource: string, config: RateLimitConfig): void;

  /**
   * Returns the budget that applies to `resource`.
   *
   * @param resource The rate-limited resource.
   */
  getResourceConfig(resource: string): RateLimitConfig;

  /**
   * Holds back `resource` for `durationMs` from now, as the server asked
   * (`Retry-After`, `RateLimit-*`). A cooldown only ever extends: a shorter
   * one does not cut an existing longer one.
   *
   * @param resource The rate-limited resource.
   * @param durationMs How long to hold back, in milliseconds.
   */
  setCooldown(resource: string, durationMs: number): Promise<void>;

  /**
   * Tells how long the cooldown of `resource` still runs.
   *
   * @param resource The rate-limited resource.
   * @returns Milliseconds left, or `0` when there is no cooldown.
   */
  getCooldown(resource: string): Promise<number>;

  /** Releases the store's resources. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A {@linkcode RateLimitStore} that splits each resource's budget between
 * `"user"` and `"background"` traffic, based on recent user activity shared
 * through the store. The reservations never add up to more than `limit`, and
 * the total guarantee of {@linkcode RateLimitStore} still holds. A call
 * without a priority counts as `"background"`.
 */
export interface AdaptiveRateLimitStore extends RateLimitStore {
  /**
   * Atomically checks the budget for `priority` and, if it allows, records an
   * admission for it.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `true` when admitted (and recorded).
   */
  acquire(resource: string, priority?: Priority): Promise<boolean>;

  /**
   * Tells whether an admission for `priority` would be allowed now.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   */
  canProceed(resource: string, priority?: Priority): Promise<boolean>;

  /**
   * Records an admission for `priority` unconditionally.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   */
  record(resource: string, priority?: Priority): Promise<void>;

  /**
   * Reads the budget and the current split.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class whose `remaining` is reported.
   */
  getStatus(
    resource: string,
    priority?: Priority,
  ): Promise<AdaptiveRateLimitStatus>;

  /**
   * Tells how long until `priority` may be admitted again.
   *
   * @param resource The rate-limited resource.
   * @param priority The traffic class.
   * @returns `0` when allowed now; otherwise milliseconds to wait, measured
   * against the window (`windowMs`, plus the store's margin if it has one).
   */
  getWaitTime(resource: string, priority?: Priority): Promise<number>;
}

/** Counts a cache store reports from `getStats()`, on every backend. */
export interface CacheStoreStats {
  /** Entries held, including expired ones not yet removed. */
  totalItems: number;
  /**
   * Entries that expired but are still held. `0` on backends that remove
   * expired entries themselves (Redis).
   */
  expiredItems: number;
  /** The summed size of the entries as the store keeps them, in bytes. */
  totalBytes: number;
  /**
   * On a store with tag support: how many (tag, key) pairs its tag index
   * holds, including pairs of entries that expired and were not yet
   * dropped. Absent on a store without tags.
   */
  tagIndexEntries?: number;
}

/** Counts a rate-limit store reports from `getStats()`, on every backend. */
export interface RateLimitStoreStats {
  /** Admissions the store holds, all resources together. */
  totalRequests: number;
  /** Resources with at least one admission held. */
  uniqueResources: number;
  /**
   * Resources whose budget, as this store configures it, is spent right
   * now; at most 100, in order.
   */
  rateLimitedResources: string[];
  /** Resources with a cooldown that still runs; at most 100, in order. */
  coolingDownResources: string[];
}

/** Counts an adaptive rate-limit store reports from `getStats()`. */
export interface AdaptiveRateLimitStoreStats extends RateLimitStoreStats {
  /** User activity across all resources. */
  adaptiveMetrics: {
    /** User admissions within the monitoring window, all resources together. */
    recentUserRequests: number;
    /** Resources with a user admission within the monitoring window. */
    resourcesWithRecentUsers: number;
  };
}

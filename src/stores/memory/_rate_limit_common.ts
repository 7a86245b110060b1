import type { Clock } from "../../clock.ts";
import { cooldownDuration } from "../_validate.ts";
import { closedError } from "./_options.ts";

/**
 * A map of per-resource state that drops idle entries lazily: whenever it
 * has doubled since the last sweep, one pass removes the entries that hold
 * nothing any more. Each insertion pays O(1) amortised, and no timer runs.
 */
export class SweptMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #isIdle: (value: V, now: number, key: string) => boolean;
  readonly #clock: Clock;
  #sweepAt = 1024;

  constructor(
    clock: Clock,
    isIdle: (value: V, now: number, key: string) => boolean,
  ) {
    this.#clock = clock;
    this.#isIdle = isIdle;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  getOrCreate(key: string, create: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      if (this.#entries.size >= this.#sweepAt) this.#sweep();
      value = create();
      this.#entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, value] of this.#entries) {
      if (this.#isIdle(value, now, key)) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(1024, this.#entries.size * 2);
  }
}

/** What every memory rate-limit store keeps per resource, at the least. */
export interface CooldownBucket {
  /** When the cooldown ends, in clock time; `-Infinity` when none. */
  cooldownUntil: number;
}

/** How a memory rate-limit store makes, prunes and judges its buckets. */
export interface BucketKind<B extends CooldownBucket> {
  /** A new, empty bucket for `resource`. */
  create(resource: string): B;
  /** Drops what has left the windows of `resource` by `now`. */
  prune(bucket: B, resource: string, now: number): void;
  /** Whether a pruned bucket holds nothing any more and may be dropped. */
  isIdle(bucket: B, now: number): boolean;
}

/**
 * What both memory rate-limit stores share: one bucket per resource, dropped
 * lazily once idle; the cooldown in each bucket; and the closed state that
 * makes every later call reject.
 */
export class RateLimitBuckets<B extends CooldownBucket> {
  readonly #component: string;
  readonly #clock: Clock;
  readonly #kind: BucketKind<B>;
  readonly #buckets: SweptMap<B>;
  #closed = false;

  constructor(component: string, clock: Clock, kind: BucketKind<B>) {
    this.#component = component;
    this.#clock = clock;
    this.#kind = kind;
    this.#buckets = new SweptMap(clock, (bucket, now, resource) => {
      kind.prune(bucket, resource, now);
      return kind.isIdle(bucket, now);
    });
  }

  /** The bucket of `resource` as it is, if any. */
  get(resource: string): B | undefined {
    return this.#buckets.get(resource);
  }

  /** The bucket of `resource`, if any, pruned to `now`. */
  pruned(resource: string, now: number): B | undefined {
    const bucket = this.#buckets.get(resource);
    if (bucket !== undefined) this.#kind.prune(bucket, resource, now);
    return bucket;
  }

  /** The bucket of `resource`, created if missing, pruned to `now`. */
  bucket(resource: string, now: number): B {
    const bucket = this.#buckets.getOrCreate(
      resource,
      () => this.#kind.create(resource),
    );
    this.#kind.prune(bucket, resource, now);
    return bucket;
  }

  /** Runs `body` as `operation`, or rejects with a StoreError once closed. */
  run<T>(operation: string, body: () => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(closedError(this.#component, operation));
    }
    return settle(body);
  }

  /** Forgets everything about `resource`. */
  reset(resource: string): Promise<void> {
    return this.run("reset", () => this.#buckets.delete(resource));
  }

  /** Extends the cooldown of `resource` to `durationMs` from now. */
  setCooldown(resource: string, durationMs: number): Promise<void> {
    return this.run("setCooldown", () => {
      const duration = cooldownDuration(this.#component, durationMs);
      const now = this.#clock.now();
      const bucket = this.bucket(resource, now);
      bucket.cooldownUntil = Math.max(bucket.cooldownUntil, now + duration);
    });
  }

  /** The milliseconds left of the cooldown of `resource`, or `0`. */
  getCooldown(resource: string): Promise<number> {
    return this.run("getCooldown", () => {
      const until = this.#buckets.get(resource)?.cooldownUntil ?? -Infinity;
      return Math.max(0, until - this.#clock.now());
    });
  }

  /** Drops every bucket; later calls reject. */
  close(): Promise<void> {
    this.#closed = true;
    this.#buckets.clear();
    return Promise.resolve();
  }
}

/** Settles a synchronous body as a promise: its result, or its exception as a rejection. */
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

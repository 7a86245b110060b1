import type { Clock } from "../../clock.ts";
import {
  rateLimitConfig,
  rateLimitMargin,
  resourceConfigs,
} from "../_validate.ts";
import type { RateLimitConfig } from "../types.ts";

/** The default budget of a resource without its own configuration. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({
  limit: 60,
  windowMs: 60_000,
});

/**
 * The budgets of every resource: a default and per-resource overrides, and
 * the safety margin that lengthens every window.
 */
export class ResourceConfigs {
  readonly #component: string;
  readonly #default: RateLimitConfig;
  readonly #overrides: Map<string, RateLimitConfig>;
  readonly #marginMs: number;

  constructor(
    component: string,
    defaultConfig: unknown,
    overrides: unknown,
    marginMs: unknown,
  ) {
    this.#component = component;
    this.#default = rateLimitConfig(component, "defaultConfig", defaultConfig);
    this.#overrides = resourceConfigs(component, overrides);
    this.#marginMs = rateLimitMargin(component, marginMs);
  }

  /** The budget as configured. */
  get(resource: string): RateLimitConfig {
    return this.#overrides.get(resource) ?? this.#default;
  }

  /** The window the store enforces: `windowMs + marginMs`. */
  windowMs(resource: string): number {
    return this.get(resource).windowMs + this.#marginMs;
  }

  set(resource: string, config: unknown): RateLimitConfig {
    const valid = rateLimitConfig(
      this.#component,
      `resourceConfigs.${resource}`,
      config,
    );
    this.#overrides.set(resource, valid);
    return valid;
  }
}

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

/** Settles a synchronous body as a promise: its result, or its exception as a rejection. */
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

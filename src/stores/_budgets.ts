import {
  rateLimitConfig,
  rateLimitMargin,
  resourceConfigs,
} from "./_validate.ts";
import type { RateLimitConfig } from "./types.ts";

/** The budget of a resource without its own configuration. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({
  limit: 60,
  windowMs: 60_000,
});

/** The budget options every rate-limit store takes, not yet validated. */
export interface BudgetOptions {
  defaultConfig?: unknown;
  resourceConfigs?: unknown;
  marginMs?: unknown;
}

/**
 * The budgets of every resource, as configured in this process: a default,
 * per-resource overrides, and the safety margin that lengthens every window.
 * Every rate-limit store, whatever its backend, keeps its budgets here.
 */
export class Budgets {
  readonly #component: string;
  readonly #default: RateLimitConfig;
  readonly #overrides: Map<string, RateLimitConfig>;
  readonly #marginMs: number;

  /**
   * Validates `defaultConfig` (which defaults to
   * {@linkcode DEFAULT_RATE_LIMIT}), then `resourceConfigs`, then `marginMs`.
   *
   * @throws {ConfigError} When one is invalid, naming `component`.
   */
  constructor(component: string, options: BudgetOptions) {
    const {
      defaultConfig = DEFAULT_RATE_LIMIT,
      resourceConfigs: overrides,
      marginMs,
    } = options;
    this.#component = component;
    this.#default = rateLimitConfig(component, "defaultConfig", defaultConfig);
    this.#overrides = resourceConfigs(component, overrides);
    this.#marginMs = rateLimitMargin(component, marginMs);
  }

  /** The budget of `resource` as configured. */
  get(resource: string): RateLimitConfig {
    return this.#overrides.get(resource) ?? this.#default;
  }

  /** The window the store enforces for `resource`: `windowMs + marginMs`. */
  windowMs(resource: string): number {
    return this.get(resource).windowMs + this.#marginMs;
  }

  /** The budget the store enforces: the window lengthened by the margin. */
  effective(resource: string): RateLimitConfig {
    return this.#lengthen(this.get(resource));
  }

  /** The enforced budget of resources without an override. */
  get fallback(): RateLimitConfig {
    return this.#lengthen(this.#default);
  }

  /** The enforced budget of every resource with an override. */
  *effectiveOverrides(): Generator<[string, RateLimitConfig], void, undefined> {
    for (const [resource, config] of this.#overrides) {
      yield [resource, this.#lengthen(config)];
    }
  }

  /** The longest enforced window of any known budget. */
  longestWindowMs(): number {
    let longest = this.#default.windowMs;
    for (const { windowMs } of this.#overrides.values()) {
      longest = Math.max(longest, windowMs);
    }
    return longest + this.#marginMs;
  }

  /**
   * Sets the budget of one resource.
   *
   * @throws {ConfigError} When `config` is invalid.
   */
  set(resource: string, config: unknown): RateLimitConfig {
    const valid = rateLimitConfig(
      this.#component,
      `resourceConfigs.${resource}`,
      config,
    );
    this.#overrides.set(resource, valid);
    return valid;
  }

  #lengthen({ limit, windowMs }: RateLimitConfig): RateLimitConfig {
    return { limit, windowMs: windowMs + this.#marginMs };
  }
}

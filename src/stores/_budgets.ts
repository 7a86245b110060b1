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

/**
 * The share of its window that the default margin of a shared store adds:
 * a burst is then admitted at `limit` per `1.15 × windowMs`, 87% of the
 * budget, and requests of other processes may reach the origin up to
 * `0.15 × windowMs` later than their admission.
 */
export const DEFAULT_MARGIN_SHARE = 0.15;

/** The default margin of a window that other processes share. */
export function defaultMarginMs(windowMs: number): number {
  return Math.floor(windowMs * DEFAULT_MARGIN_SHARE);
}

/** The budget options every rate-limit store takes, not yet validated. */
export interface BudgetOptions {
  defaultConfig?: unknown;
  resourceConfigs?: unknown;
  marginMs?: unknown;
}

/** A configured budget and the one the store enforces (margin included). */
export interface Budget {
  readonly configured: Readonly<RateLimitConfig>;
  readonly enforced: Readonly<RateLimitConfig>;
  /**
   * What the store derives from this budget (the requests it sends its
   * backend), kept with it and dropped when the budget is replaced.
   */
  derived: unknown;
}

/**
 * The budgets of every resource, as configured in this process: a default,
 * per-resource overrides, and the safety margin that lengthens every window.
 * Every rate-limit store, whatever its backend, keeps its budgets here.
 */
export class Budgets {
  readonly #component: string;
  readonly #default: Budget;
  readonly #overrides = new Map<string, Budget>();
  /** The fixed margin; `undefined` for the default of each window. */
  readonly #marginMs: number | undefined;
  readonly #shared: boolean;

  /**
   * Validates `defaultConfig` (which defaults to
   * {@linkcode DEFAULT_RATE_LIMIT}), then `resourceConfigs`, then `marginMs`.
   * Without `marginMs`, a `shared` window gets {@linkcode defaultMarginMs}
   * and a local one none.
   *
   * @throws {ConfigError} When one is invalid, naming `component`.
   */
  constructor(component: string, options: BudgetOptions, shared = true) {
    const {
      defaultConfig = DEFAULT_RATE_LIMIT,
      resourceConfigs: overrides,
      marginMs,
    } = options;
    this.#component = component;
    const configured = rateLimitConfig(
      component,
      "defaultConfig",
      defaultConfig,
    );
    const valid = resourceConfigs(component, overrides);
    this.#marginMs = marginMs === undefined
      ? undefined
      : rateLimitMargin(component, marginMs);
    this.#shared = shared;
    this.#default = this.#budget(configured);
    for (const [resource, config] of valid) {
      this.#overrides.set(resource, this.#budget(config));
    }
  }

  /** The budget of `resource`, configured and enforced. */
  budget(resource: string): Budget {
    // Most stores configure no override: no lookup for them.
    if (this.#overrides.size === 0) return this.#default;
    return this.#overrides.get(resource) ?? this.#default;
  }

  /** The budget of `resource` as configured. Do not change it. */
  get(resource: string): Readonly<RateLimitConfig> {
    return this.budget(resource).configured;
  }

  /**
   * The budget the store enforces for `resource`: the window lengthened by
   * the margin. Do not change it.
   */
  effective(resource: string): Readonly<RateLimitConfig> {
    return this.budget(resource).enforced;
  }

  /** The enforced budget of resources without an override. */
  get fallback(): Readonly<RateLimitConfig> {
    return this.#default.enforced;
  }

  /** The enforced budget of every resource with an override. */
  *effectiveOverrides(): Generator<
    [string, Readonly<RateLimitConfig>],
    void,
    undefined
  > {
    for (const [resource, { enforced }] of this.#overrides) {
      yield [resource, enforced];
    }
  }

  /** The longest enforced window of any known budget. */
  longestWindowMs(): number {
    let longest = this.#default.enforced.windowMs;
    for (const { enforced } of this.#overrides.values()) {
      longest = Math.max(longest, enforced.windowMs);
    }
    return longest;
  }

  /**
   * Sets the budget of one resource.
   *
   * @throws {ConfigError} When `config` is invalid.
   */
  set(resource: string, config: unknown): Readonly<RateLimitConfig> {
    const valid = rateLimitConfig(
      this.#component,
      `resourceConfigs.${resource}`,
      config,
    );
    const budget = this.#budget(valid);
    this.#overrides.set(resource, budget);
    return budget.configured;
  }

  #budget(config: RateLimitConfig): Budget {
    const { limit, windowMs } = config;
    return {
      configured: Object.freeze({ limit, windowMs }),
      enforced: Object.freeze({
        limit,
        windowMs: windowMs + this.#margin(windowMs),
      }),
      derived: undefined,
    };
  }

  #margin(windowMs: number): number {
    if (this.#marginMs !== undefined) return this.#marginMs;
    return this.#shared ? defaultMarginMs(windowMs) : 0;
  }
}

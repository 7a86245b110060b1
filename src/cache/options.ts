/**
 * Options of the cache policy, shared by every function in `src/cache/`.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** One hour, in milliseconds. */
const HOUR_MS = 3_600_000;

/** Default cap of heuristic freshness: 24 hours. */
export const DEFAULT_MAX_HEURISTIC_MS: number = 24 * HOUR_MS;

/** Default time a stale entry with a validator is kept for revalidation: 24 hours. */
export const DEFAULT_REVALIDATION_STORAGE_MS: number = 24 * HOUR_MS;

/** Default time a stale entry is kept for requests that accept it stale: 1 hour. */
export const DEFAULT_STALE_STORAGE_MS: number = HOUR_MS;

/** User overrides of what the origin asked for. Use with care. */
export interface CachePolicyOverrides {
  /**
   * Store responses marked `no-store` anyway.
   *
   * @default {false}
   */
  ignoreNoStore?: boolean;
  /**
   * Serve fresh responses marked `no-cache` without revalidating them.
   *
   * @default {false}
   */
  ignoreNoCache?: boolean;
  /**
   * The shortest freshness lifetime, in milliseconds; longer-lived origin
   * values are kept, shorter ones are raised to it.
   *
   * @default {undefined}
   */
  minTtlMs?: number;
  /**
   * The longest freshness lifetime, in milliseconds; shorter origin values
   * are kept, longer ones are cut to it.
   *
   * @default {undefined}
   */
  maxTtlMs?: number;
}

/** Options of the cache policy. */
export interface CachePolicyOptions {
  /**
   * Behave as a shared cache: honour `s-maxage` and `proxy-revalidate`, and
   * refuse `private` responses and responses to requests with
   * `Authorization` (unless `public`, `s-maxage` or `must-revalidate` allow).
   *
   * @default {false}
   */
  shared?: boolean;
  /**
   * The freshness lifetime, in milliseconds, of responses that carry no
   * explicit freshness information (`max-age`, `s-maxage`, `Expires`). It
   * takes precedence over heuristic freshness.
   *
   * @default {undefined}
   */
  defaultTtlMs?: number;
  /**
   * The statuses `defaultTtlMs` applies to; other responses without
   * explicit freshness keep heuristic freshness.
   *
   * @default {undefined} (every status that may be cached heuristically)
   */
  defaultTtlStatuses?: ReadonlySet<number>;
  /**
   * The cap of heuristic freshness (10% of the time since `Last-Modified`),
   * in milliseconds. `0` turns heuristic freshness off.
   *
   * @default {86_400_000}
   */
  maxHeuristicMs?: number;
  /**
   * How long, in milliseconds, an entry that carries a validator (`ETag` or
   * `Last-Modified`) is kept in the store after it goes stale, so that it
   * can be revalidated with a cheap conditional request.
   *
   * @default {86_400_000}
   */
  revalidationStorageMs?: number;
  /**
   * How long, in milliseconds, an entry is kept in the store after it goes
   * stale for requests that accept a stale response: a request's
   * `max-stale` (which without a value accepts any staleness, so in effect
   * up to this long), a request's `stale-if-error`, and the `force-cache`
   * and `only-if-cached` modes. An entry that may never be served stale
   * (`must-revalidate`, `no-cache`, and in a shared cache
   * `proxy-revalidate` or `s-maxage`), or that was never fresh
   * (`max-age=0`, or no freshness lifetime at all), is not kept for it.
   * `0` keeps entries without a validator only while fresh or within
   * their own `stale-while-revalidate` or `stale-if-error` window.
   *
   * @default {3_600_000}
   */
  staleStorageMs?: number;
  /**
   * Overrides of the origin's directives.
   *
   * @default {{}}
   */
  overrides?: CachePolicyOverrides;
}

/**
 * Validates cache policy options eagerly, so that a bad option fails at
 * construction.
 *
 * @param value The options, as given by the user; `undefined` means defaults.
 * @param component The thing being created, named in errors.
 * @param prefix The option path prefix, named in errors.
 * @returns A copy of the options, with only the fields that were set.
 * @throws {ConfigError} When an option is invalid, for example
 * "Cannot create HttpClient as 'cache.defaultTtlMs' must be a non-negative
 * number of milliseconds: received -1".
 *
 * @example Failing early
 * ```ts
 * import { validateCachePolicyOptions } from "./options.ts";
 *
 * try {
 *   validateCachePolicyOptions({ defaultTtlMs: -1 });
 * } catch (error) {
 *   console.log((error as Error).message);
 * }
 * ```
 */
export function validateCachePolicyOptions(
  value: unknown,
  component = "HttpClient",
  prefix = "cache",
): CachePolicyOptions {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(component, prefix, value, "an object");
  }
  const input = value as Record<string, unknown>;
  const out: CachePolicyOptions = {};
  const shared = _boolean(component, `${prefix}.shared`, input.shared);
  if (shared !== undefined) out.shared = shared;
  const ttl = _ms(component, `${prefix}.defaultTtlMs`, input.defaultTtlMs);
  if (ttl !== undefined) out.defaultTtlMs = ttl;
  const statuses = input.defaultTtlStatuses;
  if (statuses !== undefined) {
    const list = statuses instanceof Set ? [...statuses] : statuses;
    if (
      !Array.isArray(list) ||
      !list.every((s) =>
        typeof s === "number" && Number.isInteger(s) && s >= 200 && s <= 599
      )
    ) {
      throw new ConfigError(
        component,
        `${prefix}.defaultTtlStatuses`,
        statuses,
        "an array of final HTTP status codes (200-599)",
      );
    }
    out.defaultTtlStatuses = new Set(list as number[]);
  }
  const heuristic = _ms(
    component,
    `${prefix}.maxHeuristicMs`,
    input.maxHeuristicMs,
  );
  if (heuristic !== undefined) out.maxHeuristicMs = heuristic;
  const revalidation = _ms(
    component,
    `${prefix}.revalidationStorageMs`,
    input.revalidationStorageMs,
  );
  if (revalidation !== undefined) out.revalidationStorageMs = revalidation;
  const staleStorage = _ms(
    component,
    `${prefix}.staleStorageMs`,
    input.staleStorageMs,
  );
  if (staleStorage !== undefined) out.staleStorageMs = staleStorage;
  if (input.overrides !== undefined) {
    const o = input.overrides;
    const name = `${prefix}.overrides`;
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      throw new ConfigError(component, name, o, "an object");
    }
    const raw = o as Record<string, unknown>;
    const overrides: CachePolicyOverrides = {};
    const noStore = _boolean(
      component,
      `${name}.ignoreNoStore`,
      raw.ignoreNoStore,
    );
    if (noStore !== undefined) overrides.ignoreNoStore = noStore;
    const noCache = _boolean(
      component,
      `${name}.ignoreNoCache`,
      raw.ignoreNoCache,
    );
    if (noCache !== undefined) overrides.ignoreNoCache = noCache;
    const min = _ms(component, `${name}.minTtlMs`, raw.minTtlMs);
    if (min !== undefined) overrides.minTtlMs = min;
    const max = _ms(component, `${name}.maxTtlMs`, raw.maxTtlMs);
    if (max !== undefined) overrides.maxTtlMs = max;
    if (min !== undefined && max !== undefined && min > max) {
      throw new ConfigError(
        component,
        `${name}.minTtlMs`,
        min,
        `at most '${name}.maxTtlMs' (${max})`,
      );
    }
    out.overrides = overrides;
  }
  return out;
}

function _boolean(
  component: string,
  option: string,
  value: unknown,
): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ConfigError(component, option, value, "a boolean");
}

// Milliseconds: finite, non-negative, and small enough that lifetimes stay
// exact integers once added to a timestamp.
function _ms(
  component: string,
  option: string,
  value: unknown,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    value > Number.MAX_SAFE_INTEGER / 2
  ) {
    throw new ConfigError(
      component,
      option,
      value,
      "a non-negative number of milliseconds",
    );
  }
  return value;
}

// What a decorator needs of the stores it wraps: a check, when it is built,
// that each one is a store, and the optional methods it may forward.

import { ConfigError } from "../../errors.ts";
import { _emitStoreEvent, type StoreEventListener } from "../store_events.ts";
import type {
  CacheSetOptions,
  CacheStore,
  CacheStoreStats,
  DedupeStore,
} from "../types.ts";

/** The methods every sluice cache store has besides the contract. */
export interface _CacheStoreExtras {
  getStats?: () => Promise<CacheStoreStats>;
  cleanup?: () => Promise<number>;
}

const CACHE_METHODS = ["get", "set", "delete", "clear", "close"] as const;
const DEDUPE_METHODS = [
  "register",
  "registerOrJoin",
  "waitFor",
  "complete",
  "fail",
  "isInProgress",
  "close",
] as const;

/** Throws ConfigError naming `option` unless `value` is a cache store. */
export function cacheStoreOption<T>(
  component: string,
  option: string,
  value: unknown,
): CacheStore<T> & _CacheStoreExtras {
  if (!_hasMethods(value, CACHE_METHODS)) {
    throw new ConfigError(
      component,
      option,
      value,
      "a CacheStore (an object with get, set, delete, clear and close)",
    );
  }
  return value as CacheStore<T> & _CacheStoreExtras;
}

/** Throws ConfigError naming `option` unless `value` is a dedupe store. */
export function dedupeStoreOption<T>(
  component: string,
  option: string,
  value: unknown,
): DedupeStore<T> {
  if (!_hasMethods(value, DEDUPE_METHODS)) {
    throw new ConfigError(
      component,
      option,
      value,
      "a DedupeStore (an object with register, registerOrJoin, waitFor, complete, fail, isInProgress and close)",
    );
  }
  return value as DedupeStore<T>;
}

/** Throws ConfigError unless `value` is a function or absent. */
export function optionalFunction<F>(
  component: string,
  option: string,
  value: unknown,
): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new ConfigError(component, option, value, "a function");
  }
  return value as F | undefined;
}

/** Throws ConfigError unless `value` is an options object or absent. */
export function optionsObject(
  component: string,
  value: unknown,
): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(component, "options", value, "an object");
  }
  return value as Record<string, unknown>;
}

function _hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return methods.every((method) => typeof record[method] === "function");
}

/** The message of a caught value, for the message of an error that wraps it. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The answer to a stored value a decorator cannot read back: reported as
 * `cache.corrupt`, deleted from `inner`, and a miss whether or not the
 * removal succeeds.
 */
export async function corruptMiss(
  inner: CacheStore<unknown>,
  onEvent: StoreEventListener | undefined,
  hash: string,
  reason: string,
): Promise<undefined> {
  _emitStoreEvent(onEvent, { type: "cache.corrupt", key: hash, reason });
  try {
    await inner.delete(hash);
  } catch {
    // A miss is the answer either way.
  }
  return undefined;
}

/**
 * Calls `store.set`, with `options` only when there are any: a store
 * written before tags sees the call it always saw.
 */
export function setOn<T>(
  store: CacheStore<T>,
  hash: string,
  value: T,
  ttlSeconds: number,
  options: CacheSetOptions | undefined,
): Promise<void | boolean> {
  return options === undefined
    ? store.set(hash, value, ttlSeconds)
    : store.set(hash, value, ttlSeconds, options);
}

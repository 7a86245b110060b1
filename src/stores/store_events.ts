/**
 * What a store does on its own that its user may want to know about: an
 * entry too large to keep, or a stored value that could not be decoded.
 * Every backend reports these through its `onEvent` option with the same
 * shapes.
 *
 * @module
 */

/** A value that was not kept because it is larger than the store allows. */
export interface StoreSkippedEvent {
  /** `"cache.skipped"` for a cache entry, `"dedupe.skipped"` for a flight's result. */
  type: "cache.skipped" | "dedupe.skipped";
  /** The key the value was written under. */
  key: string;
  /** Its encoded size in bytes. */
  bytes: number;
  /** The store's `maxEntrySizeBytes`. */
  limit: number;
}

/**
 * A stored value that could not be decoded. A cache entry counts as a miss
 * and is deleted unless another writer replaced it meanwhile; a flight's
 * result reaches its waiters as no result, so that they elect a new owner.
 */
export interface StoreCorruptEvent {
  /** `"cache.corrupt"` for a cache entry, `"dedupe.corrupt"` for a flight's result. */
  type: "cache.corrupt" | "dedupe.corrupt";
  /** The key the value was found under. */
  key: string;
  /** Why it could not be decoded. */
  reason: string;
}

/** An event a store reports through its `onEvent` option. */
export type StoreEvent = StoreSkippedEvent | StoreCorruptEvent;

/** A listener for {@linkcode StoreEvent}s. */
export type StoreEventListener = (event: StoreEvent) => void;

/**
 * Calls a listener, ignoring anything it throws or rejects with: a listener
 * never breaks a store operation.
 */
export function _emitStoreEvent(
  listener: StoreEventListener | undefined,
  event: StoreEvent,
): void {
  if (listener === undefined) return;
  try {
    const result: unknown = listener(event);
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // Ignored on purpose.
  }
}

// A synchronous read of a MemoryCacheStore for the client's cache reader:
// the same as `get`, without the promise a `CacheStore` must return. A
// store whose `get` was replaced (a subclass, a patched instance) is read
// through its own `get`.
//
// The store also remembers which of its values the client marked as
// entries it built itself, in place of the client remembering each of them.

interface _Reader {
  read(key: string): unknown;
  /** The `get` that `read` stands for. */
  get: unknown;
  /** Marks `value` when it is what `key` holds: see {@linkcode markEntry}. */
  mark(key: string, value: unknown): boolean;
  /** Whether `key` holds `value`, marked. */
  marked(key: string, value: unknown): boolean;
}

const readers = new WeakMap<object, _Reader>();

/** Registers the synchronous read and the marks of `store`. */
export function registerSyncGet(store: object, reader: _Reader): void {
  readers.set(store, reader);
}

/**
 * Whether `store` is a memory store: one that keeps the values it is given
 * in this process, so that their form in memory is what it costs.
 */
export function keepsValues(store: object): boolean {
  return readers.has(store);
}

/**
 * Marks `value`, which `key` of `store` holds, as an entry the client built:
 * until `key` is written again, {@linkcode marksOf} answers `true` for it.
 *
 * @returns `false` when `store` keeps no marks (any store but a memory
 * store), or `key` does not hold `value` (any more).
 */
export function markEntry(
  store: object,
  key: string,
  value: unknown,
): boolean {
  return readers.get(store)?.mark(key, value) ?? false;
}

/**
 * How to tell whether `key` of `store` holds `value`, marked by
 * {@linkcode markEntry}: never for a store that keeps no marks.
 */
export function marksOf(
  store: object,
): (key: string, value: unknown) => boolean {
  return readers.get(store)?.marked ?? _never;
}

function _never(): boolean {
  return false;
}

/**
 * How a cache reader reads `store`: at once for a memory store whose `get`
 * is its own, through `store.get` otherwise. A read may throw (a closed
 * store) or return a promise.
 */
export function syncGet(
  store: { get(key: string): Promise<unknown> },
): (key: string) => unknown {
  const reader = readers.get(store);
  if (reader === undefined) return (key) => store.get(key);
  return (key) => store.get === reader.get ? reader.read(key) : store.get(key);
}

/** What {@linkcode readNow} answers for a store it cannot read at once. */
export const NOT_SYNC: unique symbol = Symbol("sluice.notSync");

/**
 * Reads `key` of `store` at once, or answers {@linkcode NOT_SYNC} when
 * `store` is not a memory store whose `get` is its own (nothing is read
 * then).
 *
 * @throws What the store's read throws (a closed store).
 */
export function readNow(
  store: { get(key: string): Promise<unknown> },
  key: string,
): unknown {
  const reader = readers.get(store);
  if (reader === undefined || store.get !== reader.get) return NOT_SYNC;
  return reader.read(key);
}

// A synchronous read of a MemoryCacheStore for the client's cache reader:
// the same as `get`, without the promise a `CacheStore` must return. A
// store whose `get` was replaced (a subclass, a patched instance) is read
// through its own `get`.

interface _Reader {
  read(key: string): unknown;
  /** The `get` that `read` stands for. */
  get: unknown;
}

const readers = new WeakMap<object, _Reader>();

/** Registers the synchronous `read` of `store`, which stands for `get`. */
export function registerSyncGet(
  store: object,
  read: (key: string) => unknown,
  get: unknown,
): void {
  readers.set(store, { read, get });
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

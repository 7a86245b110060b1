// Dedupe store operations without a promise, for a store whose backend
// answers in the same step (process memory): the distributed flight of the
// client then registers and completes a job without the microtasks and the
// deadline a store that goes over a network needs. A store whose methods
// were replaced (a subclass, a patched instance) is called through its own.

import type { LeaseBackend, LeaseClaim } from "./lease.ts";
import type { DedupeRegistration } from "./types.ts";

/** What a backend that answers at once offers: its claim and settle, without a promise. */
export interface SyncLease<E> {
  claim(...args: Parameters<LeaseBackend<E>["claim"]>): LeaseClaim;
  settle(...args: Parameters<LeaseBackend<E>["settle"]>): boolean;
}

/**
 * `registerOrJoin` and `complete` of a dedupe store, answered at once: each
 * throws what the store's own method rejects with. `complete` returns a
 * promise only when it has to fail the job instead (a result too large).
 */
export interface SyncDedupe<T> {
  registerOrJoin(key: string): DedupeRegistration;
  complete(key: string, value: T): void | Promise<void>;
}

const leases = new WeakMap<object, SyncLease<unknown>>();

/** Registers the synchronous claim and settle of a lease backend. */
export function registerSyncLease<E>(backend: object, ops: SyncLease<E>): void {
  leases.set(backend, ops as SyncLease<unknown>);
}

/** The synchronous claim and settle of a lease backend, if it has them. */
export function syncLease<E>(backend: object): SyncLease<E> | undefined {
  return leases.get(backend) as SyncLease<E> | undefined;
}

interface _Entry {
  ops: SyncDedupe<unknown>;
  registerOrJoin: unknown;
  complete: unknown;
}

const stores = new WeakMap<object, _Entry>();

/**
 * Registers the synchronous operations of `store`, which stand for its
 * `registerOrJoin` and `complete` as they are now.
 */
export function registerSyncDedupe<T>(
  store: { registerOrJoin: unknown; complete: unknown },
  ops: SyncDedupe<T>,
): void {
  stores.set(store, {
    ops: ops as SyncDedupe<unknown>,
    registerOrJoin: store.registerOrJoin,
    complete: store.complete,
  });
}

/**
 * The synchronous operations of `store`, or `undefined` when it has none or
 * its `registerOrJoin` or `complete` is no longer the one they stand for.
 */
export function syncDedupe<T>(
  store: { registerOrJoin: unknown; complete: unknown },
): SyncDedupe<T> | undefined {
  const entry = stores.get(store);
  if (
    entry === undefined || store.registerOrJoin !== entry.registerOrJoin ||
    store.complete !== entry.complete
  ) {
    return undefined;
  }
  return entry.ops as SyncDedupe<T>;
}

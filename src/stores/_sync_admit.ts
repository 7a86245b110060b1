// A rate-limit store's admission without a promise, for a store whose
// backend answers in the same step (process memory): the limiter then
// admits an attempt without the microtasks and the deadline a store that
// goes over a network needs. A store whose `admit` was replaced (a
// subclass, a patched instance) is called through its own.

import type { Maybe } from "./_window_values.ts";
import type { Admission, AdmitOptions } from "./types.ts";

/**
 * `admit` answered at once when the backend answers at once: the admission,
 * or a promise of it from a backend that does not; it throws what `admit`
 * rejects with.
 */
export type SyncAdmit = (
  resource: string,
  options: AdmitOptions,
) => Maybe<Admission>;

const stores = new WeakMap<object, { admit: SyncAdmit; stands: unknown }>();

/** Registers the synchronous `admit` of `store`, which stands for its `admit` as it is now. */
export function registerSyncAdmit(
  store: { admit: unknown },
  admit: SyncAdmit,
): void {
  stores.set(store, { admit, stands: store.admit });
}

/**
 * The synchronous `admit` of `store`, or `undefined` when it has none or
 * its `admit` is no longer the one it stands for.
 */
export function syncAdmit(store: { admit?: unknown }): SyncAdmit | undefined {
  const entry = stores.get(store);
  return entry === undefined || store.admit !== entry.stands
    ? undefined
    : entry.admit;
}

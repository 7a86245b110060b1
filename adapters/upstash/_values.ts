import type { StoreEvent } from "../../src/stores/store_events.ts";

/**
 * Something an Upstash store did on its own that the caller may want to
 * know about: an entry too large to store, or a stored value that could not
 * be decoded (and was deleted).
 */
export type UpstashStoreEvent = StoreEvent;

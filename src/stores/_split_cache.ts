import type { AdaptiveSplit } from "../rate_limit/adaptive_policy.ts";
import type { Priority } from "./types.ts";
import type { RateWindowAdmitRequest } from "./rate_window.ts";

/** The most resources whose split one store keeps. */
export const MAX_CACHED_SPLITS = 10_000;

/** A split as one store computed it. */
export interface CachedSplit {
  readonly split: AdaptiveSplit;
  /** The limit it was computed for. */
  readonly limit: number;
  /** When the activity it was computed from was counted, in the backend's clock. */
  readonly at: number;
  /** When it was computed, in the store's clock. */
  readonly computedAt: number;
  /** The requests of plain acquisitions under it, built on first use. */
  readonly requests: {
    [P in Priority]?: Readonly<RateWindowAdmitRequest>;
  };
}

/**
 * The adaptive splits one store computed, per resource, at most
 * `MAX_CACHED_SPLITS` of them: adding one more drops the least recently
 * computed. A resource in use is recomputed every interval, so it stays.
 */
export class SplitCache {
  readonly #entries = new Map<string, CachedSplit>();
  readonly #max: number;

  constructor(max: number = MAX_CACHED_SPLITS) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(resource: string): CachedSplit | undefined {
    return this.#entries.get(resource);
  }

  set(resource: string, entry: CachedSplit): void {
    // Re-inserting moves it to the end, so the first key is the oldest.
    this.#entries.delete(resource);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(resource, entry);
  }

  delete(resource: string): void {
    this.#entries.delete(resource);
  }

  clear(): void {
    this.#entries.clear();
  }
}

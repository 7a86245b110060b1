import type { Clock } from "../../clock.ts";

/**
 * A map of per-resource state that drops idle entries lazily: whenever it
 * has doubled since the last sweep, one pass removes the entries that hold
 * nothing any more. Each insertion pays O(1) amortised, and no timer runs.
 */
export class SweptMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #isIdle: (value: V, now: number, key: string) => boolean;
  readonly #clock: Clock;
  #sweepAt = 1024;

  constructor(
    clock: Clock,
    isIdle: (value: V, now: number, key: string) => boolean,
  ) {
    this.#clock = clock;
    this.#isIdle = isIdle;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  getOrCreate(key: string, create: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      if (this.#entries.size >= this.#sweepAt) this.#sweep();
      value = create();
      this.#entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Every entry, in insertion order. */
  entries(): IterableIterator<[string, V]> {
    return this.#entries.entries();
  }

  /**
   * Drops every idle entry now.
   *
   * @returns How many were dropped.
   */
  sweep(): number {
    const before = this.#entries.size;
    this.#sweep();
    return before - this.#entries.size;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, value] of this.#entries) {
      if (this.#isIdle(value, now, key)) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(1024, this.#entries.size * 2);
  }
}

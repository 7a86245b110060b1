/**
 * A ring buffer of ascending timestamps with an optional capacity. When full,
 * a push drops the oldest entry: for a sliding window of `limit`, only the
 * newest `limit` admissions decide when budget frees up, so older ones carry
 * no information.
 *
 * Storage starts small and doubles up to the capacity, so a resource with a
 * large limit but little traffic stays cheap.
 */
export class TimestampRing {
  #buffer: Float64Array;
  #head = 0;
  #size = 0;
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#buffer = new Float64Array(Math.min(capacity, 8));
  }

  /** How many timestamps are held. */
  get size(): number {
    return this.#size;
  }

  /** The `index`-th oldest timestamp (0 is the oldest). */
  at(index: number): number {
    return this.#buffer[(this.#head + index) % this.#buffer.length]!;
  }

  /** The newest timestamp, or `-Infinity` when empty. */
  newest(): number {
    return this.#size === 0 ? -Infinity : this.at(this.#size - 1);
  }

  /**
   * Appends a timestamp. A timestamp older than the newest is raised to it,
   * so the ring stays sorted even if the clock steps back.
   */
  push(time: number): void {
    const t = Math.max(time, this.newest());
    if (this.#size === this.#capacity) {
      this.#buffer[this.#head] = t;
      this.#head = (this.#head + 1) % this.#buffer.length;
      return;
    }
    if (this.#size === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.#size) % this.#buffer.length] = t;
    this.#size++;
  }

  /** Drops every timestamp `<= cutoff`. */
  dropThrough(cutoff: number): void {
    while (this.#size > 0 && this.#buffer[this.#head]! <= cutoff) {
      this.#head = (this.#head + 1) % this.#buffer.length;
      this.#size--;
    }
  }

  /** Counts the timestamps `> cutoff`, by binary search. */
  countAfter(cutoff: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid) <= cutoff) lo = mid + 1;
      else hi = mid;
    }
    return this.#size - lo;
  }

  /** Changes the capacity, keeping the newest timestamps. */
  setCapacity(capacity: number): void {
    if (capacity === this.#capacity) return;
    const keep = Math.min(this.#size, capacity);
    const next = new Float64Array(Math.max(Math.min(capacity, 8), keep));
    for (let i = 0; i < keep; i++) next[i] = this.at(this.#size - keep + i);
    this.#buffer = next;
    this.#head = 0;
    this.#size = keep;
    this.#capacity = capacity;
  }

  /** Forgets every timestamp. */
  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const length = Math.min(this.#capacity, this.#buffer.length * 2);
    const next = new Float64Array(Math.max(length, 1));
    for (let i = 0; i < this.#size; i++) next[i] = this.at(i);
    this.#buffer = next;
    this.#head = 0;
  }
}

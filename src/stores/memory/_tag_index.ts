// The tag index of a MemoryCacheStore: which keys carry which tags, both
// ways, and the marks invalidations leave so that a racing write of an older
// value is refused. The store keeps it exact: a key leaves the index the
// moment its entry is removed, evicted or found expired.

const KEY_MARK = "k\u0000";
const TAG_MARK = "t\u0000";

/** Tags to keys and keys to tags, plus invalidation marks. */
export class _TagIndex {
  readonly #keysOf = new Map<string, Set<string>>();
  readonly #tagsOf = new Map<string, Set<string>>();
  /**
   * When each tag or key was invalidated, oldest first: a mark made again
   * moves to the end, so the marks that ran out are always at the front.
   */
  readonly #marks = new Map<string, number>();
  #pairs = 0;

  /** How many (tag, key) pairs are held. */
  get pairs(): number {
    return this.#pairs;
  }

  /** Whether any invalidation mark is held (some may have run out). */
  get marked(): boolean {
    return this.#marks.size > 0;
  }

  /** Whether `key` carries tags. */
  has(key: string): boolean {
    return this.#tagsOf.has(key);
  }

  /** The keys that carry `tag`. */
  keysOf(tag: string): ReadonlySet<string> | undefined {
    return this.#keysOf.get(tag);
  }

  /** Adds `tags` to those `key` carries. */
  add(key: string, tags: readonly string[]): void {
    let own = this.#tagsOf.get(key);
    if (own === undefined) {
      own = new Set();
      this.#tagsOf.set(key, own);
    }
    for (const tag of tags) {
      if (own.has(tag)) continue;
      own.add(tag);
      let keys = this.#keysOf.get(tag);
      if (keys === undefined) {
        keys = new Set();
        this.#keysOf.set(tag, keys);
      }
      keys.add(key);
      this.#pairs++;
    }
  }

  /** Takes every tag off `key`. */
  forget(key: string): void {
    const own = this.#tagsOf.get(key);
    if (own === undefined) return;
    this.#tagsOf.delete(key);
    for (const tag of own) {
      const keys = this.#keysOf.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.#keysOf.delete(tag);
      this.#pairs--;
    }
  }

  /** Forgets the tags, and the marks of tags and keys, starting with `prefix`. */
  forgetPrefix(prefix: string): void {
    for (const [tag, keys] of this.#keysOf) {
      if (!tag.startsWith(prefix)) continue;
      for (const key of keys) {
        const own = this.#tagsOf.get(key);
        own?.delete(tag);
        if (own?.size === 0) this.#tagsOf.delete(key);
        this.#pairs--;
      }
      this.#keysOf.delete(tag);
    }
    for (const name of this.#marks.keys()) {
      if (name.startsWith(prefix, 2)) this.#marks.delete(name);
    }
  }

  /** Marks a tag as invalidated at `now`. */
  markTag(tag: string, now: number): void {
    this.#mark(TAG_MARK + tag, now);
  }

  /** Marks a key as invalidated at `now`. */
  markKey(key: string, now: number): void {
    this.#mark(KEY_MARK + key, now);
  }

  /**
   * Whether a write of `key` with `tags`, of a value obtained at `since`,
   * meets a mark made after `since` that has not run out by `now`.
   */
  refused(
    key: string,
    tags: readonly string[],
    since: number,
    now: number,
    markMs: number,
  ): boolean {
    if (this.#marks.size === 0) return false;
    this.prune(now, markMs);
    const marked = (name: string): boolean => {
      const at = this.#marks.get(name);
      return at !== undefined && at > since;
    };
    if (marked(KEY_MARK + key)) return true;
    for (const tag of tags) if (marked(TAG_MARK + tag)) return true;
    return false;
  }

  /** Drops the marks older than `markMs` at `now`. */
  prune(now: number, markMs: number): void {
    for (const [name, at] of this.#marks) {
      if (at + markMs > now) break;
      this.#marks.delete(name);
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#keysOf.clear();
    this.#tagsOf.clear();
    this.#marks.clear();
    this.#pairs = 0;
  }

  #mark(name: string, now: number): void {
    this.#marks.delete(name);
    this.#marks.set(name, now);
  }
}

// The rules of cache tags that every store applies the same way: what a tag
// may be, how many one write or one invalidation may carry, and how long an
// invalidation is remembered so that a write racing it is refused.

/** The longest tag a store takes, in UTF-16 code units. */
export const MAX_STORE_TAG_LENGTH = 2_048;
/** The most distinct tags one write carries. */
export const MAX_TAGS_PER_WRITE = 64;
/** The most tags one invalidation names. */
export const MAX_TAGS_PER_INVALIDATION = 1_000;
/**
 * How long an invalidation is remembered, in milliseconds: a write of a
 * value obtained before it, landing up to this long after it, is refused.
 */
export const INVALIDATION_MARK_MS = 300_000;

const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * The distinct tags of a write or an invalidation, in their first order.
 *
 * @throws {TypeError} When `tags` is not an array of non-empty strings of
 * at most {@linkcode MAX_STORE_TAG_LENGTH} code units, or holds more than
 * `max` distinct ones.
 */
export function storeTags(
  component: string,
  what: string,
  tags: unknown,
  max: number,
): readonly string[] {
  if (tags === undefined) return NO_TAGS;
  if (!Array.isArray(tags)) {
    throw new TypeError(
      `Cannot ${what} in ${component} as 'tags' must be an array of strings: received ${typeof tags}`,
    );
  }
  if (tags.length === 0) return NO_TAGS;
  const distinct = new Set<string>();
  for (const tag of tags) {
    if (
      typeof tag !== "string" || tag === "" ||
      tag.length > MAX_STORE_TAG_LENGTH
    ) {
      throw new TypeError(
        `Cannot ${what} in ${component} as every tag must be a non-empty string of at most ${MAX_STORE_TAG_LENGTH} UTF-16 code units: received ${
          typeof tag === "string" ? `one of ${tag.length}` : typeof tag
        }`,
      );
    }
    distinct.add(tag);
  }
  if (distinct.size > max) {
    throw new TypeError(
      `Cannot ${what} in ${component} as at most ${max} distinct tags are allowed: received ${distinct.size}`,
    );
  }
  return [...distinct];
}

/**
 * The `ageMs` of a write: a non-negative number of milliseconds, `0` when
 * absent, whole milliseconds rounded up (an older value is refused sooner,
 * never later).
 *
 * @throws {TypeError} For anything else.
 */
export function storeAgeMs(component: string, ageMs: unknown): number {
  if (ageMs === undefined) return 0;
  if (typeof ageMs !== "number" || !(ageMs >= 0) || ageMs === Infinity) {
    throw new TypeError(
      `Cannot set an entry in ${component} as 'ageMs' must be a non-negative finite number: received ${
        String(ageMs)
      }`,
    );
  }
  return Math.ceil(ageMs);
}

/**
 * The options of a `set` call as a store with tag support reads them.
 *
 * @throws {TypeError} When they are not an object, or a field is bad.
 */
export function setOptions(
  component: string,
  options: unknown,
): { tags: readonly string[]; ageMs: number } {
  if (options === undefined) return { tags: NO_TAGS, ageMs: 0 };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot set an entry in ${component} as its options must be an object: received ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  const { tags, ageMs } = options as { tags?: unknown; ageMs?: unknown };
  return {
    tags: tags === undefined
      ? NO_TAGS
      : storeTags(component, "set an entry", tags, MAX_TAGS_PER_WRITE),
    ageMs: storeAgeMs(component, ageMs),
  };
}

/**
 * The key prefix a tag lives under: everything up to and including its
 * last `:` (the client's tags are `<client or scope>:cache:<escaped tag>`),
 * or `""` for a tag without one.
 */
export function tagPrefix(tag: string): string {
  return tag.slice(0, tag.lastIndexOf(":") + 1);
}

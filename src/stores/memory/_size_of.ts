/**
 * Estimates how many bytes a value occupies in a JavaScript engine's memory:
 * strings at one or two bytes per character, byte arrays at their length,
 * plus rough object and array headers. The figures follow V8's layout
 * closely enough that a cache bounded by this estimate stays near its
 * configured size in real heap usage.
 *
 * Shared objects are counted once; cycles terminate.
 */
export function sizeOf(value: unknown): number {
  switch (typeof value) {
    case "string":
      return stringSize(value);
    case "number":
    case "bigint":
      return 16;
    case "object":
      if (value === null) return 0;
      break;
    default:
      return 0;
  }
  let size = 0;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") {
      size += stringSize(item);
    } else if (typeof item === "number" || typeof item === "bigint") {
      size += 16;
    } else if (typeof item === "object" && item !== null) {
      if (seen.has(item)) continue;
      seen.add(item);
      if (ArrayBuffer.isView(item)) {
        size += item.byteLength + VIEW_OVERHEAD;
      } else if (item instanceof ArrayBuffer) {
        size += item.byteLength + VIEW_OVERHEAD;
      } else if (Array.isArray(item)) {
        size += 32 + 8 * item.length;
        for (const element of item) stack.push(element);
      } else {
        size += 32;
        for (const key in item) {
          size += 16;
          stack.push((item as Record<string, unknown>)[key]);
        }
      }
    }
  }
  return size;
}

/** A typed array, its buffer and its off-heap backing store record. */
const VIEW_OVERHEAD = 160;

// Characters outside Latin-1 make V8 store the whole string at two bytes
// per character.
const WIDE = /[\u0100-\uffff]/;

function stringSize(value: string): number {
  return 16 + (WIDE.test(value) ? value.length * 2 : value.length);
}

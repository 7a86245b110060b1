/**
 * Store key layout. A key is a list of parts joined by `:`; each part is
 * escaped so that no client name, scope or hash can contain the separator
 * and reach into another's keyspace.
 *
 * @module
 */

/**
 * Escapes one key part: `%` and `:` are percent-encoded, nothing else
 * changes, so keys stay readable.
 *
 * @param part A raw part: a client name, a scope id, a hash.
 * @returns The escaped part, free of `:`.
 */
export function escapeKeyPart(part: string): string {
  if (!part.includes("%") && !part.includes(":")) return part;
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}

/**
 * Reverses {@linkcode escapeKeyPart}.
 *
 * @param part An escaped part.
 * @returns The raw part.
 */
export function unescapeKeyPart(part: string): string {
  if (!part.includes("%")) return part;
  return part.replaceAll("%3A", ":").replaceAll("%25", "%");
}

/**
 * Joins raw parts into a key, escaping each.
 *
 * @param parts The raw parts.
 * @returns The key.
 */
export function joinKey(...parts: readonly string[]): string {
  return parts.map(escapeKeyPart).join(":");
}

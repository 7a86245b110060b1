/**
 * Store key layout. A key is a list of parts joined by `:`:
 *
 * ```
 * name[:scopeKey=scopeId]...:kind:rest
 * ```
 *
 * `kind` is `cache`, `dedupe` or `ratelimit`; `rest` is a request hash
 * (base64url: no `%`, `:` or `=`) or an escaped rate-limit resource. Every
 * part is escaped so that no client name, scope or resource can contain the
 * separator, and a scope part has exactly one bare `=`, so it never reads
 * as a kind and no scope key or id can reach into another's keyspace.
 *
 * @module
 */

/**
 * Escapes a client name or a rate-limit resource: `%` and `:` are
 * percent-encoded, nothing else changes, so keys stay readable. Such a part
 * is always first (a name) or after a kind (a resource), so a bare `=` in it
 * is unambiguous and stays as it is.
 *
 * @param part A raw client name or resource.
 * @returns The escaped part, free of `:`.
 */
export function escapeKeyPart(part: string): string {
  if (!part.includes("%") && !part.includes(":")) return part;
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}

/**
 * Builds the key part of one scope: `key=id`, with `%`, `:` and `=` of each
 * side percent-encoded, so that `("org", "a=b")` and `("org=a", "b")` never
 * share a part.
 *
 * @param key The scope's kind, for example `"tenant"`.
 * @param id The scope's identity.
 * @returns The part, with exactly one bare `=` and no `:`.
 */
export function scopeKeyPart(key: string, id: string): string {
  return `${_escapeScope(key)}=${_escapeScope(id)}`;
}

/**
 * Joins raw parts into a key, escaping each with
 * {@linkcode escapeKeyPart}.
 *
 * @param parts The raw parts.
 * @returns The key.
 */
export function joinKey(...parts: readonly string[]): string {
  return parts.map(escapeKeyPart).join(":");
}

function _escapeScope(part: string): string {
  const escaped = escapeKeyPart(part);
  return escaped.includes("=") ? escaped.replaceAll("=", "%3D") : escaped;
}

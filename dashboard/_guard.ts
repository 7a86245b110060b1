// Who may see the dashboard: the bearer token (compared in constant time),
// or, without one, only a browser on this machine that names this machine.

const encoder = new TextEncoder();

/**
 * Whether `given` equals `expected`, in a time that depends on the length
 * of `expected` only, never on where the two first differ.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    diff |= (a.length === 0 ? 0 : a[i % a.length]!) ^ b[i]!;
  }
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Whether a peer address is this machine's: 127.0.0.0/8, `::1`, or either
 * mapped into IPv6 (`::ffff:127.0.0.1`).
 */
export function isLoopbackAddress(address: string): boolean {
  let host = address.trim().toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const zone = host.indexOf("%");
  if (zone >= 0) host = host.slice(0, zone);
  if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = host.startsWith("::ffff:") ? host.slice(7) : host;
  const parts = v4.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/**
 * Whether a `Host` header names this machine: `localhost`, `127.0.0.1` or
 * `[::1]`, with or without a port. A page another site's DNS points at
 * 127.0.0.1 arrives with that site's name, and is refused.
 */
export function isLoopbackHost(host: string | null): boolean {
  if (host === null) return false;
  const match = /^(localhost|127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?$/i.exec(
    host.trim(),
  );
  return match !== null;
}

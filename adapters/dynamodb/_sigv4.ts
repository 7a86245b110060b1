// AWS Signature Version 4 over Web Crypto (HMAC-SHA256, SHA-256), for the
// stores that talk to DynamoDB with `fetch` and no SDK.

/** AWS credentials: an access key, and a session token for temporary ones. */
export interface DynamoDBCredentials {
  /** The access key id (`AWS_ACCESS_KEY_ID`). */
  accessKeyId: string;
  /** The secret access key (`AWS_SECRET_ACCESS_KEY`). */
  secretAccessKey: string;
  /** The session token of temporary credentials (`AWS_SESSION_TOKEN`). */
  sessionToken?: string;
}

/** What {@linkcode signRequest} signs. */
export interface _SignInput {
  method: string;
  url: URL;
  /** Headers to send and sign, lower-case names; `host` is added from `url`. */
  headers: Record<string, string>;
  body: string;
  credentials: DynamoDBCredentials;
  region: string;
  service: string;
  /** The signing time. */
  date: Date;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const encoder = new TextEncoder();

/**
 * Signs a request: returns the headers to send, with `x-amz-date`,
 * `x-amz-security-token` (for temporary credentials) and `authorization`
 * added. The `host` header is signed but not returned: `fetch` sends it from
 * the URL.
 */
export async function signRequest(
  input: _SignInput,
): Promise<Record<string, string>> {
  const { method, url, body, credentials, region, service } = input;
  const amzDate = _amzDate(input.date);
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    headers[name.toLowerCase()] = value;
  }
  headers["x-amz-date"] = amzDate;
  if (credentials.sessionToken !== undefined) {
    headers["x-amz-security-token"] = credentials.sessionToken;
  }
  const signed: Record<string, string> = { ...headers, host: url.host };
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${signed[name]!.trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    method.toUpperCase(),
    _canonicalPath(url.pathname),
    _canonicalQuery(url.searchParams),
    canonicalHeaders,
    signedHeaders,
    _hex(await _sha256(body)),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [
    ALGORITHM,
    amzDate,
    scope,
    _hex(await _sha256(canonicalRequest)),
  ].join("\n");
  const signature = _hex(
    await _sign(
      await _dayKey(credentials.secretAccessKey, day, region, service),
      stringToSign,
    ),
  );
  headers["authorization"] =
    `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** The signing key of a day, region and service, as raw HMAC key bytes. */
export async function signingKey(
  secretAccessKey: string,
  day: string,
  region: string,
  service: string,
): Promise<ArrayBuffer> {
  let key: ArrayBuffer = await _hmac(
    encoder.encode(`AWS4${secretAccessKey}`),
    day,
  );
  for (const part of [region, service, "aws4_request"]) {
    key = await _hmac(key, part);
  }
  return key;
}

/** The HMAC key of the last day signed for, per secret, region and service. */
let _lastKey: { id: string; key: Promise<CryptoKey> } | undefined;

function _dayKey(
  secretAccessKey: string,
  day: string,
  region: string,
  service: string,
): Promise<CryptoKey> {
  const id = `${day}/${region}/${service}/${secretAccessKey}`;
  if (_lastKey?.id !== id) {
    const key = signingKey(secretAccessKey, day, region, service).then(_import);
    // A failed derivation is tried again by the next request.
    key.catch(() => {
      if (_lastKey?.key === key) _lastKey = undefined;
    });
    _lastKey = { id, key };
  }
  return _lastKey.key;
}

function _amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** RFC 3986 encoding, as SigV4 wants it: only unreserved characters stay. */
function _encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

// Every service but S3 signs each segment of the already encoded path
// encoded once more.
function _canonicalPath(pathname: string): string {
  if (pathname === "") return "/";
  return pathname.split("/").map(_encode).join("/");
}

function _canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([name, value]) => [_encode(name), _encode(value)] as const)
    .sort(([a, x], [b, y]) =>
      a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0
    )
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

async function _sha256(text: string): Promise<ArrayBuffer> {
  return await crypto.subtle.digest("SHA-256", encoder.encode(text));
}

function _import(key: ArrayBuffer | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

async function _sign(key: CryptoKey, text: string): Promise<ArrayBuffer> {
  return await crypto.subtle.sign("HMAC", key, encoder.encode(text));
}

async function _hmac(
  key: ArrayBuffer | Uint8Array,
  text: string,
): Promise<ArrayBuffer> {
  return await _sign(await _import(key), text);
}

function _hex(buffer: ArrayBuffer): string {
  return Array.from(
    new Uint8Array(buffer),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

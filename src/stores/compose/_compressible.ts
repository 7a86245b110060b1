// Whether a value is worth compressing: not when it is a response whose body
// is already compressed, by its media type or because its bytes are still
// in a content coding.

/** Media types whose content is compressed by its own format. */
const COMPRESSED_TYPES: ReadonlySet<string> = new Set([
  "application/gzip",
  "application/x-gzip",
  "application/zip",
  "application/x-zip-compressed",
  "application/zstd",
  "application/x-zstd",
  "application/x-bzip",
  "application/x-bzip2",
  "application/x-xz",
  "application/x-lzip",
  "application/x-lzma",
  "application/x-compress",
  "application/x-7z-compressed",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/x-brotli",
  "application/java-archive",
  "application/epub+zip",
  "application/pdf",
  "application/octet-stream+gzip",
  "font/woff",
  "font/woff2",
  "application/font-woff",
  "application/font-woff2",
]);

/** Media types under `image/` that are text, and compress well. */
const TEXT_IMAGES: ReadonlySet<string> = new Set([
  "image/svg+xml",
  "image/bmp",
  "image/x-icon",
  "image/vnd.microsoft.icon",
]);

/**
 * Whether the value is a response (a header list and a body, as the client
 * stores them) whose body is bytes already compressed:
 *
 * - its media type is an image, audio or video format (SVG, BMP and icons
 *   excepted), an archive, a compressed stream, a font in WOFF, a PDF, or
 *   has a `+zip` / `+gzip` suffix;
 * - its `Content-Encoding` names a coding and the body is still in it. A
 *   runtime's `fetch` decodes gzip, deflate and brotli and keeps the header,
 *   so the header alone says nothing about the stored bytes: gzip, deflate
 *   and zstd bodies are told by their first bytes, and any other coding is
 *   left to the savings check.
 *
 * @param value The value to store.
 * @returns `true` when compressing it would only cost time.
 */
export function alreadyCompressed(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const { headers, body } = value as { headers?: unknown; body?: unknown };
  if (!Array.isArray(headers)) return false;
  // A body kept as text is text: only bytes can be in a compressed format.
  if (!(body instanceof Uint8Array)) return false;
  const type = _field(headers, "content-type");
  if (type !== undefined && _compressedType(type)) return true;
  const coding = _field(headers, "content-encoding");
  return coding !== undefined && _stillEncoded(coding, body);
}

function _field(headers: unknown[], name: string): string | undefined {
  for (const pair of headers) {
    if (
      Array.isArray(pair) && typeof pair[0] === "string" &&
      pair[0].toLowerCase() === name && typeof pair[1] === "string"
    ) {
      return pair[1];
    }
  }
  return undefined;
}

function _compressedType(field: string): boolean {
  const type = field.split(";", 1)[0]!.trim().toLowerCase();
  if (COMPRESSED_TYPES.has(type)) return true;
  if (type.endsWith("+zip") || type.endsWith("+gzip")) return true;
  if (type.startsWith("image/")) return !TEXT_IMAGES.has(type);
  return type.startsWith("video/") || type.startsWith("audio/");
}

function _stillEncoded(field: string, body: Uint8Array): boolean {
  const codings = field.toLowerCase().split(",").map((c) => c.trim());
  const last = codings[codings.length - 1];
  if (last === undefined || last === "" || last === "identity") return false;
  const b0 = body[0];
  const b1 = body[1];
  if (b0 === undefined || b1 === undefined) return false;
  // gzip: 1f 8b. zstd: 28 b5 2f fd. zlib (deflate): a CMF/FLG pair whose
  // method is 8 and whose check bits make it a multiple of 31.
  if (b0 === 0x1f && b1 === 0x8b) return true;
  if (b0 === 0x28 && b1 === 0xb5 && body[2] === 0x2f && body[3] === 0xfd) {
    return true;
  }
  return (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

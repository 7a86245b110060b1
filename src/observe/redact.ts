/**
 * URLs as events and error messages show them: with the value of every
 * query parameter replaced, so that an `?api_key=…` never reaches a log.
 *
 * @module
 */

/** What stands in for a redacted query value. */
export const REDACTED = "REDACTED";

/**
 * How a client shows request URLs in events and error messages:
 *
 * - `true` (the default): query values are replaced with
 *   {@linkcode REDACTED}; names, the path and the host are kept.
 * - `false`: URLs are shown in full.
 * - a function: it is handed the full URL and returns what to show. When
 *   it throws or returns something other than a string, the default
 *   redaction applies instead.
 */
export type RedactUrls = boolean | ((url: string) => string);

/**
 * `url` with the value of every query parameter replaced by
 * {@linkcode REDACTED}, and any user info and fragment left out. A URL with
 * no query is returned as it is. Parameter names are kept, so a log still
 * tells which parameters a request carried.
 *
 * @param url An absolute URL, as the client sends it.
 * @returns The URL to show.
 *
 * @example Keep a key out of a log
 * ```ts
 * import { redactUrl } from "@sluice/http";
 *
 * console.log(redactUrl("https://comicvine.gamespot.com/api/issues/?api_key=s3cret&format=json"));
 * // "https://comicvine.gamespot.com/api/issues/?api_key=REDACTED&format=REDACTED"
 * ```
 */
export function redactUrl(url: string): string {
  let text = url;
  const hash = text.indexOf("#");
  if (hash >= 0) text = text.slice(0, hash);
  const at = text.indexOf("@");
  if (at >= 0) {
    // Credentials in the authority: keep the scheme and what follows them.
    const scheme = text.indexOf("//");
    const pathStart = scheme < 0 ? -1 : text.indexOf("/", scheme + 2);
    if (scheme >= 0 && (pathStart < 0 || at < pathStart)) {
      text = text.slice(0, scheme + 2) + text.slice(at + 1);
    }
  }
  const query = text.indexOf("?");
  if (query < 0) return text;
  let shown = text.slice(0, query + 1);
  const pairs = text.slice(query + 1).split("&");
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const equals = pair.indexOf("=");
    if (i > 0) shown += "&";
    shown += equals < 0 ? pair : `${pair.slice(0, equals)}=${REDACTED}`;
  }
  return shown;
}

/** What the default redaction changes: a query, a fragment, user info. */
const CHANGED_BY_REDACTION = /[?#@]/;

/** How many shown URLs a client remembers. */
const MEMO_LIMIT = 1_024;

/**
 * The function that shows URLs for a client's `redactUrls` option,
 * remembering the URLs it showed.
 *
 * @param option The validated option.
 */
export function urlShower(option: RedactUrls): (url: string) => string {
  if (option === false) return _same;
  const custom = option === true ? undefined : option;
  const memo = new Map<string, string>();
  return (url) => {
    if (custom === undefined && !CHANGED_BY_REDACTION.test(url)) return url;
    const known = memo.get(url);
    if (known !== undefined) return known;
    const shown = custom === undefined ? redactUrl(url) : _custom(custom, url);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(url, shown);
    return shown;
  };
}

function _custom(custom: (url: string) => string, url: string): string {
  try {
    const shown = custom(url) as unknown;
    if (typeof shown === "string") return shown;
  } catch {
    // A redaction that fails falls back to the default one.
  }
  return redactUrl(url);
}

function _same(url: string): string {
  return url;
}

// The option keys sluice reads, and the check that rejects any other key
// with a ConfigError naming the closest real one.

import type { CachePolicyOverrides } from "../cache/options.ts";
import { ConfigError } from "../errors.ts";
import type { HttpClientHooks } from "./hooks.ts";
import type {
  HttpClientCacheOptions,
  HttpClientDedupeOptions,
  HttpClientOptions,
  HttpClientRateLimitOptions,
  HttpClientRetryOptions,
  RequestCacheOptions,
  RequestOptions,
  TimeoutOptions,
} from "./options.ts";

// The keys of each options object sluice reads. A `Record` over the
// interface's keys makes the compiler keep these lists in step with it.
export const CLIENT_KEYS: readonly string[] = _keys<HttpClientOptions>({
  name: true,
  baseUrl: true,
  headers: true,
  fetch: true,
  cache: true,
  dedupe: true,
  rateLimit: true,
  retry: true,
  timeout: true,
  maxBodyBytes: true,
  storeTimeoutMs: true,
  credentialHeaders: true,
  onEvent: true,
  clock: true,
  waitUntil: true,
  redactUrls: true,
  hooks: true,
});
export const CACHE_KEYS: readonly string[] = _keys<HttpClientCacheOptions>({
  store: true,
  ttl: true,
  ttlStatuses: true,
  shared: true,
  overrides: true,
  maxHeuristicMs: true,
  revalidationStorageMs: true,
  staleStorageMs: true,
});
export const OVERRIDE_KEYS: readonly string[] = _keys<CachePolicyOverrides>({
  ignoreNoStore: true,
  ignoreNoCache: true,
  minTtlMs: true,
  maxTtlMs: true,
});
export const DEDUPE_KEYS: readonly string[] = _keys<HttpClientDedupeOptions>({
  store: true,
});
export const RATE_LIMIT_KEYS: readonly string[] = _keys<
  HttpClientRateLimitOptions
>({
  store: true,
  resource: true,
  maxWaitMs: true,
  throwOnLimit: true,
  failOpen: true,
});
export const RETRY_KEYS: readonly string[] = _keys<HttpClientRetryOptions>({
  attempts: true,
  baseDelayMs: true,
  maxDelayMs: true,
  methods: true,
  statuses: true,
});
export const TIMEOUT_KEYS: readonly string[] = _keys<TimeoutOptions>({
  attemptMs: true,
  totalMs: true,
});
export const HELPER_KEYS: readonly string[] = _keys<RequestOptions<unknown>>({
  headers: true,
  signal: true,
  priority: true,
  schema: true,
  cache: true,
  timeout: true,
  waitUntil: true,
  retry: true,
  tags: true,
});
export const HOOK_KEYS: readonly string[] = _keys<HttpClientHooks>({
  beforeAttempt: true,
  afterResponse: true,
  shouldRetry: true,
});
export const REQUEST_CACHE_KEYS: readonly string[] = _keys<RequestCacheOptions>(
  {
    mode: true,
    maxAge: true,
    maxStale: true,
    minFresh: true,
    ttl: true,
  },
);

function _keys<T>(keys: Record<keyof T, true>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * Rejects a key sluice does not read, so that a misspelled option fails
 * here instead of being ignored. `prefix` is the path of `value`, "" at
 * the top.
 */
export function knownKeys(
  component: string,
  prefix: string,
  value: object,
  known: readonly string[],
): void {
  const path = (key: string): string =>
    prefix === "" ? key : `${prefix}.${key}`;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = _closest(key, known);
    throw new ConfigError(
      component,
      path(key),
      (value as Record<string, unknown>)[key],
      suggestion === undefined
        ? `a known option (${_list(known.map(path))})`
        : `a known option (did you mean '${path(suggestion)}'?)`,
    );
  }
}

// The known key a misspelled one most likely stands for, if any: the same
// key in another case or with separators (`baseURL`, `fail_open`), one a few
// edits away (`attempt`, `timeouts`), or one that starts the same way for at
// least half its length (`ttlSeconds` for `ttl`, `maxWait` for `maxWaitMs`).
function _closest(key: string, known: readonly string[]): string | undefined {
  const typed = _fold(key);
  const limit = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = _distance(typed, _fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  let bestShared = 0;
  let bestGap = Infinity;
  for (const candidate of known) {
    const folded = _fold(candidate);
    let shared = 0;
    while (shared < typed.length && typed[shared] === folded[shared]) shared++;
    const gap = Math.abs(typed.length - folded.length);
    if (
      shared >= 3 && shared * 2 >= folded.length &&
      (shared > bestShared || (shared === bestShared && gap < bestGap))
    ) {
      best = candidate;
      bestShared = shared;
      bestGap = gap;
    }
  }
  return best;
}

function _fold(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

// Edit distance with adjacent transpositions (optimal string alignment).
function _distance(a: string, b: string): number {
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + cost,
      );
      if (
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]
      ) {
        value = Math.min(value, before[j - 2]! + 1);
      }
      current.push(value);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

function _list(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

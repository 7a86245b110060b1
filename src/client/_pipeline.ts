// What every stage of the pipeline shares: the validated configuration, the
// events, the key hasher, the entries this client has checked, and whether
// the client is closed.

import type { CachePolicyOptions } from "../cache/options.ts";
import type { Clock } from "../clock.ts";
import { SluiceError } from "../errors.ts";
import type { AnnouncedLimit, EventListener } from "../events.ts";
import type { RateLimiter } from "../rate_limit/limiter.ts";
import type { ResolvedRetryOptions } from "../retry/retry_policy.ts";
import type { CacheStore, DedupeStore } from "../stores/types.ts";
import type { Scope } from "./_call.ts";
import { Events } from "./_events.ts";
import { KeyHasher } from "./_key.ts";
import type { FetchLike } from "./options.ts";
import type { HttpClientHooks } from "./hooks.ts";

/** Everything the pipeline needs, validated. */
export interface EngineConfig {
  name: string;
  fetch: FetchLike;
  cache: { store: CacheStore<unknown>; policy: CachePolicyOptions } | undefined;
  dedupeStore: DedupeStore<unknown> | undefined;
  limiter: RateLimiter | undefined;
  /** The longest one admission may wait (0 without a limiter, or with throwOnLimit). */
  admissionWaitMs: number;
  resource: (url: URL) => string;
  retry: ResolvedRetryOptions;
  maxBodyBytes: number;
  storeTimeoutMs: number;
  credentialHeaders: readonly string[];
  onEvent: EventListener | undefined;
  clock: Clock;
  hooks?: HttpClientHooks | undefined;
}

/** What this client remembers of an entry it checked (see `Pipeline.checked`). */
export interface Checked {
  /** Its body, parsed once for the data helpers. */
  parsed?: { json: boolean; value: unknown };
}

/**
 * The record of an entry checked and not parsed yet: one frozen object that
 * every such entry shares, so that remembering an entry costs no object.
 */
export const CHECKED: Checked = Object.freeze({});

/** How many resources' announced limits a client remembers. */
export const ANNOUNCED_LIMIT = 64;

/** The state every stage of one client (and its scopes) shares. */
export class Pipeline {
  readonly config: EngineConfig;
  readonly events: Events;
  readonly hasher: KeyHasher;
  /**
   * The entries this client read and found well-formed, or wrote: a hit on
   * one of them is served without checking it again.
   */
  readonly checked: WeakMap<object, Checked> = new WeakMap();
  /**
   * The limit each rate-limit resource's server last announced, and when
   * (the clock's time): at most {@linkcode ANNOUNCED_LIMIT} resources, the
   * least recently announced forgotten first.
   */
  readonly announced: Map<string, AnnouncedLimit & { at: number }> = new Map();
  #closed = false;

  constructor(config: EngineConfig) {
    this.config = config;
    this.events = new Events(config.onEvent, config.clock, config.name);
    this.hasher = new KeyHasher(config.credentialHeaders);
  }

  /** Whether a scope, or the root client it belongs to, was closed. */
  isClosed(scope: Scope): boolean {
    return this.#closed || scope.closed;
  }

  /** Marks the root client closed: every scope is closed with it. */
  closeAll(): void {
    this.#closed = true;
  }

  /** The error of a call on a closed client. */
  closedError(scope: Scope): SluiceError {
    return new SluiceError(
      `Cannot send a request: HttpClient '${scope.prefix}' is closed`,
    );
  }
}

/**
 * Hooks into the requests an {@linkcode HttpClient} sends to the origin.
 *
 * Where they run, for one call:
 *
 * 1. the cache answers a fresh hit, and the call joins an identical flight
 *    in progress: neither runs a hook, since neither sends a request;
 * 2. the flight's owner waits for a server cooldown and for rate budget;
 * 3. `beforeAttempt` runs, then the request is sent;
 * 4. the server's rate-limit fields are learned from the response;
 * 5. `afterResponse` runs on the response, and may turn it into an error;
 * 6. `shouldRetry` may allow or veto a retry of a failed attempt (an error,
 *    a status, or what `afterResponse` threw), and the loop goes back to
 *    step 2: each retry waits for budget again and runs `beforeAttempt`
 *    again;
 * 7. the final response is stored, parsed and shared with joiners.
 *
 * A hook that throws, or whose promise rejects, fails the call with what it
 * threw (unless `shouldRetry` retries it), and never leaves a rejection
 * unhandled.
 *
 * @module
 */

/** What `beforeAttempt` gets: one attempt, about to be sent. */
export interface BeforeAttemptContext {
  /** The request method, upper case. */
  readonly method: string;
  /** The full request URL, as it is sent. */
  readonly url: string;
  /** The attempt's number within its call (1 for the first). */
  readonly attempt: number;
  /**
   * The headers this attempt is sent with: a copy the hook may change, for
   * example to set a fresh `Authorization`. Changes reach this attempt
   * only; the next one starts from the call's headers again.
   */
  readonly headers: Headers;
  /** Whether no caller waits for it (a background revalidation). */
  readonly background: boolean;
  /** The call's `requestId` in events (`""` when no listener is set). */
  readonly requestId: string;
}

/** What `afterResponse` gets: the response of one attempt. */
export interface AfterResponseContext {
  /** The request method, upper case. */
  readonly method: string;
  /** The full request URL. */
  readonly url: string;
  /** The attempt's number within its call (1 for the first). */
  readonly attempt: number;
  /**
   * A copy of the response, as the origin sent it: its body may be read
   * (an error in a 200, say) without taking it from the client.
   */
  readonly response: Response;
  /** Whether no caller waits for it (a background revalidation). */
  readonly background: boolean;
  /** The call's `requestId` in events (`""` when no listener is set). */
  readonly requestId: string;
}

/** What `shouldRetry` gets: an attempt that failed. */
export interface RetryContext {
  /** The request method, upper case. */
  readonly method: string;
  /** The full request URL. */
  readonly url: string;
  /** The number of the attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The status it failed with, when the origin answered. */
  readonly status?: number;
  /** What it failed with otherwise: a network error, a timeout, or a hook's error. */
  readonly error?: unknown;
  /** What the client's `retry` options decide on their own. */
  readonly retry: boolean;
}

/** The hooks of a client; see the module documentation for their order. */
export interface HttpClientHooks {
  /**
   * Runs before every attempt is sent, once its rate budget is admitted,
   * retries and revalidations included. It may change `headers`. The cache
   * key, and so which callers share a response, is made from the call's
   * headers before the hook: a hook that sets credentials must set the
   * same identity the call's own headers stand for (a refreshed token of
   * the same user, or one service token for the whole client), never one
   * chosen per caller by other means.
   */
  beforeAttempt?: (context: BeforeAttemptContext) => void | Promise<void>;
  /**
   * Runs on the response of every attempt, before the client reads, stores
   * or shares it. Throwing (or returning) an error turns the response into
   * that error: it is neither stored nor handed to joiners as a success,
   * and `shouldRetry` decides whether it is retried (by default it is not).
   */
  afterResponse?: (
    context: AfterResponseContext,
  ) => void | Error | Promise<void | Error>;
  /**
   * Decides whether a failed attempt is retried: `true` retries it, even a
   * method or status the `retry` options leave alone (within
   * `retry.attempts` and the total deadline, and never a streamed body);
   * `false` does not; `undefined` leaves the decision to `retry`.
   */
  shouldRetry?: (
    context: RetryContext,
  ) => boolean | undefined | Promise<boolean | undefined>;
}

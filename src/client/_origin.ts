// The origin exchange of a GET or HEAD: conditional when a stale entry has
// validators, a 304 merged into the entry it confirms, a stale entry served
// when the origin fails and `stale-if-error` allows it, and the answer read
// (within `maxBodyBytes`), validated and handed to the cache writer, or,
// when it cannot be buffered, streamed to the caller (or refused to one
// that wants its data).

import { createCachedResponse } from "../cache/entry.ts";
import { staleIfErrorApplies } from "../cache/evaluate.ts";
import { requestCacheControl } from "../cache/request.ts";
import { notStorableReason } from "../cache/storability.ts";
import {
  conditionalHeaders,
  mergeNotModified,
  notModifiedMatches,
} from "../cache/validation.ts";
import { varySelection } from "../cache/vary.ts";
import { SluiceError } from "../errors.ts";
import {
  bodyTooLarge,
  contentLength,
  discard,
  readBounded,
  readDeclared,
} from "./_body.ts";
import {
  type Call,
  entryOutcome,
  type FlightResult,
  type Raw,
  type Stale,
  type Validate,
  type Validated,
} from "./_call.ts";
import { varyView } from "./_cache_reader.ts";
import type { CacheWriter } from "./_cache_writer.ts";
import { headerOf } from "./_data.ts";
import type { Attempts, Exchange } from "./_attempts.ts";
import type { CallKeys } from "./_key.ts";
import type { Pipeline } from "./_pipeline.ts";
import { isRuntimeFetch } from "./_validate_options.ts";
import { storableHeaders, streamedResponse } from "./_response.ts";

/** Calls the origin for GET and HEAD requests. */
export class Origin {
  readonly #pipeline: Pipeline;
  readonly #attempts: Attempts;
  readonly #writer: CacheWriter | undefined;

  constructor(
    pipeline: Pipeline,
    attempts: Attempts,
    writer: CacheWriter | undefined,
  ) {
    this.#pipeline = pipeline;
    this.#attempts = attempts;
    this.#writer = writer;
  }

  /**
   * Calls the origin (conditionally when `stale` has validators), and
   * stores what it answered.
   *
   * @throws What the attempts failed with, unless a stale entry may answer.
   */
  async fetch(
    call: Call,
    keys: CallKeys,
    stale: Stale | undefined,
    signal: AbortSignal | undefined,
  ): Promise<FlightResult> {
    const started = performance.now();
    let conditional = stale === undefined
      ? []
      : conditionalHeaders(stale.entry);
    for (let round = 0;; round++) {
      let exchange: Exchange;
      try {
        exchange = await this.#attempts.exchange(call, signal, conditional);
      } catch (error) {
        const served = this.#staleOnError(call, stale, signal);
        if (served === undefined) throw error;
        this.#pipeline.events.failedOpen(call, "fetch", error);
        return served;
      }
      const { response } = exchange;
      if (stale !== undefined && response.status >= 500) {
        const served = this.#staleOnError(call, stale, signal);
        if (served !== undefined) {
          this.#pipeline.events.failedOpen(
            call,
            "fetch",
            new SluiceError(
              `${call.method} ${call.shownUrl} answered ${response.status}`,
            ),
          );
          exchange.done();
          await discard(response.body);
          return served;
        }
      }
      if (
        stale !== undefined && response.status === 304 &&
        conditional.length > 0
      ) {
        exchange.done();
        await discard(response.body);
        if (
          (response.redirected ||
            !notModifiedMatches(stale.entry, response.headers)) && round === 0
        ) {
          // The 304 is about another representation (or, redirected,
          // another resource): fetch it in full.
          conditional = [];
          continue;
        }
        return await this.#refreshed(call, keys, stale, exchange, started);
      }
      return await this.#full(call, keys, stale, exchange, started);
    }
  }

  /**
   * The response of a final attempt whose body goes to the caller as
   * `stream`, with the attempt's and the call's deadlines carried into it
   * (see {@linkcode Attempts.handOver}).
   */
  streamed(
    call: Call,
    exchange: Exchange,
    stream: ReadableStream<Uint8Array> | null,
    signal?: AbortSignal,
    unbounded = false,
  ): Response {
    return streamedResponse(
      exchange.response,
      this.#attempts.handOver(call, exchange, stream, signal, unbounded),
      call.url,
    );
  }

  #staleOnError(
    call: Call,
    stale: Stale | undefined,
    signal: AbortSignal | undefined,
  ): FlightResult | undefined {
    if (stale === undefined || signal?.aborted) return undefined;
    const now = this.#pipeline.config.clock.now();
    const rc = call.evalHeaders.has("cache-control")
      ? requestCacheControl(call.evalHeaders)
      : undefined;
    if (!staleIfErrorApplies(stale.entry, now, rc?.staleIfError)) {
      return undefined;
    }
    this.#pipeline.events.stale(
      call,
      stale.storeKey,
      now,
      stale.entry,
      "serve-on-error",
    );
    return {
      outcome: entryOutcome(stale.entry, now, "stale"),
      vary: stale.entry.varyHeaders,
    };
  }

  // A 304 that confirms the stale entry: the entry, its headers updated.
  async #refreshed(
    call: Call,
    keys: CallKeys,
    stale: Stale,
    exchange: Exchange,
    started: number,
  ): Promise<FlightResult> {
    const { config, events } = this.#pipeline;
    const merged = mergeNotModified(
      stale.entry,
      storableHeaders(exchange.response.headers),
      exchange.requestTime,
      exchange.responseTime,
      call.cachePolicy!,
    );
    let validated: Validated | undefined;
    if (call.validate !== undefined && merged.status < 300) {
      validated = await _validate(
        call.validate,
        merged.body,
        headerOf(merged.headers, "content-type"),
      );
    }
    const writer = this.#writer!;
    if (validated === undefined || validated.ok) {
      await writer.store(call, keys, merged);
    } else {
      await writer.drop(call, keys, "validation-failed", stale);
    }
    if (events.listening) {
      events.emit({
        type: "cache.revalidated",
        ...events.fields(call),
        key: stale.storeKey,
        status: 304,
        background: call.background,
        durationMs: performance.now() - started,
      });
    }
    return {
      outcome: entryOutcome(
        merged,
        config.clock.now(),
        "revalidated",
        exchange.attempts,
        validated,
      ),
      vary: merged.varyHeaders,
    };
  }

  // A full response: buffered (up to maxBodyBytes), validated and stored,
  // or streamed to the caller.
  async #full(
    call: Call,
    keys: CallKeys,
    stale: Stale | undefined,
    exchange: Exchange,
    started: number,
  ): Promise<FlightResult> {
    const { config, events } = this.#pipeline;
    const { response } = exchange;
    const cache = config.cache;
    // A followed redirect's target is not the resource the key names: its
    // freshness says nothing of the redirect, which may change any time.
    const notStorable = cache === undefined || call.mode === "no-store"
      ? "off"
      : response.redirected
      ? "redirected"
      : call.state.selecting === true &&
          (response.status === 412 || response.status === 416)
      ? "status" // The answer to the request's own preconditions or Range.
      : notStorableReason(
        { method: call.method, headers: call.headers },
        response,
        call.cachePolicy!,
      );
    const vary = varySelection(
      response.headers.get("vary"),
      varyView(this.#pipeline, call),
    );
    const contentType = response.headers.get("content-type");
    if (contentType !== null && /^\s*text\/event-stream/i.test(contentType)) {
      // An event stream never ends: hand it over as it comes.
      return {
        outcome: {
          kind: "response",
          response: this.streamed(
            call,
            exchange,
            response.body,
            undefined,
            true,
          ),
          source: "network",
          attempts: exchange.attempts,
          ownsTimer: true,
        },
        vary,
      };
    }
    const declared = contentLength(response.headers);
    let body;
    try {
      body = await ((isRuntimeFetch(config.fetch)
        ? readDeclared(response, config.maxBodyBytes, declared, exchange.signal)
        : undefined) ??
        readBounded(
          response.body,
          config.maxBodyBytes,
          declared,
          exchange.signal,
        ));
    } catch (error) {
      exchange.done();
      throw exchange.mapError(error);
    }
    const writer = this.#writer;
    // A body the caller reads keeps the attempt's deadline until it ends.
    if (body.complete || !call.buffered) exchange.done();
    if (!body.complete) {
      await writer?.drop(
        call,
        keys,
        notStorable === undefined ? "too-large" : undefined,
        stale,
      );
      if (call.buffered && response.status >= 200 && response.status < 300) {
        // The caller wants data, which this body is too large to make.
        exchange.done();
        await discard(body.stream);
        throw bodyTooLarge(
          call,
          response.status,
          config.maxBodyBytes,
          declared,
        );
      }
      return {
        outcome: {
          kind: "response",
          response: this.streamed(call, exchange, body.stream),
          source: "network",
          attempts: exchange.attempts,
          ownsTimer: true,
        },
        vary,
      };
    }
    const raw: Raw = {
      url: response.url === "" ? call.url : response.url,
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      body: body.bytes,
    };
    let validated: Validated | undefined;
    if (
      call.validate !== undefined && response.status >= 200 &&
      response.status < 300
    ) {
      validated = await _validate(call.validate, body.bytes, contentType);
    }
    if (notStorable === undefined) {
      if (validated !== undefined && !validated.ok) {
        await writer!.drop(call, keys, "validation-failed", stale);
      } else {
        const entry = createCachedResponse({
          url: call.url,
          method: call.method,
          requestHeaders: varyView(this.#pipeline, call),
          status: response.status,
          statusText: response.statusText,
          headers: storableHeaders(response.headers),
          body: body.bytes,
          requestTime: exchange.requestTime,
          responseTime: exchange.responseTime,
        }, call.cachePolicy!);
        await writer!.store(call, keys, entry);
      }
    } else if (notStorable !== "off") {
      await writer!.drop(
        call,
        keys,
        notStorable !== "method" && notStorable !== "status"
          ? "not-storable"
          : undefined,
        // A partial response replaces nothing (RFC 9111 §3.4): the stored
        // complete one stays.
        response.status === 206 ? undefined : stale,
      );
    }
    if (stale !== undefined && events.listening) {
      events.emit({
        type: "cache.revalidated",
        ...events.fields(call),
        key: stale.storeKey,
        status: response.status,
        background: call.background,
        durationMs: performance.now() - started,
      });
    }
    return {
      outcome: {
        kind: "raw",
        raw,
        source: "network",
        attempts: exchange.attempts,
        validated,
      },
      vary,
    };
  }
}

async function _validate(
  validate: Validate,
  body: Uint8Array | string,
  contentType: string | null,
): Promise<Validated> {
  try {
    return { ok: true, value: await validate(body, contentType) };
  } catch (error) {
    return { ok: false, error };
  }
}

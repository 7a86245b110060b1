// Flights: identical concurrent requests share one origin call, first in the
// process (a flight table), then across processes (a dedupe store), and a
// stale entry is revalidated in the background by a flight of its own. A
// flight runs on its own signal, never a caller's: a caller that leaves stops
// waiting, and the others keep their answer.
//
// A flight's work runs in the request of the caller that started it, and a
// joiner takes only data from it (a buffered response, an entry), never its
// Response, stream or signal: where I/O belongs to one request (Cloudflare
// Workers), another cannot touch them. Such a platform cuts off a request's
// work once its handler has returned: a flight is handed to the request's
// `waitUntil` when it has one, and without one, a flight whose caller has
// gone (or a background revalidation) is joined by no new request, which
// sends its own instead (see `Flight.joinable`). What cannot be made safe
// there without a waitUntil: a caller that joined before the owner left
// waits until its own signal or deadline, and a background revalidation
// cut off with its request holds back the next one for its key until the
// entry's stale-while-revalidate window ends.

import { varyMatches } from "../cache/vary.ts";
import { EndedJobs, runDistributedFlight } from "../dedupe/distributed.ts";
import {
  type Flight,
  type FlightOptions,
  FlightTable,
} from "../dedupe/flights.ts";
import { BodyTooLargeError } from "../errors.ts";
import type { DedupeStore } from "../stores/types.ts";
import { discard } from "./_body.ts";
import type {
  Call,
  FlightResult,
  Found,
  Outcome,
  Scope,
  Stale,
} from "./_call.ts";
import { type CacheReader, varyView } from "./_cache_reader.ts";
import {
  isSharedResult,
  joinedOutcome,
  sharedOwner,
  sharedResult,
} from "./_flight_share.ts";
import { errorStage } from "./_events.ts";
import { type CallKeys, callKeys, withoutSelecting } from "./_key.ts";
import type { Origin } from "./_origin.ts";
import type { Pipeline } from "./_pipeline.ts";
import { linkSignal } from "./_response.ts";

/** A background revalidation, so that close() can end it. */
interface Background {
  scope: Scope;
  call: Call;
  flight: Flight<FlightResult>;
  task: Promise<void>;
}

/** Runs the flights of GET and HEAD requests. */
export class Flights {
  /** The in-process flights, by dedupe key. */
  readonly table: FlightTable = new FlightTable();
  readonly #pipeline: Pipeline;
  readonly #origin: Origin;
  readonly #reader: CacheReader | undefined;
  readonly #store: DedupeStore<unknown> | undefined;
  readonly #background = new Set<Background>();
  /** The call each flight runs, so that a joiner can raise its priority. */
  readonly #owners = new WeakMap<Flight<FlightResult>, Call>();
  /** Distributed jobs this client ended whose end the store may not know. */
  readonly #endedJobs = new EndedJobs();

  constructor(
    pipeline: Pipeline,
    origin: Origin,
    reader: CacheReader | undefined,
  ) {
    this.#pipeline = pipeline;
    this.#origin = origin;
    this.#reader = reader;
    this.#store = pipeline.config.dedupeStore;
  }

  /**
   * Joins the flight of an identical request, or starts one, and waits
   * for its outcome within `waitSignal` (the caller's signal and deadline).
   */
  async join(
    call: Call,
    keys: CallKeys,
    stale: Stale | undefined,
    waitSignal: AbortSignal | undefined,
  ): Promise<Outcome> {
    const { events } = this.#pipeline;
    const key = keys.dedupe;
    const existing = this.table.get<FlightResult>(key);
    if (existing?.joinable) {
      const owner = this.#owners.get(existing);
      if (call.state.priority === "user" && owner !== undefined) {
        // The flight now serves interactive traffic: let it wait as such.
        owner.state.priority = "user";
      }
      const started = performance.now();
      let result: FlightResult | undefined;
      try {
        result = await existing.wait(waitSignal);
      } catch (error) {
        // The owner wanted data its body was too large to make; this
        // caller takes a stream, so it makes its own request.
        if (!(error instanceof BodyTooLargeError) || call.buffered) throw error;
      }
      if (
        result !== undefined && result.outcome.kind !== "response" &&
        varyMatches(
          { varyHeaders: result.vary },
          varyView(this.#pipeline, call),
        )
      ) {
        if (events.listening) {
          const ownerRequestId = owner?.requestId;
          call.state.ownerRequestId = ownerRequestId;
          events.emit({
            type: "dedupe.joined",
            ...events.fields(call),
            key,
            scope: "process",
            waitedMs: performance.now() - started,
            ...(ownerRequestId === undefined ? {} : { ownerRequestId }),
          });
        }
        return joinedOutcome(result.outcome);
      }
      // The flight's response cannot answer this request: its body was
      // streamed to (or too large for) its owner, or it varies on fields
      // this request differs in.
      const own = await this.#origin.fetch(call, keys, stale, waitSignal);
      return own.outcome;
    }
    // Without a signal the owner never leaves, so nothing abandons the
    // flight: it needs no signal of its own.
    const flight = this.#start(call, keys, stale, {
      abortable: waitSignal !== undefined,
    });
    // Whether or not this caller stays, the platform lets the flight end
    // for the others.
    this.#keep(call, flight, flight.promise.then(_nothing, _nothing));
    if (events.listening) {
      events.emit({
        type: "dedupe.owner",
        ...events.fields(call),
        key,
        scope: "process",
      });
    }
    try {
      const { outcome } = await flight.wait(waitSignal, true);
      if (outcome.kind === "response" && waitSignal !== undefined) {
        // The flight's fetch does not see the caller's signal or deadline;
        // tie the streamed body to them, as fetch would.
        return {
          ...outcome,
          response: linkSignal(outcome.response, waitSignal, call.url),
        };
      }
      return outcome;
    } catch (error) {
      // The caller left; nobody else can take a streamed body.
      flight.promise.then((result) => {
        if (result.outcome.kind === "response") {
          void discard(result.outcome.response.body);
        }
      }, () => {});
      throw error;
    }
  }

  /**
   * Revalidates a stale entry in a background flight of its own, unless a
   * flight for the request runs already. Nobody waits for it; its failure
   * is reported.
   */
  revalidate(call: Call, request: CallKeys, found: Found): void {
    // The stored response is revalidated by the plain request of its URL,
    // whatever part of it (a Range) the caller asked for.
    const selecting = call.state.selecting === true;
    const keys = selecting
      ? callKeys(call.scope.prefix, request.hash)
      : request;
    if (this.table.get(keys.dedupe) !== undefined) return;
    const headers = selecting ? withoutSelecting(call.headers) : call.headers;
    const bgCall: Call = {
      ...call,
      headers,
      sentHeaders: selecting
        ? withoutSelecting(call.sentHeaders)
        : call.sentHeaders,
      evalHeaders: call.evalHeaders === call.headers
        ? headers
        : selecting
        ? withoutSelecting(call.evalHeaders)
        : call.evalHeaders,
      signal: undefined,
      validate: undefined,
      buffered: false,
      background: true,
      started: performance.now(),
      state: { priority: "background", sending: false },
    };
    const flight = this.#start(
      bgCall,
      keys,
      { ...found, staleIfError: false },
      { held: false },
    );
    const bg: Background = {
      scope: call.scope,
      call: bgCall,
      flight,
      task: Promise.resolve(),
    };
    const pipeline = this.#pipeline;
    bg.task = flight.wait().then((result) => {
      if (result.outcome.kind === "response") {
        void discard(result.outcome.response.body);
      }
    }, (error) => {
      const { events } = pipeline;
      if (!events.listening || pipeline.isClosed(call.scope)) return;
      events.emit({
        type: "error",
        ...events.fields(call),
        stage: errorStage(error),
        failedOpen: true,
        error,
      });
    }).finally(() => {
      this.#background.delete(bg);
    });
    this.#background.add(bg);
    this.#keep(call, flight, bg.task);
  }

  /**
   * Ends the background work of `scope` (of every scope for the root):
   * what still waits for budget or a cooldown is aborted, what is on the
   * wire finishes.
   */
  async close(scope: Scope, root: boolean): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (const bg of this.#background) {
      if (!root && bg.scope !== scope) continue;
      // Work still waiting for budget or a cooldown cannot finish soon.
      if (!bg.call.state.sending) {
        bg.flight.abort(this.#pipeline.closedError(scope));
      }
      tasks.push(bg.task);
    }
    await Promise.allSettled(tasks);
  }

  #start(
    call: Call,
    keys: CallKeys,
    stale: Stale | undefined,
    options: FlightOptions,
  ): Flight<FlightResult> {
    const flight = this.table.start<FlightResult>(
      keys.dedupe,
      (signal) => this.#own(call, keys, stale, signal),
      options,
    );
    this.#owners.set(flight, call);
    return flight;
  }

  // Hands `task` (the flight's work, or what follows it) to the request's
  // waitUntil, so that the platform lets it finish after the handler
  // returned. A waitUntil that throws is reported; the flight then counts
  // as kept by its caller alone.
  #keep(call: Call, flight: Flight<FlightResult>, task: Promise<void>): void {
    const waitUntil = call.waitUntil;
    if (waitUntil === undefined) return;
    try {
      waitUntil(task);
    } catch (error) {
      this.#pipeline.events.failedOpen(call, "dedupe", error);
      return;
    }
    flight.keep();
  }

  // Runs a flight this process owns: through the dedupe store when there
  // is one, so that other processes' identical requests share it too.
  async #own(
    call: Call,
    keys: CallKeys,
    stale: Stale | undefined,
    signal: AbortSignal | undefined,
  ): Promise<FlightResult> {
    const store = this.#store;
    if (store === undefined) {
      return this.#origin.fetch(call, keys, stale, signal);
    }
    const { config, events } = this.#pipeline;
    const key = keys.dedupe;
    const started = performance.now();
    const outcome = await runDistributedFlight(
      store,
      key,
      async (elected, previous) => {
        let current = stale;
        // After "none" the store knows of no job for the key within its
        // retention (a second at least), so none stored a response since
        // this request read the cache a moment ago.
        if (elected && previous !== "none" && this.#reader !== undefined) {
          const answer = await this.#reader.reread(call, keys, signal);
          if (answer?.kind === "fresh") {
            const result: FlightResult = {
              outcome: answer.outcome,
              vary: answer.outcome.kind === "entry"
                ? answer.outcome.entry.varyHeaders
                : {},
            };
            return { result, share: sharedResult(result, call) as unknown };
          }
          if (answer?.kind === "stale") current = answer.stale;
        }
        const result = await this.#origin.fetch(call, keys, current, signal);
        return { result, share: sharedResult(result, call) as unknown };
      },
      {
        ...(signal === undefined ? {} : { signal }),
        clock: config.clock,
        storeTimeoutMs: config.storeTimeoutMs,
        // As long as the owner's job may take by this request's deadlines:
        // one admission and one attempt, then its result's way through the
        // store. An owner slower than that (retrying, say) counts as
        // stalled.
        waitTimeoutMs: config.admissionWaitMs + call.attemptMs +
          config.storeTimeoutMs,
        endedJobs: this.#endedJobs,
        onOwner: () => {
          if (!events.listening) return;
          events.emit({
            type: "dedupe.owner",
            ...events.fields(call),
            key,
            scope: "distributed",
          });
        },
        onStoreError: (error) => events.failedOpen(call, "dedupe", error),
      },
    );
    if (outcome.kind === "owned") return outcome.result;
    const shared = outcome.value;
    if (
      !isSharedResult(shared) || shared.raw === null ||
      !varyMatches(
        { varyHeaders: shared.vary },
        varyView(this.#pipeline, call),
      )
    ) {
      return this.#origin.fetch(call, keys, stale, signal);
    }
    if (events.listening) {
      const ownerRequestId = sharedOwner(shared);
      call.state.ownerRequestId = ownerRequestId;
      events.emit({
        type: "dedupe.joined",
        ...events.fields(call),
        key,
        scope: "distributed",
        waitedMs: performance.now() - started,
        ...(ownerRequestId === undefined ? {} : { ownerRequestId }),
      });
    }
    return {
      outcome: { kind: "raw", raw: shared.raw, source: "dedupe", attempts: 0 },
      vary: shared.vary,
    };
  }
}

function _nothing(): void {}

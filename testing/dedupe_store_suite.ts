import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Clock } from "../src/clock.ts";
import type { DedupeStore } from "../src/stores/types.ts";
import {
  type Awaitable,
  describeOptions,
  type Harness,
  type StoreSuiteOptions,
  storeTest,
  throwsConfigError,
  tick,
  uid,
  within,
} from "./_harness.ts";

/** What a {@linkcode DedupeStoreFactory} receives to build a fresh store. */
export interface DedupeStoreFactoryContext {
  /** The clock the store must use for timeouts and the grace. */
  clock: Clock;
  /** The job timeout to configure, in milliseconds. */
  jobTimeoutMs: number;
  /** The completed-job grace to configure, in milliseconds. */
  completedGraceMs: number;
  /**
   * Backend-specific options: empty, except in the configuration tests,
   * where it holds one entry of
   * {@linkcode DedupeStoreSuiteOptions.invalidOptions}.
   */
  options: Readonly<Record<string, unknown>>;
  /**
   * When set, the store to build shares this store's backend (its jobs) as
   * a store in another process would: same database, same key prefix. Only
   * passed when {@linkcode DedupeStoreSuiteOptions.peers} is `true`.
   */
  peerOf?: DedupeStore<unknown>;
}

/** Builds a fresh, isolated dedupe store for one test. */
export type DedupeStoreFactory = (
  context: DedupeStoreFactoryContext,
) => Awaitable<DedupeStore<unknown>>;

/** Options for {@linkcode testDedupeStore}. */
export interface DedupeStoreSuiteOptions extends StoreSuiteOptions {
  /**
   * Backend-specific options, each of which must make the factory throw a
   * `ConfigError`.
   *
   * @default {[]}
   */
  invalidOptions?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Whether the factory can build a second store on the backend of a first
   * one (see {@linkcode DedupeStoreFactoryContext.peerOf}). The tests that
   * need two processes' views of one backend run only then.
   *
   * @default {false}
   */
  peers?: boolean;
}

const JOB_TIMEOUT_MS = 400;
const GRACE_MS = 200;
/** How long, in real time, a settled wait may take before it counts as a hang. */
const PROMPT_MS = 2_000;

/**
 * Runs the {@linkcode DedupeStore} conformance suite: atomic ownership under
 * concurrency, joiners receiving the owner's value, failure without
 * unhandled rejections, job timeout takeover, the completed-job grace (a
 * completed job is not a cache), late completion, a registration released
 * by `fail`, `fail` after a failed `complete`, what an owner's job replaced
 * (`previous`), aborting `waitFor`, and the configuration errors. With
 * `peers`, also what a second store on the same backend sees: results,
 * failures, and takeovers that a late `fail` must not undo.
 *
 * The factory is called with `jobTimeoutMs: 400` and `completedGraceMs:
 * 200`, so the suite stays fast in `"real"` time too.
 *
 * @param name The name of the store under test, used as the suite's title.
 * @param factory Builds a fresh store for each test; the suite closes it.
 * @param options How time moves, and backend-specific invalid options.
 *
 * @example Testing a store
 * ```ts ignore
 * import { MemoryDedupeStore } from "@sluice/http";
 * import { testDedupeStore } from "@sluice/http/testing";
 *
 * testDedupeStore("MemoryDedupeStore", (context) =>
 *   new MemoryDedupeStore({ ...context, ...context.options }));
 * ```
 */
export function testDedupeStore(
  name: string,
  factory: DedupeStoreFactory,
  options: DedupeStoreSuiteOptions = {},
): void {
  const { time = "manual", invalidOptions = [], peers = false } = options;
  const open = (
    h: Harness,
    overrides: Partial<DedupeStoreFactoryContext> = {},
  ): Promise<DedupeStore<unknown>> =>
    h.open(() =>
      factory({
        clock: h.clock,
        jobTimeoutMs: JOB_TIMEOUT_MS,
        completedGraceMs: GRACE_MS,
        options: {},
        ...overrides,
      })
    );
  const peer = (
    h: Harness,
    store: DedupeStore<unknown>,
  ): Promise<DedupeStore<unknown>> => open(h, { peerOf: store });

  describe(`${name} (DedupeStore conformance, ${time} time)`, () => {
    storeTest(
      "registerOrJoin() makes the first caller owner and later callers joiners of the same job",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `h:${uid()}`;
        const first = await store.registerOrJoin(hash);
        const second = await store.registerOrJoin(hash);
        assert.equal(first.isOwner, true);
        assert.equal(second.isOwner, false);
        assert.equal(second.jobId, first.jobId);
        assert.equal(typeof first.jobId, "string");
        assert.ok(first.jobId.length > 0);
        assert.equal(await store.isInProgress(hash), true);
      },
    );

    storeTest(
      "registerOrJoin() elects exactly one owner among 50 concurrent callers",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `race:${uid()}`;
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.registerOrJoin(hash)),
        );
        const owners = results.filter((r) => r.isOwner);
        assert.equal(owners.length, 1);
        assert.equal(new Set(results.map((r) => r.jobId)).size, 1);
      },
    );

    storeTest(
      "waitFor() hands every joiner the owner's value, byte-exact",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `v:${uid()}`;
        await store.registerOrJoin(hash);
        const waiters = Array.from({ length: 5 }, () => store.waitFor(hash));
        await tick();
        const value = {
          status: 200,
          body: new Uint8Array([0, 1, 254, 255]),
          text: "ünïcode ✓",
        };
        await store.complete(hash, value);
        const results = await within(
          Promise.all(waiters),
          PROMPT_MS,
          "waitFor() after complete()",
        );
        for (const result of results) assert.deepStrictEqual(result, value);
        assert.equal(await store.isInProgress(hash), false);
      },
    );

    storeTest(
      "waitFor() delivers falsy results (0, empty string, false, null) as they are",
      time,
      async (h) => {
        const store = await open(h);
        for (const value of [0, "", false, null]) {
          const hash = `falsy:${uid()}`;
          await store.registerOrJoin(hash);
          const waiting = store.waitFor(hash);
          await tick();
          await store.complete(hash, value);
          assert.equal(await within(waiting, PROMPT_MS, "waitFor()"), value);
        }
      },
    );

    storeTest(
      "fail() gives waiters undefined and never leaves a rejection unhandled",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `fail:${uid()}`;
        await store.registerOrJoin(hash);
        const waiters = [store.waitFor(hash), store.waitFor(hash)];
        await tick();
        await store.fail(hash, new Error("origin down"));
        const results = await within(
          Promise.all(waiters),
          PROMPT_MS,
          "waitFor() after fail()",
        );
        assert.deepStrictEqual(results, [undefined, undefined]);
        // Nobody waits on this one; an unhandled rejection would surface
        // during the ticks below and fail the test.
        const lonely = `fail-lonely:${uid()}`;
        await store.registerOrJoin(lonely);
        await store.fail(lonely, new Error("nobody listens"));
        await tick();
        await tick();
        assert.equal(await store.isInProgress(hash), false);
      },
    );

    storeTest(
      "after fail(), the next registerOrJoin() becomes owner of a new job",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `refail:${uid()}`;
        const first = await store.registerOrJoin(hash);
        await store.fail(hash, new Error("boom"));
        const next = await store.registerOrJoin(hash);
        assert.equal(next.isOwner, true);
        assert.notEqual(next.jobId, first.jobId);
      },
    );

    storeTest(
      "register() makes the caller owner, so that registerOrJoin() joins its job",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `reg:${uid()}`;
        const jobId = await store.register(hash);
        assert.equal(typeof jobId, "string");
        const joined = await store.registerOrJoin(hash);
        assert.deepStrictEqual(joined, { jobId, isOwner: false });
      },
    );

    storeTest(
      "isInProgress() is false for an unknown key and after complete()",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `prog:${uid()}`;
        assert.equal(await store.isInProgress(hash), false);
        await store.registerOrJoin(hash);
        assert.equal(await store.isInProgress(hash), true);
        await store.complete(hash, "done");
        assert.equal(await store.isInProgress(hash), false);
      },
    );

    storeTest(
      "an owner past jobTimeoutMs is replaced: the next registerOrJoin() owns a new job",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `timeout:${uid()}`;
        const first = await store.registerOrJoin(hash);
        await h.advance(JOB_TIMEOUT_MS - (h.exact ? 1 : 150));
        assert.equal((await store.registerOrJoin(hash)).isOwner, false);
        await h.advancePast(h.exact ? 1 : 150);
        assert.equal(await store.isInProgress(hash), false);
        const next = await store.registerOrJoin(hash);
        assert.equal(next.isOwner, true);
        assert.notEqual(next.jobId, first.jobId);
      },
    );

    storeTest(
      "waiters of a job that runs past jobTimeoutMs receive undefined instead of hanging",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `hang:${uid()}`;
        await store.registerOrJoin(hash);
        const waiting = store.waitFor(hash);
        await tick();
        await h.advancePast(JOB_TIMEOUT_MS);
        assert.equal(
          await within(waiting, PROMPT_MS, "waitFor() on a timed-out job"),
          undefined,
        );
      },
    );

    storeTest(
      "waiters of a timed-out job receive undefined when a new owner takes over",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `takeover:${uid()}`;
        await store.registerOrJoin(hash);
        const waiting = store.waitFor(hash);
        await tick();
        await h.advancePast(JOB_TIMEOUT_MS);
        assert.equal((await store.registerOrJoin(hash)).isOwner, true);
        assert.equal(
          await within(waiting, PROMPT_MS, "waitFor() after takeover"),
          undefined,
        );
      },
    );

    storeTest(
      "waitFor() right after complete() returns the value within the grace",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `grace:${uid()}`;
        await store.registerOrJoin(hash);
        await store.complete(hash, "fresh");
        await h.advance(h.exact ? GRACE_MS - 1 : 50);
        assert.equal(
          await within(store.waitFor(hash), PROMPT_MS, "waitFor()"),
          "fresh",
        );
      },
    );

    storeTest(
      "registerOrJoin() after complete() starts a new job instead of reusing the result",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `again:${uid()}`;
        const first = await store.registerOrJoin(hash);
        await store.complete(hash, "old");
        const next = await store.registerOrJoin(hash);
        assert.equal(next.isOwner, true);
        assert.notEqual(next.jobId, first.jobId);
      },
    );

    storeTest(
      "waitFor() after the grace, with no job running, returns undefined promptly",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `late:${uid()}`;
        await store.registerOrJoin(hash);
        await store.complete(hash, "stale");
        await h.advancePast(GRACE_MS);
        assert.equal(
          await within(store.waitFor(hash), PROMPT_MS, "waitFor()"),
          undefined,
        );
        assert.equal(
          await within(store.waitFor(`never:${uid()}`), PROMPT_MS, "waitFor()"),
          undefined,
        );
      },
    );

    storeTest(
      "a completed job is not a cache: past the grace, waitFor() is undefined and registerOrJoin() owns a new job",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `cache:${uid()}`;
        const first = await store.registerOrJoin(hash);
        await store.complete(hash, "done");
        await h.advancePast(GRACE_MS);
        assert.equal(
          await within(store.waitFor(hash), PROMPT_MS, "waitFor()"),
          undefined,
        );
        const next = await store.registerOrJoin(hash);
        assert.equal(next.isOwner, true);
        assert.notEqual(next.jobId, first.jobId);
        const joined = await store.registerOrJoin(hash);
        assert.equal(joined.isOwner, false);
        assert.equal(joined.jobId, next.jobId);
      },
    );

    storeTest(
      "waitFor() naming the joined job answers its result even when it first looks after the grace",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `joined:${uid()}`;
        await store.registerOrJoin(hash);
        const joined = await store.registerOrJoin(hash);
        assert.equal(joined.isOwner, false);
        await store.complete(hash, "for the joiner");
        await h.advancePast(GRACE_MS);
        assert.equal(
          await within(
            store.waitFor(hash, { jobId: joined.jobId }),
            PROMPT_MS,
            "waitFor()",
          ),
          "for the joiner",
        );
      },
    );

    storeTest(
      "complete() after the owner's lease ran out still answers waitFor() within the grace",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `late-complete:${uid()}`;
        await store.registerOrJoin(hash);
        await h.advancePast(JOB_TIMEOUT_MS);
        assert.equal(await store.isInProgress(hash), false);
        await store.complete(hash, "late but fresh");
        assert.equal(
          await within(store.waitFor(hash), PROMPT_MS, "waitFor()"),
          "late but fresh",
        );
      },
    );

    storeTest(
      "a registration released with fail() right after it landed gives its waiters undefined and lets the next caller own",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `released:${uid()}`;
        const late = await store.registerOrJoin(hash);
        assert.equal(late.isOwner, true);
        assert.equal((await store.registerOrJoin(hash)).isOwner, false);
        const waiting = store.waitFor(hash);
        await tick();
        await store.fail(hash, new Error("the registration came too late"));
        assert.equal(
          await within(waiting, PROMPT_MS, "waitFor() after the release"),
          undefined,
        );
        const next = await store.registerOrJoin(hash);
        assert.equal(next.isOwner, true);
        assert.notEqual(next.jobId, late.jobId);
      },
    );

    storeTest(
      "fail() after a complete() that rejected gives waiters undefined, and the next caller owns",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `complete-fail:${uid()}`;
        await store.registerOrJoin(hash);
        const waiting = store.waitFor(hash);
        await tick();
        // JSON has no BigInt: a store that encodes results cannot share it.
        const value = { n: 10n };
        let completed = true;
        try {
          await store.complete(hash, value);
        } catch {
          completed = false;
        }
        await store.fail(hash, new Error("complete() failed"));
        const result = await within(waiting, PROMPT_MS, "waitFor()");
        if (completed) {
          // A store that keeps values as they are shared it; the fail came
          // after the job had settled and changed nothing.
          assert.equal(result, value);
        } else {
          assert.equal(result, undefined);
        }
        assert.equal((await store.registerOrJoin(hash)).isOwner, true);
      },
    );

    storeTest(
      "registerOrJoin() tells an owner what its job replaced: none, completed or failed",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `previous:${uid()}`;
        const reported: (string | undefined)[] = [];
        const own = async (): Promise<void> => {
          const registration = await store.registerOrJoin(hash);
          assert.equal(registration.isOwner, true);
          reported.push(registration.previous);
        };
        await own();
        await store.complete(hash, 1);
        await own();
        await store.fail(hash, new Error("boom"));
        await own();
        await h.advancePast(JOB_TIMEOUT_MS);
        await own();
        // A store need not know (absent means unknown); one that answers
        // answers right.
        const expected = ["none", "completed", "failed", "failed"];
        reported.forEach((previous, i) => {
          if (previous !== undefined) assert.equal(previous, expected[i]);
        });
      },
    );

    storeTest(
      "waitFor() rejects with the signal's reason when aborted, and other waiters still get the value",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `abort:${uid()}`;
        await store.registerOrJoin(hash);
        const controller = new AbortController();
        const aborted = store.waitFor(hash, { signal: controller.signal });
        const other = store.waitFor(hash);
        await tick();
        const reason = new Error("caller gave up");
        controller.abort(reason);
        await assert.rejects(
          within(aborted, PROMPT_MS, "an aborted waitFor()"),
          (error) => error === reason,
        );
        await store.complete(hash, "value");
        assert.equal(await within(other, PROMPT_MS, "waitFor()"), "value");
      },
    );

    storeTest(
      "waitFor() with an already aborted signal rejects at once",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `pre:${uid()}`;
        await store.registerOrJoin(hash);
        const reason = new Error("already aborted");
        await assert.rejects(
          within(
            store.waitFor(hash, { signal: AbortSignal.abort(reason) }),
            PROMPT_MS,
            "waitFor()",
          ),
          (error) => error === reason,
        );
        assert.equal(await store.isInProgress(hash), true);
      },
    );

    storeTest(
      "close() wakes waiters with undefined and may be called twice",
      time,
      async (h) => {
        const store = await open(h);
        const hash = `close:${uid()}`;
        await store.registerOrJoin(hash);
        const waiting = store.waitFor(hash);
        await tick();
        await store.close();
        assert.equal(
          await within(waiting, PROMPT_MS, "waitFor() across close()"),
          undefined,
        );
        await store.close();
      },
    );

    if (peers) {
      storeTest(
        "a waiter on a second store receives the value completed through the first, promptly",
        time,
        async (h) => {
          const owner = await open(h);
          const other = await peer(h, owner);
          const hash = `peer:${uid()}`;
          const registration = await owner.registerOrJoin(hash);
          const joined = await other.registerOrJoin(hash);
          assert.deepStrictEqual(
            { jobId: joined.jobId, isOwner: joined.isOwner },
            { jobId: registration.jobId, isOwner: false },
          );
          const waiting = other.waitFor(hash);
          await tick();
          const value = { status: 200, body: new Uint8Array([7, 0, 255]) };
          await owner.complete(hash, value);
          assert.deepStrictEqual(
            await within(waiting, PROMPT_MS, "waitFor() on the second store"),
            value,
          );
        },
      );

      storeTest(
        "after fail() through one store, waiters on a second store get undefined and its registerOrJoin() owns at once",
        time,
        async (h) => {
          const owner = await open(h);
          const other = await peer(h, owner);
          const hash = `peer-fail:${uid()}`;
          await owner.registerOrJoin(hash);
          assert.equal((await other.registerOrJoin(hash)).isOwner, false);
          const waiting = other.waitFor(hash);
          await tick();
          await owner.fail(hash, new Error("origin down"));
          assert.equal(
            await within(waiting, PROMPT_MS, "waitFor() after fail()"),
            undefined,
          );
          assert.equal((await other.registerOrJoin(hash)).isOwner, true);
        },
      );

      storeTest(
        "fail() from an owner whose job another store took over leaves the new job running",
        time,
        async (h) => {
          const slow = await open(h);
          const other = await peer(h, slow);
          const hash = `peer-takeover:${uid()}`;
          const old = await slow.registerOrJoin(hash);
          await h.advancePast(JOB_TIMEOUT_MS);
          const next = await other.registerOrJoin(hash);
          assert.equal(next.isOwner, true);
          assert.notEqual(next.jobId, old.jobId);
          await slow.fail(hash, new Error("the slow owner gave up"));
          assert.equal(await other.isInProgress(hash), true);
          const joined = await slow.registerOrJoin(hash);
          assert.deepStrictEqual(
            { jobId: joined.jobId, isOwner: joined.isOwner },
            { jobId: next.jobId, isOwner: false },
          );
          const waiting = slow.waitFor(hash);
          await tick();
          await other.complete(hash, "from the new owner");
          assert.equal(
            await within(waiting, PROMPT_MS, "waitFor()"),
            "from the new owner",
          );
        },
      );

      storeTest(
        "a waiter on a second store receives the result of the job it joined even when a new job replaced it at once",
        time,
        async (h) => {
          const owner = await open(h);
          const other = await peer(h, owner);
          const hash = `peer-replaced:${uid()}`;
          await owner.registerOrJoin(hash);
          assert.equal((await other.registerOrJoin(hash)).isOwner, false);
          const waiting = other.waitFor(hash);
          await tick();
          await owner.complete(hash, "first");
          assert.equal((await owner.registerOrJoin(hash)).isOwner, true);
          assert.equal(await within(waiting, PROMPT_MS, "waitFor()"), "first");
        },
      );
    }

    const badContexts: Partial<DedupeStoreFactoryContext>[] = [
      { jobTimeoutMs: 0 },
      { jobTimeoutMs: -1 },
      { jobTimeoutMs: Number.NaN },
      { completedGraceMs: -1 },
      { completedGraceMs: Number.NaN },
    ];
    for (const bad of badContexts) {
      storeTest(
        `the factory throws ConfigError for ${describeOptions(bad)}`,
        time,
        async (h) => {
          await throwsConfigError(() => open(h, bad), describeOptions(bad));
        },
      );
    }
    for (const invalid of invalidOptions) {
      storeTest(
        `the factory throws ConfigError for ${describeOptions(invalid)}`,
        time,
        async (h) => {
          await throwsConfigError(
            () => open(h, { options: invalid }),
            describeOptions(invalid),
          );
        },
      );
    }
  });
}

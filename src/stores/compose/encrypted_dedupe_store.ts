/**
 * {@linkcode EncryptedDedupeStore}: a dedupe store decorator that encrypts
 * every flight's result with AES-GCM-256 before it reaches the store it
 * wraps.
 *
 * @module
 */

import { StoreError } from "../../errors.ts";
import { CodecError } from "../codec.ts";
import { _emitStoreEvent, type StoreEventListener } from "../store_events.ts";
import type {
  DedupeRegistration,
  DedupeStore,
  DedupeStoreStats,
  WaitForOptions,
} from "../types.ts";
import { dedupeStoreOption, messageOf } from "./_inner.ts";
import { type _Sealer, open, seal, sealerOptions } from "./_sealed.ts";
import type { EncryptionOptions } from "./encryption_options.ts";

const COMPONENT = "EncryptedDedupeStore";

/** Options for {@linkcode EncryptedDedupeStore}. */
export type EncryptedDedupeStoreOptions = EncryptionOptions;

interface _DedupeStoreExtras {
  getStats?: () => Promise<DedupeStoreStats>;
  cleanup?: () => Promise<number>;
}

/**
 * A {@linkcode DedupeStore} that encrypts each flight's result before
 * handing it to the store it wraps. A result is the response the owner
 * received (status, headers, body) on its way to the processes that joined
 * its flight, so a shared backend holds response bodies here just as it
 * does in a cache: encrypt both or neither.
 *
 * It encrypts as {@linkcode EncryptedCacheStore} does: AES-GCM-256, a
 * random 96-bit IV per result, the job's key authenticated with it, the
 * same keyring and rotation, the same limit of 2^32 encryptions per key.
 * A result is sealed for a dedupe store, so it never opens as a cache
 * entry, nor a cache entry as a result. Job keys, job ids, states, timings
 * and result sizes stay visible.
 *
 * A result that does not open (a wrong key, an unknown key id, a changed
 * byte) reaches its waiters as no result, as if the owner had failed, so
 * that they elect a new owner; `onEvent` receives `dedupe.corrupt`.
 *
 * `getStats()` and `cleanup()` are those of the wrapped store, when it has
 * them. `close()` closes it.
 *
 * @typeParam T The type of a job's result: `unknown` unless given. The
 *   wrapped store is taken as one of any results.
 *
 * @example Encrypting the results that flights share
 * ```ts
 * import { EncryptedDedupeStore, MemoryDedupeStore } from "@sluice/http";
 *
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const dedupe = new EncryptedDedupeStore(new MemoryDedupeStore(), { keys: { k1: key } });
 * const { isOwner } = await dedupe.registerOrJoin("job");
 * const waiting = dedupe.waitFor("job");
 * if (isOwner) await dedupe.complete("job", { status: 200 });
 * console.log(await waiting); // { status: 200 }
 * await dedupe.close();
 * ```
 */
export class EncryptedDedupeStore<T = unknown> implements DedupeStore<T> {
  readonly #inner: DedupeStore<unknown> & _DedupeStoreExtras;
  readonly #sealer: _Sealer;
  readonly #onEvent: StoreEventListener | undefined;
  /** The wrapped store's counts, when it has `getStats()`; absent otherwise. */
  readonly getStats?: () => Promise<DedupeStoreStats>;
  /**
   * Removes the wrapped store's settled jobs, when it has `cleanup()`;
   * absent otherwise.
   */
  readonly cleanup?: () => Promise<number>;

  /**
   * Wraps a store.
   *
   * @param inner The store that keeps the jobs and their encrypted results.
   * @param options The keyring, compression and event listener.
   * @throws {ConfigError} When `inner` is not a dedupe store, `keys` holds
   * no valid key, `current` names none of them, or another option is bad.
   */
  constructor(
    inner: DedupeStore<unknown>,
    options: EncryptedDedupeStoreOptions,
  ) {
    this.#inner = dedupeStoreOption<unknown>(COMPONENT, "inner", inner);
    const { sealer, onEvent } = sealerOptions(COMPONENT, "dedupe", options);
    this.#sealer = sealer;
    this.#onEvent = onEvent;
    const { getStats, cleanup } = this.#inner;
    if (typeof getStats === "function") {
      this.getStats = () => getStats.call(this.#inner);
    }
    if (typeof cleanup === "function") {
      this.cleanup = () => cleanup.call(this.#inner);
    }
  }

  /**
   * Registers the caller as owner of a new job.
   *
   * @param hash The job's key.
   * @returns The new job id.
   */
  async register(hash: string): Promise<string> {
    return await this.#inner.register(hash);
  }

  /**
   * Joins the job in progress for `hash`, or becomes its owner.
   *
   * @param hash The job's key.
   * @returns The job id, and whether the caller owns it.
   */
  async registerOrJoin(hash: string): Promise<DedupeRegistration> {
    return await this.#inner.registerOrJoin(hash);
  }

  /**
   * Waits for the job of `hash` to settle, and decrypts its result.
   *
   * @param hash The job's key.
   * @param options An abort signal, and the job joined.
   * @returns The result; `undefined` when the owner failed, the job timed
   * out, none ran, or its result does not decrypt under `hash`.
   * @throws The signal's reason when `options.signal` aborts.
   */
  async waitFor(
    hash: string,
    options?: WaitForOptions,
  ): Promise<T | undefined> {
    const stored = await this.#inner.waitFor(hash, options);
    if (stored === undefined) return undefined;
    try {
      return await open(this.#sealer, hash, stored) as T;
    } catch (error) {
      if (!(error instanceof CodecError)) {
        throw new StoreError(
          `Cannot decrypt a result of ${COMPONENT}: ${messageOf(error)}`,
          "encrypted",
          "waitFor",
          { cause: error },
        );
      }
      _emitStoreEvent(this.#onEvent, {
        type: "dedupe.corrupt",
        key: hash,
        reason: error.message,
      });
      return undefined;
    }
  }

  /**
   * Encrypts `value` and completes the job of `hash` with it.
   *
   * @param hash The job's key, bound to the ciphertext.
   * @param value The result.
   * @throws {StoreError} When the value cannot be encoded, or the wrapped
   * store fails.
   */
  async complete(hash: string, value: T): Promise<void> {
    let sealed: Uint8Array;
    try {
      sealed = await seal(this.#sealer, hash, value);
    } catch (error) {
      throw new StoreError(
        `Cannot complete a job of ${COMPONENT}: ${messageOf(error)}`,
        "encrypted",
        "complete",
        { cause: error },
      );
    }
    await this.#inner.complete(hash, sealed);
  }

  /**
   * Marks the job of `hash` as failed.
   *
   * @param hash The job's key.
   * @param error Why the job failed.
   */
  async fail(hash: string, error: Error): Promise<void> {
    await this.#inner.fail(hash, error);
  }

  /**
   * Tells whether a job for `hash` is in progress.
   *
   * @param hash The job's key.
   */
  async isInProgress(hash: string): Promise<boolean> {
    return await this.#inner.isInProgress(hash);
  }

  /** Closes the wrapped store. Safe to call twice. */
  async close(): Promise<void> {
    await this.#inner.close();
  }

  /** Same as {@linkcode EncryptedDedupeStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

import type {
  LibsqlClient,
  LibsqlResultSet,
  LibsqlStatement,
  LibsqlTransaction,
  LibsqlTransactionMode,
} from "./client.ts";

/**
 * A client of a local database file that replaces its native client after a
 * busy error.
 *
 * The native client does not reset a statement that failed with
 * `SQLITE_BUSY`: the statement keeps a read snapshot of the file open on its
 * connection, and every later write there fails (`SQLITE_BUSY_SNAPSHOT`)
 * until the statement is garbage-collected, which under steady writes from
 * other processes can be never. So the failed call's error is passed on (the
 * caller retries), the next call goes to a new native client, and the old one
 * is closed once the calls already handed to it have run and the
 * transactions opened on it have ended.
 */
export class _RenewingClient implements LibsqlClient {
  readonly #create: () => LibsqlClient;
  readonly #isBusy: (error: unknown) => boolean;
  #client: LibsqlClient;
  #closed = false;
  /** Transactions still open, per native client. */
  readonly #open = new Map<LibsqlClient, number>();
  /** Replaced native clients to close once their transactions end. */
  readonly #retiring = new Set<LibsqlClient>();

  /**
   * @param open Creates a native client; called once now, and again after
   * each busy error.
   * @param isBusy Whether an error is the file being locked.
   */
  constructor(open: () => LibsqlClient, isBusy: (error: unknown) => boolean) {
    this.#create = open;
    this.#isBusy = isBusy;
    this.#client = open();
  }

  get closed(): boolean {
    return this.#closed || this.#client.closed;
  }

  get protocol(): string {
    return this.#client.protocol;
  }

  execute(statement: LibsqlStatement): Promise<LibsqlResultSet> {
    const client = this.#client;
    return this.#watch(client, client.execute(statement));
  }

  batch(
    statements: LibsqlStatement[],
    mode?: LibsqlTransactionMode,
  ): Promise<LibsqlResultSet[]> {
    const client = this.#client;
    return this.#watch(client, client.batch(statements, mode));
  }

  async transaction(
    mode?: LibsqlTransactionMode,
  ): Promise<LibsqlTransaction> {
    const client = this.#client;
    const transaction = await this.#watch(client, client.transaction(mode));
    this.#open.set(client, (this.#open.get(client) ?? 0) + 1);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      const left = (this.#open.get(client) ?? 1) - 1;
      if (left > 0) {
        this.#open.set(client, left);
        return;
      }
      this.#open.delete(client);
      if (this.#retiring.delete(client) && !client.closed) client.close();
    };
    return {
      execute: (statement) => transaction.execute(statement),
      commit: () => transaction.commit().finally(end),
      rollback: () => transaction.rollback().finally(end),
      close: () => {
        transaction.close();
        end();
      },
    };
  }

  close(): void {
    this.#closed = true;
    this.#client.close();
    for (const retiring of this.#retiring) {
      if (!retiring.closed) retiring.close();
    }
    this.#retiring.clear();
  }

  #watch<T>(client: LibsqlClient, call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      if (this.#isBusy(error)) this.#renew(client);
      throw error;
    });
  }

  #renew(failed: LibsqlClient): void {
    if (this.#closed || this.#client !== failed) return;
    let next: LibsqlClient;
    try {
      next = this.#create();
    } catch {
      // The file cannot be opened again right now: keep the old client,
      // which recovers once its failed statement is collected.
      return;
    }
    this.#client = next;
    // Calls handed to the old client run their statements within the
    // microtasks that follow; a timer runs after them. A transaction still
    // open on it closes it when it ends.
    setTimeout(() => {
      if (this.#open.has(failed)) this.#retiring.add(failed);
      else if (!failed.closed) failed.close();
    }, 0);
  }
}

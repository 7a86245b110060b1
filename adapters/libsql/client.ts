/**
 * The libSQL client as the stores see it: a structural type, so that any
 * `@libsql/client` `Client` (native, web, or a wrapper of either) can be
 * passed in without naming an npm type in a public signature.
 *
 * @module
 */

/** A value bound to a statement parameter, or read from a column. */
export type LibsqlValue =
  | null
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | ArrayBuffer;

/** A statement with positional arguments (`?1`, `?2`, …). */
export interface LibsqlStatement {
  /** The SQL text. */
  sql: string;
  /** The arguments, in parameter order. */
  args: LibsqlValue[];
}

/** One row of a result set, addressed by column name. */
export interface LibsqlRow {
  /** The value of a column. */
  readonly [column: string]: unknown;
}

/** The result of one statement. */
export interface LibsqlResultSet {
  /** The rows returned, if any. */
  readonly rows: readonly LibsqlRow[];
}

/** How a batch or transaction locks the database. */
export type LibsqlTransactionMode = "write" | "read" | "deferred";

/** An interactive transaction, as returned by `client.transaction()`. */
export interface LibsqlTransaction {
  /**
   * Runs one statement inside the transaction.
   *
   * @param statement The statement.
   */
  execute(statement: LibsqlStatement): Promise<LibsqlResultSet>;
  /** Commits the transaction. */
  commit(): Promise<void>;
  /** Rolls the transaction back. */
  rollback(): Promise<void>;
  /** Releases the transaction, rolling back if it is still open. */
  close(): void;
}

/**
 * The methods of an `@libsql/client` `Client` that the stores call. A client
 * from `createClient()` of `@libsql/client` or `@libsql/client/web` fits.
 */
export interface LibsqlClient {
  /**
   * Runs one statement.
   *
   * @param statement The statement.
   */
  execute(statement: LibsqlStatement): Promise<LibsqlResultSet>;
  /**
   * Runs statements in one transaction, in one round trip.
   *
   * @param statements The statements.
   * @param mode The transaction mode; the stores always pass `"write"`.
   */
  batch(
    statements: LibsqlStatement[],
    mode?: LibsqlTransactionMode,
  ): Promise<LibsqlResultSet[]>;
  /**
   * Starts an interactive transaction. Used only to upgrade an older schema.
   *
   * @param mode The transaction mode.
   */
  transaction(mode?: LibsqlTransactionMode): Promise<LibsqlTransaction>;
  /** Closes the client. */
  close(): void;
  /** Whether the client is closed. */
  readonly closed: boolean;
  /** The protocol in use: `"file"` for local databases, `"http"` or `"ws"` for servers. */
  readonly protocol: string;
}

// Requests that take more than one call: paginated queries and scans, and
// batch deletes that retry what DynamoDB left unprocessed.
import { StoreError } from "../../src/errors.ts";
import { _ConditionFailed, type _Connection, BACKEND } from "./_connection.ts";
import { INDEX_NAME } from "./_table.ts";
import { items, N, names, S } from "./_values.ts";

/** A primary key. */
export interface _Key {
  pk: { S: string };
  sk: { S: string };
}

/** Items per `BatchWriteItem`: DynamoDB's limit. */
const BATCH_SIZE = 25;
/** Tries per batch while DynamoDB leaves items unprocessed (throttling). */
const BATCH_TRIES = 8;

/**
 * Runs a `Query` or `Scan` to its last page, handing each page's items to
 * `each`.
 */
export async function pages(
  connection: _Connection,
  operation: string,
  target: "Query" | "Scan",
  input: Record<string, unknown>,
  each: (page: Record<string, unknown>[]) => void | Promise<void>,
): Promise<void> {
  let start: unknown;
  do {
    const reply = await connection.call(
      operation,
      target,
      start === undefined ? input : { ...input, ExclusiveStartKey: start },
    );
    await each(items(reply));
    start = reply.LastEvaluatedKey;
  } while (start !== undefined && start !== null);
}

/** A query of every shard of the index `gsi1`. */
export interface ShardQuery {
  /** The index partition of shard `n`. */
  group: (n: number) => string;
  /** How many shards there are. */
  shards: number;
  /** Only items whose `gsk` starts with `=<prefix>`; all when empty. */
  prefix: string;
  /** The attributes to read. */
  projection: string;
  /** Only items whose `exp` is at or before it, when given. */
  expiredBy: number | undefined;
}

/** Queries every shard of the index at once, each to its last page. */
export async function queryShards(
  connection: _Connection,
  operation: string,
  query: ShardQuery,
  each: (page: Record<string, unknown>[]) => void | Promise<void>,
): Promise<void> {
  const { prefix, projection, expiredBy } = query;
  const condition = prefix === ""
    ? "#gpk = :g"
    : "#gpk = :g AND begins_with(#gsk, :p)";
  const filter = expiredBy === undefined ? "" : "#exp <= :now";
  await Promise.all(
    Array.from(
      { length: query.shards },
      (_, shard) =>
        pages(connection, operation, "Query", {
          IndexName: INDEX_NAME,
          KeyConditionExpression: condition,
          ...(filter === "" ? {} : { FilterExpression: filter }),
          ProjectionExpression: projection,
          ExpressionAttributeNames: names(condition, filter, projection),
          ExpressionAttributeValues: {
            ":g": S(query.group(shard)),
            ...(prefix === "" ? {} : { ":p": S(`=${prefix}`) }),
            ...(expiredBy === undefined ? {} : { ":now": N(expiredBy) }),
          },
        }, each),
    ),
  );
}

/**
 * Whether a conditional write held: `false` when DynamoDB refused it for
 * its condition, any other failure thrown.
 */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof _ConditionFailed) return false;
    throw error;
  }
}

/** Every item of a `Query` or `Scan`, all pages. */
export async function all(
  connection: _Connection,
  operation: string,
  target: "Query" | "Scan",
  input: Record<string, unknown>,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  await pages(connection, operation, target, input, (page) => {
    out.push(...page);
  });
  return out;
}

/**
 * Deletes items by key, 25 per `BatchWriteItem`, sending again what
 * DynamoDB leaves unprocessed (with a short backoff) until all are gone.
 *
 * @throws {StoreError} When some are still unprocessed after every try.
 */
export function deleteAll(
  connection: _Connection,
  operation: string,
  keys: readonly _Key[],
): Promise<void> {
  return _batchWrite(
    connection,
    operation,
    keys.map((key) => ({
      DeleteRequest: { Key: { pk: key.pk, sk: key.sk } },
    })),
  );
}

async function _batchWrite(
  connection: _Connection,
  operation: string,
  all: readonly unknown[],
): Promise<void> {
  for (let i = 0; i < all.length; i += BATCH_SIZE) {
    let requests: unknown[] = all.slice(i, i + BATCH_SIZE);
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === BATCH_TRIES) {
        throw new StoreError(
          `Cannot ${operation} on ${connection.component}: DynamoDB left ${requests.length} writes unprocessed after ${BATCH_TRIES} tries`,
          BACKEND,
          operation,
        );
      }
      if (attempt > 0) await _backoff(attempt);
      const reply = await connection.call(operation, "BatchWriteItem", {
        TableName: undefined,
        RequestItems: { [connection.table]: requests },
      });
      const left =
        (reply.UnprocessedItems as Record<string, unknown[]> | undefined)
          ?.[connection.table];
      requests = Array.isArray(left) ? left : [];
    }
  }
}

/**
 * Puts items, 25 per `BatchWriteItem`, sending again what DynamoDB leaves
 * unprocessed (with a short backoff) until all are written.
 *
 * @throws {StoreError} When some are still unprocessed after every try.
 */
export function putAll(
  connection: _Connection,
  operation: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  return _batchWrite(
    connection,
    operation,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

/**
 * Reads items by key with consistent reads, 100 per `BatchGetItem`, asking
 * again for what DynamoDB leaves unprocessed.
 *
 * @throws {StoreError} When some are still unprocessed after every try.
 */
export async function getAll(
  connection: _Connection,
  operation: string,
  keys: readonly _Key[],
  projection: string,
  names: Record<string, string>,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: unknown[] = keys.slice(i, i + 100);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_TRIES) {
        throw new StoreError(
          `Cannot ${operation} on ${connection.component}: DynamoDB left ${pending.length} reads unprocessed after ${BATCH_TRIES} tries`,
          BACKEND,
          operation,
        );
      }
      if (attempt > 0) await _backoff(attempt);
      const reply = await connection.call(operation, "BatchGetItem", {
        TableName: undefined,
        RequestItems: {
          [connection.table]: {
            Keys: pending,
            ConsistentRead: true,
            ProjectionExpression: projection,
            ExpressionAttributeNames: names,
          },
        },
      });
      const found = (reply.Responses as Record<string, unknown[]> | undefined)
        ?.[connection.table];
      if (Array.isArray(found)) {
        out.push(...found as Record<string, unknown>[]);
      }
      const left = (reply.UnprocessedKeys as
        | Record<string, { Keys?: unknown[] }>
        | undefined)?.[connection.table]?.Keys;
      pending = Array.isArray(left) ? left : [];
    }
  }
  return out;
}

/**
 * Collects keys to delete from many concurrent pages and deletes them in
 * full batches of 25, one batch at a time.
 */
export class _Deleter {
  readonly #connection: _Connection;
  readonly #operation: string;
  #pending: _Key[] = [];
  #chain: Promise<void> = Promise.resolve();
  deleted = 0;

  constructor(connection: _Connection, operation: string) {
    this.#connection = connection;
    this.#operation = operation;
  }

  /** Queues keys; full batches are sent (in order) before it resolves. */
  add(keys: readonly _Key[]): Promise<void> {
    this.#pending.push(...keys);
    const full = this.#pending.length - (this.#pending.length % BATCH_SIZE);
    if (full === 0) return this.#chain;
    return this.#send(this.#pending.splice(0, full));
  }

  /** Sends what is left. */
  flush(): Promise<void> {
    return this.#send(this.#pending.splice(0));
  }

  #send(keys: _Key[]): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      await deleteAll(this.#connection, this.#operation, keys);
      this.deleted += keys.length;
    });
    return this.#chain;
  }
}

/** The primary key of an item read back. */
export function keyOf(item: Record<string, unknown>): _Key {
  return { pk: item.pk as { S: string }, sk: item.sk as { S: string } };
}

function _backoff(attempt: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.min(1_000, 10 * 2 ** attempt))
  );
}

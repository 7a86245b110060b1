/**
 * The table every DynamoDB store shares: its exact `CreateTable` input,
 * and a function that creates it.
 *
 * @module
 */

import { StoreError } from "../../src/errors.ts";
import {
  _Connection,
  BACKEND,
  type DynamoDBConnectionOptions,
} from "./_connection.ts";
import type { CreateTableResult } from "./_table.ts";

export {
  type CreateTableResult,
  DEFAULT_TABLE_NAME,
  type DynamoDBKeySchemaElement,
  type DynamoDBTableSchema,
  TABLE_SCHEMA,
} from "./_table.ts";

/**
 * Creates the stores' table (`TABLE_SCHEMA`, named `tableName`) unless it
 * exists, waits until it is active, and enables DynamoDB's TTL on its
 * `ttl` attribute where the service supports it. Safe to run again.
 *
 * Needs `dynamodb:CreateTable`, `dynamodb:DescribeTable` and
 * `dynamodb:UpdateTimeToLive`: run it from a setup script or a deployment
 * step, not from every process.
 *
 * @param options The client (or region and credentials) and `tableName`.
 * @returns Whether the table was created, and whether TTL is on.
 * @throws {ConfigError} When an option is invalid.
 * @throws {StoreError} When DynamoDB refuses or cannot be reached.
 *
 * @example A setup script
 * ```ts
 * import { createTable } from "@sluice/http/dynamodb";
 *
 * const { created, ttl } = await createTable({
 *   region: "eu-west-1",
 *   credentials: { accessKeyId: "AKIA…", secretAccessKey: "…" },
 *   tableName: "sluice",
 * });
 * console.log(created ? "created" : "existed", `TTL ${ttl}`);
 * ```
 */
export async function createTable(
  options: DynamoDBConnectionOptions,
): Promise<CreateTableResult> {
  const connection = new _Connection("createTable", options);
  try {
    return await connection.ensureTable();
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      `Cannot create the DynamoDB table '${connection.table}': ${
        error instanceof Error ? error.message : String(error)
      }`,
      BACKEND,
      "createTable",
      { cause: error },
    );
  }
}

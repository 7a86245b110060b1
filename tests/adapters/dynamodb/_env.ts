// One dynalite per test file, a table for it, and both ways of reaching it:
// `fetch` with the stores' own SigV4, and a real AWS SDK v3 client.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBConnectionOptions } from "../../../adapters/dynamodb/mod.ts";
import {
  type Dynalite,
  startDynalite,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../../fixtures/dynalite.ts";

/** How a store reaches dynalite. */
export type Form = "fetch" | "sdk";

/** A dynalite and one table for a test file. */
export interface DynamoEnv {
  readonly server: Dynalite;
  readonly table: string;
  /** Connection options in one form, on `url` (the server's by default), with a fresh key prefix. */
  connect(
    form: Form,
    url?: string,
    keyPrefix?: string,
  ): DynamoDBConnectionOptions;
  /** A key prefix no other test uses. */
  prefix(): string;
  /** An AWS SDK client on `url`, without retries (as the README advises). */
  sdk(url?: string): DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynamoEnv(): Promise<DynamoEnv> {
  const server = await startDynalite();
  const table = await server.table();
  const clients: DynamoDBClient[] = [];
  const sdk = (url = server.url): DynamoDBClient => {
    const client = new DynamoDBClient({
      region: TEST_REGION,
      endpoint: url,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  const prefix = () => `test:${crypto.randomUUID().slice(0, 8)}:`;
  return {
    server,
    table,
    prefix,
    sdk,
    connect: (form, url = server.url, keyPrefix = prefix()) =>
      form === "fetch"
        ? {
          endpoint: url,
          region: TEST_REGION,
          credentials: TEST_CREDENTIALS,
          tableName: table,
          keyPrefix,
        }
        : { client: sdk(url), tableName: table, keyPrefix },
    async close() {
      for (const client of clients) client.destroy();
      await server.stop();
    },
  };
}

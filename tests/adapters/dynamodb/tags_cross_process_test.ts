// Cache tags across real OS processes sharing one DynamoDB table (dynalite).
import { describe } from "node:test";
import { describeTagsAcrossProcesses } from "../../fixtures/tags_scenario.ts";
import { type DynamoEnv, startDynamoEnv } from "./_env.ts";

describe("DynamoDB cache tags across processes", () => {
  let env: DynamoEnv;
  describeTagsAcrossProcesses({
    start: async () => {
      env = await startDynamoEnv();
    },
    config: () => ({
      backend: "dynamodb",
      endpoint: env.server.url,
      tableName: env.table,
      keyPrefix: env.prefix(),
    }),
    stop: async () => {
      await env?.close();
    },
  });
});

// The table every DynamoDB store shares, and how to create it.

/** The table name the stores use unless given `tableName`. */
export const DEFAULT_TABLE_NAME: string = "sluice";

/** The name of the global secondary index that `clear(prefix)` queries. */
export const INDEX_NAME: string = "gsi1";

/** The attribute DynamoDB's own TTL deletes expired items by (epoch seconds). */
export const TTL_ATTRIBUTE: string = "ttl";

/** One attribute of a key schema. */
export interface DynamoDBKeySchemaElement {
  /** The attribute's name. */
  AttributeName: string;
  /** `"HASH"` for a partition key, `"RANGE"` for a sort key. */
  KeyType: "HASH" | "RANGE";
}

/** The CreateTable input of the stores' table. */
export interface DynamoDBTableSchema {
  /** The table's name: {@linkcode DEFAULT_TABLE_NAME} unless changed. */
  TableName: string;
  /** The key attributes, all strings. */
  AttributeDefinitions: { AttributeName: string; AttributeType: "S" }[];
  /** `pk` (partition key) and `sk` (sort key). */
  KeySchema: DynamoDBKeySchemaElement[];
  /** `gsi1` on `gpk` and `gsk`, projecting `exp` and `sz` as well. */
  GlobalSecondaryIndexes: {
    IndexName: string;
    KeySchema: DynamoDBKeySchemaElement[];
    Projection: {
      ProjectionType: "INCLUDE";
      NonKeyAttributes: string[];
    };
  }[];
  /** On-demand capacity. */
  BillingMode: "PAY_PER_REQUEST";
}

/**
 * The exact `CreateTable` input of the table that every DynamoDB store
 * shares, for CloudFormation, CDK, Terraform or the SDK: partition key `pk`
 * and sort key `sk` (strings), and the global secondary index `gsi1` on
 * `gpk` / `gsk`, which cache entries are written into (spread over sixteen
 * shards) so that `clear(prefix)` queries it instead of scanning the table.
 * Enable DynamoDB's TTL on the attribute `ttl` as well (`createTable` does).
 * Give another `TableName` to use another table, and the same name to the
 * stores as `tableName`.
 */
export const TABLE_SCHEMA: DynamoDBTableSchema = {
  TableName: DEFAULT_TABLE_NAME,
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" },
    { AttributeName: "sk", AttributeType: "S" },
    { AttributeName: "gpk", AttributeType: "S" },
    { AttributeName: "gsk", AttributeType: "S" },
  ],
  KeySchema: [
    { AttributeName: "pk", KeyType: "HASH" },
    { AttributeName: "sk", KeyType: "RANGE" },
  ],
  GlobalSecondaryIndexes: [{
    IndexName: INDEX_NAME,
    KeySchema: [
      { AttributeName: "gpk", KeyType: "HASH" },
      { AttributeName: "gsk", KeyType: "RANGE" },
    ],
    Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["exp", "sz"] },
  }],
  BillingMode: "PAY_PER_REQUEST",
};

/** What {@linkcode createTable} did. */
export interface CreateTableResult {
  /** `true` when the table was created, `false` when it existed already. */
  created: boolean;
  /**
   * DynamoDB's TTL on the `ttl` attribute: `"enabled"` (now or before), or
   * `"unsupported"` where the service lacks `UpdateTimeToLive` (local
   * emulators such as dynalite). The stores filter expired items on every
   * read either way; TTL only removes them from storage.
   */
  ttl: "enabled" | "unsupported";
}

// The SigV4 signer the fetch-based stores sign every request with: the
// published AWS test vectors, the AWS SDK's own signature of a DynamoDB
// request (which dynalite does not check), and the headers a signed
// request carries.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { signingKey, signRequest } from "../../../adapters/dynamodb/_sigv4.ts";
import { type DynamoProxy, startDynamoProxy } from "../../fixtures/dynalite.ts";

// The credentials, date and region of AWS's Signature Version 4 test suite.
const EXAMPLE = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const EXAMPLE_DATE = new Date(Date.UTC(2015, 7, 30, 12, 36, 0));

const hex = (buffer: ArrayBuffer): string =>
  Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0"))
    .join("");

describe("SigV4 signing with Web Crypto", () => {
  it('matches the "get-vanilla" vector of the AWS SigV4 test suite', async () => {
    const headers = await signRequest({
      method: "GET",
      url: new URL("https://example.amazonaws.com/"),
      headers: {},
      body: "",
      credentials: EXAMPLE,
      region: "us-east-1",
      service: "service",
      date: EXAMPLE_DATE,
    });
    assert.equal(headers["x-amz-date"], "20150830T123600Z");
    assert.equal(
      headers.authorization,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it('matches the "post-vanilla" vector of the AWS SigV4 test suite', async () => {
    const headers = await signRequest({
      method: "POST",
      url: new URL("https://example.amazonaws.com/"),
      headers: {},
      body: "",
      credentials: EXAMPLE,
      region: "us-east-1",
      service: "service",
      date: EXAMPLE_DATE,
    });
    assert.match(
      headers.authorization!,
      /Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b$/,
    );
  });

  it("derives the signing key of AWS's documented example", async () => {
    assert.equal(
      hex(
        await signingKey(
          EXAMPLE.secretAccessKey,
          "20150830",
          "us-east-1",
          "iam",
        ),
      ),
      "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
    );
  });

  describe("against the AWS SDK", () => {
    let proxy: DynamoProxy;
    before(async () => {
      // Nothing behind it: the proxy answers every request itself.
      proxy = await startDynamoProxy("http://127.0.0.1:1");
      proxy.intercept(() => ({ status: 200, body: { TableNames: [] } }));
    });
    after(async () => {
      await proxy.close();
    });

    for (
      const sessionToken of [undefined, "IQoJb3JpZ2luX2VjEXAMPLE//token+="]
    ) {
      it(
        `signs a DynamoDB request exactly as the AWS SDK does${
          sessionToken === undefined ? "" : ", with a session token"
        }`,
        async () => {
          const credentials = {
            accessKeyId: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ...(sessionToken === undefined ? {} : { sessionToken }),
          };
          const sdk = new DynamoDBClient({
            region: "eu-west-1",
            endpoint: proxy.url,
            credentials,
            maxAttempts: 1,
          });
          try {
            await sdk.send(new ListTablesCommand({ Limit: 5 }));
          } finally {
            sdk.destroy();
          }
          const seen = proxy.lastHeaders();
          const authorization = String(seen.authorization);
          const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)![1]!
            .split(";");
          const amzDate = String(seen["x-amz-date"]);
          const date = new Date(
            `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${
              amzDate.slice(6, 11)
            }:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`,
          );
          const headers: Record<string, string> = {};
          for (const name of signedNames) {
            if (
              name !== "host" && name !== "x-amz-date" &&
              name !== "x-amz-security-token"
            ) {
              headers[name] = String(seen[name]);
            }
          }
          const ours = await signRequest({
            method: "POST",
            url: new URL(`${proxy.url}/`),
            headers,
            body: proxy.lastBody(),
            credentials,
            region: "eu-west-1",
            service: "dynamodb",
            date,
          });
          assert.equal(ours.authorization, authorization);
          assert.equal(
            ours["x-amz-security-token"],
            seen["x-amz-security-token"],
          );
        },
      );
    }
  });
});

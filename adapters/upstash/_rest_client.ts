import type { UpstashRedisLike } from "./_connection.ts";

/**
 * A minimal Upstash REST client over `fetch`, used when a store is given a
 * `url` and `token` instead of an `@upstash/redis` client. It sends one
 * command per request (`POST /` with a JSON array) and does not retry: the
 * store turns failures into `StoreError`s, and the HTTP client's fail-open
 * policy decides what happens next.
 */
export class _UpstashRestClient implements UpstashRedisLike {
  readonly #url: string;
  readonly #authorization: string;

  constructor(url: string, token: string) {
    this.#url = url.replace(/\/+$/, "");
    this.#authorization = `Bearer ${token}`;
  }

  /** Runs one command and returns its result, or throws the server's error. */
  async command(args: readonly (string | number)[]): Promise<unknown> {
    const response = await fetch(this.#url, {
      method: "POST",
      headers: {
        authorization: this.#authorization,
        "content-type": "application/json",
      },
      body: JSON.stringify(args),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(
        `Upstash answered ${response.status} with a body that is not JSON: ${
          text.slice(0, 200)
        }`,
      );
    }
    const record = typeof body === "object" && body !== null
      ? body as { result?: unknown; error?: unknown }
      : {};
    if (typeof record.error === "string") throw new Error(record.error);
    if (!response.ok) {
      throw new Error(`Upstash answered ${response.status}`);
    }
    if (!("result" in record)) {
      throw new Error("Upstash answered without a result");
    }
    return record.result;
  }

  get(key: string): Promise<unknown> {
    return this.command(["GET", key]);
  }

  set(key: string, value: string, options?: { px: number }): Promise<unknown> {
    return this.command(
      options === undefined
        ? ["SET", key, value]
        : ["SET", key, value, "PX", options.px],
    );
  }

  del(...keys: string[]): Promise<unknown> {
    return this.command(["DEL", ...keys]);
  }

  unlink(...keys: string[]): Promise<unknown> {
    return this.command(["UNLINK", ...keys]);
  }

  eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.command(["EVAL", script, keys.length, ...keys, ...args]);
  }

  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown> {
    return this.command(["EVALSHA", sha, keys.length, ...keys, ...args]);
  }

  async scan(
    cursor: string | number,
    options: { match: string; count: number; type?: string },
  ): Promise<[string | number, string[]]> {
    const result = await this.command([
      "SCAN",
      cursor,
      "MATCH",
      options.match,
      "COUNT",
      options.count,
      ...(options.type === undefined ? [] : ["TYPE", options.type]),
    ]);
    if (
      !Array.isArray(result) || result.length !== 2 ||
      !Array.isArray(result[1])
    ) {
      throw new Error("Upstash answered SCAN with a malformed result");
    }
    return [result[0] as string, result[1] as string[]];
  }
}

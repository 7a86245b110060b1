// One redis-server and one Upstash REST bridge per test file, and real
// `@upstash/redis` clients pointed at the bridge.
import { Redis } from "@upstash/redis";
import {
  type RedisServer,
  startRedisServer,
} from "../../fixtures/redis_server.ts";
import {
  startUpstashBridge,
  type UpstashBridge,
} from "../../fixtures/upstash_bridge.ts";

/** A redis-server behind a bridge, for one test file. */
export interface UpstashEnv {
  readonly server: RedisServer;
  readonly bridge: UpstashBridge;
  /**
   * A real `@upstash/redis` client on the bridge. By default it does not
   * retry and does not deserialize, as the README recommends; pass options
   * to try others.
   */
  client(options?: ClientOptions): Redis;
  /** A key prefix no other test uses. */
  prefix(): string;
  close(): Promise<void>;
}

/** Options of {@linkcode UpstashEnv.client}. */
export interface ClientOptions {
  /** Another token than the bridge's. */
  token?: string;
  /** Whether the client JSON-parses results. Default `false`. */
  automaticDeserialization?: boolean;
  /** Whether concurrent commands are batched into pipelines. Default `true`. */
  enableAutoPipelining?: boolean;
}

/** Starts redis-server and the bridge. */
export async function startUpstashEnv(): Promise<UpstashEnv> {
  const server = await startRedisServer();
  const bridge = await startUpstashBridge({ redisPort: server.port });
  return {
    server,
    bridge,
    client: (options = {}) =>
      new Redis({
        url: bridge.url,
        token: options.token ?? bridge.token,
        automaticDeserialization: options.automaticDeserialization ?? false,
        enableAutoPipelining: options.enableAutoPipelining ?? true,
        enableTelemetry: false,
        retry: false,
      }),
    prefix: () => `sluice-test:${crypto.randomUUID().slice(0, 8)}:`,
    async close() {
      await bridge.close();
      await server.close();
    },
  };
}

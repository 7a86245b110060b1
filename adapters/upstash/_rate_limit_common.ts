import { cooldownDuration } from "../../src/stores/_validate.ts";
import { type _Connection, _integers } from "./_connection.ts";
import { GET_COOLDOWN, SET_COOLDOWN } from "./_rate_limit_scripts.ts";

/** A unique sorted-set member for each admission made by this process. */
export class _Members {
  readonly #prefix: string = crypto.randomUUID().slice(0, 13);
  #next = 0;

  next(): string {
    return `${this.#prefix}:${(this.#next++).toString(36)}`;
  }
}

/** Converts a time of the Redis server's clock into this process's clock. */
export function _localDate(serverTime: number, serverNow: number): Date {
  return new Date(Date.now() + (serverTime - serverNow));
}

/**
 * The cooldown scripts shared by both rate-limit stores: an absolute end in
 * server time under `<key of the resource>:cooldown`, only ever extended.
 */
export class _Cooldowns {
  readonly #connection: _Connection;
  readonly #component: string;

  constructor(connection: _Connection, component: string) {
    this.#connection = connection;
    this.#component = component;
  }

  async set(resource: string, durationMs: number): Promise<void> {
    const duration = Math.ceil(cooldownDuration(this.#component, durationMs));
    await this.#connection.script(
      "setCooldown",
      SET_COOLDOWN,
      [this.#key(resource)],
      [String(duration)],
    );
  }

  get(resource: string): Promise<number> {
    return this.#connection.script(
      "getCooldown",
      GET_COOLDOWN,
      [this.#key(resource)],
      [],
      (reply) => Math.max(0, _integers(reply, 1)[0]!),
    );
  }

  #key(resource: string): string {
    return `${this.#connection.key(resource)}:cooldown`;
  }
}

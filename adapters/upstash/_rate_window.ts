import type {
  RateWindow,
  RateWindowAdmitReply,
  RateWindowAdmitRequest,
  RateWindowQuery,
  RateWindowRetention,
  RateWindowStats,
  RateWindowStatus,
  RateWindowUserCounts,
  RateWindowUsers,
} from "../../src/stores/rate_window.ts";
import type { EnforcedBudgets } from "../../src/stores/window_rate_limit_store.ts";
import {
  _Connection,
  _integers,
  type _Script,
  type UpstashConnectionOptions,
} from "./_connection.ts";
import {
  ADMIT,
  COUNT_RECENT,
  GET_COOLDOWN,
  POSTPONE,
  RUNNING,
  SET_COOLDOWN,
  STATUS,
} from "./_rate_limit_scripts.ts";

/** What `admit` hands back to `postpone`: where the admission is recorded. */
interface _Ref {
  /** Its member in the window (and in the background window). */
  readonly member: string;
  /** Whether it is in the background window too. */
  readonly background: boolean;
  /** The window it was admitted in, margin included. */
  readonly windowMs: number;
}

function _isRef(ref: unknown): ref is _Ref {
  return typeof ref === "object" && ref !== null &&
    typeof (ref as _Ref).member === "string";
}

/** Keys asked for per `SCAN` step, and counted per script, in `stats()`. */
const SCAN_COUNT = 1_000;

/** The kinds of key of one resource; the kind comes before the resource. */
type _Kind = "w" | "bg" | "u" | "cd";

/**
 * The {@linkcode RateWindow} of the Upstash stores: one Lua script per
 * operation, every time the Redis server's. Per resource, under
 * `<keyPrefix>ratelimit:`: `w:<resource>` (every admission in the window),
 * `bg:<resource>` (background admissions), `u:<resource>` (user admissions
 * of the monitoring window) and `cd:<resource>` (the cooldown's end). The
 * kind before the resource keeps the keys of two resources apart whatever
 * their names hold.
 */
export class _UpstashRateWindow implements RateWindow {
  readonly #connection: _Connection;
  #members: string | undefined;
  #next = 0;

  constructor(component: string, options: UpstashConnectionOptions) {
    this.#connection = new _Connection(component, "ratelimit", options);
  }

  admit(
    resource: string,
    request: RateWindowAdmitRequest,
  ): Promise<RateWindowAdmitReply> {
    const { users, backgroundMax, cooldownResource } = request;
    // Keys and arguments a request does not use are left off the end, so
    // that the common one (no share, no cooldown) travels light.
    const keys = [this.#key("w", resource)];
    if (backgroundMax !== null || users !== null || cooldownResource !== null) {
      keys.push(this.#key("bg", resource), this.#key("u", resource));
    }
    if (cooldownResource !== null) keys.push(this.#key("cd", cooldownResource));
    const member = this.#member();
    const ref: _Ref = {
      member,
      background: request.priority !== "user" && backgroundMax !== null,
      windowMs: request.windowMs,
    };
    const args = [
      String(request.limit),
      String(request.windowMs),
      member,
      request.priority === "user" ? "user" : "background",
      backgroundMax === null ? "" : String(backgroundMax),
      request.backgroundPaused ? "1" : "0",
      request.idleSince === null ? "" : String(request.idleSince),
      cooldownResource === null ? "0" : "1",
      request.force ? "1" : "0",
    ];
    if (users !== null) {
      args.push(
        String(Math.ceil(Math.max(users.monitoringMs, users.lastUserMs))),
        request.countUsers ? "1" : "0",
        ..._ages(users),
      );
    }
    return this.#connection.script(
      request.force ? "record" : "acquire",
      ADMIT,
      keys,
      args,
      (reply) => {
        const [admitted, now, wait, backgroundWait, cooldown, ...activity] =
          _integers(reply, 9);
        return {
          admitted: admitted === 1,
          ...(admitted === 1 ? { ref } : {}),
          now: now!,
          waitMs: Math.max(0, wait!),
          backgroundWaitMs: Math.max(0, backgroundWait!),
          cooldownMs: cooldown!,
          ..._activity(activity, users),
        };
      },
    );
  }

  status(resource: string, query: RateWindowQuery): Promise<RateWindowStatus> {
    const { users, backgroundMax } = query;
    return this.#connection.script(
      "status",
      STATUS,
      [
        this.#key("w", resource),
        this.#key("bg", resource),
        this.#key("u", resource),
      ],
      [
        String(query.limit),
        String(query.windowMs),
        backgroundMax === null ? "" : String(backgroundMax),
        users === null ? "0" : "1",
        query.countUsers ? "1" : "0",
        ..._ages(users),
      ],
      (reply) => {
        const [now, total, background, oldest, wait, backgroundWait, ...rest] =
          _integers(reply, 10);
        return {
          now: now!,
          total: total!,
          background: background!,
          oldestAt: oldest! < 0 ? null : oldest!,
          waitMs: Math.max(0, wait!),
          backgroundWaitMs: Math.max(0, backgroundWait!),
          ..._activity(rest, users),
        };
      },
    );
  }

  async reset(resource: string): Promise<void> {
    const keys = (["w", "bg", "u", "cd"] as const).map((kind) =>
      this.#key(kind, resource)
    );
    await this.#connection.run("reset", (redis) => redis.del(...keys));
  }

  postpone(
    resource: string,
    ref: unknown,
    marginMs: number,
  ): Promise<boolean> {
    if (!_isRef(ref)) return Promise.resolve(false);
    const keys = [this.#key("w", resource)];
    if (ref.background) keys.push(this.#key("bg", resource));
    return this.#connection.script(
      "postpone",
      POSTPONE,
      keys,
      [ref.member, String(marginMs), String(ref.windowMs)],
      (reply) => _integers(reply, 1)[0] === 1,
    );
  }

  async setCooldown(resource: string, durationMs: number): Promise<void> {
    await this.#connection.script(
      "setCooldown",
      SET_COOLDOWN,
      [this.#key("cd", resource)],
      [String(durationMs)],
    );
  }

  getCooldown(resource: string): Promise<number> {
    return this.#connection.script(
      "getCooldown",
      GET_COOLDOWN,
      [this.#key("cd", resource)],
      [],
      (reply) => Math.max(0, _integers(reply, 1)[0]!),
    );
  }

  /**
   * Walks the windows, the cooldowns and (with `users`) the user activity
   * with `SCAN`, counting each batch with one script: two round trips per
   * thousand keys of each kind.
   */
  async stats(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<RateWindowStats> {
    let totalRequests = 0;
    let uniqueResources = 0;
    const rateLimited: string[] = [];
    await this.#each("w", "zset", async (resources, keys) => {
      const budget = resources.map((resource) =>
        budgets.overrides.get(resource) ?? budgets.fallback
      );
      const counts = await this.#counts(
        COUNT_RECENT,
        keys,
        budget.map(({ windowMs }) => String(windowMs)),
      );
      counts.forEach((count, i) => {
        totalRequests += count;
        if (count > 0) uniqueResources++;
        if (count >= budget[i]!.limit) rateLimited.push(resources[i]!);
      });
    });
    const coolingDown: string[] = [];
    await this.#each("cd", "string", async (resources, keys) => {
      const running = await this.#counts(RUNNING, keys, []);
      running.forEach((on, i) => on === 1 && coolingDown.push(resources[i]!));
    });
    const stats: RateWindowStats = {
      totalRequests,
      uniqueResources,
      rateLimitedResources: rateLimited.sort().slice(0, 100),
      coolingDownResources: coolingDown.sort().slice(0, 100),
    };
    if (users === null) return stats;
    const recentUsers = { n: 0, resources: 0 };
    await this.#each("u", "zset", async (_, keys) => {
      const age = String(users.monitoringMs);
      const counts = await this.#counts(
        COUNT_RECENT,
        keys,
        keys.map(() => age),
      );
      for (const count of counts) {
        recentUsers.n += count;
        if (count > 0) recentUsers.resources++;
      }
    });
    return { ...stats, recentUsers };
  }

  /** Redis expires windows, activity and cooldowns by itself. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#connection.close();
    return Promise.resolve();
  }

  /** Every key of one kind, a batch at a time, with the resources they belong to. */
  #each(
    kind: _Kind,
    type: string,
    each: (resources: string[], keys: string[]) => Promise<void>,
  ): Promise<void> {
    const skip = this.#key(kind, "").length;
    return this.#connection.scan(
      "getStats",
      `${kind}:`,
      type,
      SCAN_COUNT,
      (keys) => each(keys.map((key) => key.slice(skip)), keys),
    );
  }

  #counts(script: _Script, keys: string[], args: string[]): Promise<number[]> {
    return this.#connection.script(
      "getStats",
      script,
      keys,
      args,
      (reply) => _integers(reply, keys.length),
    );
  }

  #key(kind: _Kind, resource: string): string {
    return this.#connection.key(`${kind}:${resource}`);
  }

  /** A sorted-set member no other admission of any process uses. */
  #member(): string {
    this.#members ??= crypto.randomUUID().slice(0, 13);
    return `${this.#members}:${(this.#next++).toString(36)}`;
  }
}

/**
 * The ages of the user counts as whole milliseconds: admission times are
 * whole, so `t > now - age` holds for the same `t` with the age rounded up.
 */
function _ages(users: RateWindowUsers | null): string[] {
  return users === null ? ["0", "0", "0"] : [
    String(Math.ceil(users.monitoringMs)),
    String(Math.ceil(users.lastThirdMs)),
    String(Math.ceil(users.previousThirdMs)),
  ];
}

/** The last user and the user counts at the end of a script's reply. */
function _activity(
  [last = -1, recent = -1, lastThird = -1, previousThird = -1]: number[],
  users: RateWindowUsers | null,
): { users: RateWindowUserCounts | null; lastUserAt: number | null } {
  return {
    users: recent < 0 ? null : { recent, lastThird, previousThird },
    lastUserAt: users === null || last < 0 ? null : last,
  };
}

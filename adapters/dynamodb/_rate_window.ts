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
  _ConditionFailed,
  _Connection,
  type DynamoDBConnectionOptions,
} from "./_connection.ts";
import { all, deleteAll, keyOf, pages } from "./_requests.ts";
import { type _Item, N, names, num, S, str, ttlAt } from "./_values.ts";

// Per resource, one partition `<keyPrefix>ratelimit:<resource>`:
//
//   m           the meta item: ticket counters `n` (every admission) and
//               `nb` (background), the cooldown's end `cd`, the last time
//               each capacity was used (`c<limit>`, `b<backgroundMax>`), the
//               last forced record (`ov`, `ovb`), and full-until hints
//               (`h<limit>w<window>`)
//   t#s<i>      slot i of the ring of every admission: `at`, `tk`
//   t#x<token>  an admission recorded beyond the ring (record())
//   b#s<i>      slot i of the ring of background admissions
//   b#x<token>  a background admission recorded beyond that ring
//   u#<at>#<t>  a user admission, kept for the monitoring window
//
// The ring of a budget of `limit` holds `limit` slots. An admission takes a
// ticket (one `UpdateItem ... ADD`, which also returns the meta item) and
// writes slot `ticket mod limit` with a condition: that the slot is empty
// or its admission has left the window. Each write replaces only an
// admission out of the window, so no window ever holds more admissions than
// the ring has slots, whatever races: that is the guarantee, without
// transactions. While every ticket is used in order, the slot a ticket
// names holds the oldest admission, so a failed condition means a full
// window. A ticket whose write failed is simply spent: the next ones name
// other slots, so when a write fails the window is read (one consistent
// `Query`) and decided exactly: refused with the exact wait when full, or
// admitted into a free slot (a conditional write again). A refusal leaves
// a hint in the meta item, "full until", which later callers read with
// their ticket and refuse at once.
//
// A caller whose limit is lower than one used within the window (a budget
// changed, slots this process holds for its late requests, a smaller
// background share), or that sees a record made beyond the ring, cannot
// trust its own ring size: it reads the window and decides from the count.

/** What `admit` hands back to `postpone`: where the admission is recorded. */
interface _Ref {
  readonly entries: readonly { sk: string; tk: string }[];
  readonly windowMs: number;
}

function _isRef(ref: unknown): ref is _Ref {
  return typeof ref === "object" && ref !== null &&
    Array.isArray((ref as _Ref).entries) &&
    typeof (ref as _Ref).windowMs === "number";
}

/** Writes into the window tried after a read, before the caller is told to come back. */
const SLOW_TRIES = 5;
const META = "m";
const TOTAL = "t";
const BACKGROUND = "b";
/**
 * Added to times in sort keys so that they sort as text, negative or not
 * (times within 31 000 years of the epoch, either way).
 */
const TIME_OFFSET = 1e15;
const TIME_DIGITS = 16;

/** The outcome of one ring. */
type _RingResult =
  | {
    admitted: true;
    sk: string;
    tk: string;
    old: _Item | undefined;
    /** When the slot was written: the admission's time. */
    at: number;
  }
  | {
    admitted: false;
    waitMs: number;
    full: boolean;
    other: number;
    /** When the window was read: the time the waits count from. */
    decidedAt: number;
  };

/** What an admission saw of the meta item. */
interface _Meta {
  ticket: number;
  backgroundTicket: number;
  attributes: Record<string, unknown>;
}

/**
 * The {@linkcode RateWindow} of the DynamoDB stores: rings of conditional
 * writes, every time the store's clock (DynamoDB has none to offer).
 */
export class _DynamoRateWindow implements RateWindow {
  readonly #db: _Connection;
  #tokens: string | undefined;
  #next = 0;

  constructor(component: string, options: DynamoDBConnectionOptions) {
    this.#db = new _Connection(component, options);
  }

  async admit(
    resource: string,
    request: RateWindowAdmitRequest,
  ): Promise<RateWindowAdmitReply> {
    const operation = request.force ? "record" : "acquire";
    // The time of the decision, read again after each round trip: an
    // admission is recorded when its slot is written.
    let now = this.#db.now();
    const { limit, windowMs, backgroundMax: share, users } = request;
    const user = request.priority === "user";
    const background = !user && share !== null;
    const logUser = user && users !== null;
    const token = this.#token();
    const lookUsers = users !== null &&
      (request.countUsers || (background && request.idleSince !== null));
    const activity = lookUsers
      ? this.#users(operation, resource, now, users, request.countUsers)
      : undefined;
    // Never dropped unobserved, whichever branch returns first.
    activity?.catch(() => {});

    if (request.force) {
      const writes: Promise<unknown>[] = [
        this.#stampOverflow(operation, resource, now, windowMs, background),
        this.#put(
          operation,
          resource,
          `${TOTAL}#x${token}`,
          now,
          token,
          windowMs,
        ),
      ];
      if (background) {
        writes.push(
          this.#put(
            operation,
            resource,
            `${BACKGROUND}#x${token}`,
            now,
            token,
            windowMs,
          ),
        );
      }
      if (logUser) {
        writes.push(this.#logUser(operation, resource, now, token, users));
      }
      await Promise.all(writes);
      const entries = [{ sk: `${TOTAL}#x${token}`, tk: token }];
      if (background) {
        entries.push({ sk: `${BACKGROUND}#x${token}`, tk: token });
      }
      return {
        admitted: true,
        ref: { entries, windowMs },
        now,
        waitMs: 0,
        backgroundWaitMs: 0,
        cooldownMs: 0,
        ..._activity(await activity, logUser ? now : null, request.countUsers),
      };
    }

    const foreign = request.cooldownResource !== null &&
      request.cooldownResource !== resource;
    const cooldown = foreign
      ? this.#cooldownEnd(operation, request.cooldownResource!)
      : undefined;
    cooldown?.catch(() => {});
    const refuse = async (
      waitMs: number,
      backgroundWaitMs: number,
      cooldownMs: number,
    ): Promise<RateWindowAdmitReply> => ({
      admitted: false,
      now,
      waitMs: request.measureWaits ? Math.max(0, waitMs) : 0,
      backgroundWaitMs: request.measureWaits
        ? Math.max(0, backgroundWaitMs)
        : 0,
      cooldownMs,
      ..._activity(await activity, null, request.countUsers),
    });
    const measured = async (cooldownMs: number) => {
      if (!request.measureWaits) return await refuse(0, 0, cooldownMs);
      const state = await this.#window(
        operation,
        resource,
        now,
        windowMs,
        share !== null,
      );
      return await refuse(
        _wait(state.total, limit, windowMs, now),
        share === null || share <= 0
          ? 0
          : _wait(state.background, share, windowMs, now),
        cooldownMs,
      );
    };

    // A background request the split refuses outright touches no ring.
    if (background && (request.backgroundPaused || share! <= 0)) {
      const cooldownMs = request.cooldownResource === null ? 0 : _left(
        await (cooldown ?? this.#cooldownEnd(operation, resource)),
        now,
      );
      return cooldownMs > 0
        ? await refuse(0, 0, cooldownMs)
        : await measured(0);
    }

    const ring = background && share! < limit;
    const meta = await this.#ticket(
      operation,
      resource,
      now,
      limit,
      windowMs,
      ring ? share! : null,
      background && !ring,
    );
    const ends = request.cooldownResource === null
      ? undefined
      : foreign
      ? await cooldown
      : num(meta.attributes.cd);
    now = Math.max(now, this.#db.now());
    const cooldownMs = _left(ends, now);
    if (cooldownMs > 0) return await refuse(0, 0, cooldownMs);

    if (background && request.idleSince !== null) {
      const lastUserAt = (await activity)?.lastUserAt ?? null;
      // A user came back since the idle split was counted: the store
      // recomputes its split from this reply.
      if (lastUserAt !== null && lastUserAt >= request.idleSince) {
        return await measured(0);
      }
    }
    const cutoff = now - windowMs;
    const hint = num(meta.attributes[`h${limit}w${windowMs}`]);
    if (hint !== undefined && hint > now) return await refuse(hint - now, 0, 0);

    let backgroundSlot: _RingResult | undefined;
    if (ring) {
      backgroundSlot = await this.#ring(
        operation,
        resource,
        BACKGROUND,
        share!,
        meta.backgroundTicket,
        _wide(meta.attributes, "b", share!, cutoff, "ovb"),
        windowMs,
        token,
        request.measureWaits ? limit : null,
      );
      if (!backgroundSlot.admitted) {
        now = backgroundSlot.decidedAt;
        return await refuse(
          backgroundSlot.other,
          backgroundSlot.waitMs,
          0,
        );
      }
    }
    const logAt = now;
    const side: Promise<unknown>[] = [];
    if (background && !ring) {
      side.push(
        this.#put(
          operation,
          resource,
          `${BACKGROUND}#x${token}`,
          now,
          token,
          windowMs,
        ),
      );
    }
    if (logUser) {
      side.push(this.#logUser(operation, resource, logAt, token, users));
    }
    const [total, ...written] = await Promise.allSettled([
      this.#ring(
        operation,
        resource,
        TOTAL,
        limit,
        meta.ticket,
        _wide(meta.attributes, "c", limit, cutoff, "ov"),
        windowMs,
        token,
        null,
      ),
      ...side,
    ]);
    const totalSlot = total.status === "fulfilled" ? total.value : undefined;
    const failed = total.status === "rejected"
      ? total
      : written.find((result) => result.status === "rejected");
    if (totalSlot?.admitted !== true || failed !== undefined) {
      // Nothing of a refused admission may stay recorded.
      const undo: Promise<unknown>[] = [];
      if (backgroundSlot?.admitted) {
        undo.push(this.#restore(operation, resource, backgroundSlot));
      }
      if (totalSlot?.admitted) {
        undo.push(this.#restore(operation, resource, totalSlot));
      }
      if (background && !ring) {
        undo.push(
          this.#remove(operation, resource, `${BACKGROUND}#x${token}`, token),
        );
      }
      if (logUser) {
        undo.push(
          this.#remove(operation, resource, _userKey(logAt, token), token),
        );
      }
      if (totalSlot !== undefined && !totalSlot.admitted && totalSlot.full) {
        undo.push(
          this.#hint(
            operation,
            resource,
            limit,
            windowMs,
            totalSlot.decidedAt + totalSlot.waitMs,
            meta.ticket,
          ),
        );
      }
      await Promise.allSettled(undo);
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      const refused = totalSlot as { waitMs: number; decidedAt: number };
      now = refused.decidedAt;
      return await refuse(refused.waitMs, 0, 0);
    }
    const entries = [{ sk: totalSlot.sk, tk: token }];
    if (backgroundSlot?.admitted) {
      entries.push({ sk: backgroundSlot.sk, tk: token });
    } else if (background) {
      entries.push({ sk: `${BACKGROUND}#x${token}`, tk: token });
    }
    return {
      admitted: true,
      ref: { entries, windowMs },
      now: totalSlot.at,
      waitMs: 0,
      backgroundWaitMs: 0,
      cooldownMs,
      ..._activity(await activity, logUser ? logAt : null, request.countUsers),
    };
  }

  async status(
    resource: string,
    query: RateWindowQuery,
  ): Promise<RateWindowStatus> {
    const now = this.#db.now();
    const { limit, windowMs, backgroundMax: share, users } = query;
    const activity = users === null
      ? undefined
      : this.#users("status", resource, now, users, query.countUsers);
    activity?.catch(() => {});
    const state = await this.#window(
      "status",
      resource,
      now,
      windowMs,
      share !== null,
    );
    return {
      now,
      total: state.total.length,
      background: share === null ? 0 : state.background.length,
      oldestAt: state.total[0] ?? null,
      waitMs: _wait(state.total, limit, windowMs, now),
      backgroundWaitMs: share === null || share <= 0
        ? 0
        : _wait(state.background, share, windowMs, now),
      ..._activity(await activity, null, query.countUsers),
    };
  }

  async postpone(
    resource: string,
    ref: unknown,
    marginMs: number,
  ): Promise<boolean> {
    if (!_isRef(ref)) return false;
    const now = this.#db.now();
    const at = now - marginMs;
    const cutoff = now - ref.windowMs;
    const update = "SET #at = :at, #ttl = :ttl";
    const condition = "#tk = :tk AND #at > :cutoff AND #at < :at";
    const move = async (sk: string, tk: string): Promise<boolean> => {
      try {
        await this.#db.call("postpone", "UpdateItem", {
          Key: this.#key(resource, sk),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names(update, condition),
          ExpressionAttributeValues: {
            ":at": N(at),
            ":ttl": ttlAt(at + ref.windowMs),
            ":tk": S(tk),
            ":cutoff": N(cutoff),
          },
        });
        return true;
      } catch (error) {
        if (!(error instanceof _ConditionFailed)) throw error;
        return false;
      }
    };
    const [first, ...rest] = ref.entries;
    if (first === undefined) return false;
    // The background record moves too, as far as it can: best effort.
    const others = Promise.allSettled(rest.map(({ sk, tk }) => move(sk, tk)));
    try {
      if (await move(first.sk, first.tk)) return true;
      // Recorded later already, or gone.
      const projection = "#at, #tk";
      const reply = await this.#db.call("postpone", "GetItem", {
        Key: this.#key(resource, first.sk),
        ConsistentRead: true,
        ProjectionExpression: projection,
        ExpressionAttributeNames: names(projection),
      });
      const item = reply.Item as Record<string, unknown> | undefined;
      return str(item?.tk) === first.tk && (num(item?.at) ?? cutoff) > cutoff;
    } finally {
      await others;
    }
  }

  async reset(resource: string): Promise<void> {
    const projection = "#pk, #sk";
    const found = await all(this.#db, "reset", "Query", {
      KeyConditionExpression: "#pk = :pk",
      ProjectionExpression: projection,
      ExpressionAttributeNames: names(projection),
      ExpressionAttributeValues: { ":pk": S(this.#partition(resource)) },
      ConsistentRead: true,
    });
    await deleteAll(this.#db, "reset", found.map(keyOf));
  }

  async setCooldown(resource: string, durationMs: number): Promise<void> {
    const ends = this.#db.now() + durationMs;
    const update = "SET #cd = :cd, #ttl = :ttl";
    const condition =
      "attribute_not_exists(#cd) OR NOT attribute_type(#cd, :number) OR #cd < :cd";
    try {
      await this.#db.call("setCooldown", "UpdateItem", {
        Key: this.#key(resource, META),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names(update, condition),
        ExpressionAttributeValues: {
          ":cd": N(ends),
          ":ttl": ttlAt(ends),
          ":number": S("N"),
        },
      });
    } catch (error) {
      // A cooldown that ends later runs already.
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  async getCooldown(resource: string): Promise<number> {
    return _left(
      await this.#cooldownEnd("getCooldown", resource),
      this.#db.now(),
    );
  }

  /**
   * Reads every resource with a `Scan` of the table filtered to this store's
   * key prefix: it reads (and is billed for) every item of the table, so it
   * is meant for an occasional look.
   */
  async stats(
    budgets: EnforcedBudgets,
    users: RateWindowRetention | null,
  ): Promise<RateWindowStats> {
    const now = this.#db.now();
    const prefix = this.#partition("");
    const per = new Map<
      string,
      { admissions: number[]; cooling: boolean; users: number }
    >();
    const filter = "begins_with(#pk, :p)";
    const projection = "#pk, #sk, #at, #cd";
    await pages(this.#db, "getStats", "Scan", {
      FilterExpression: filter,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names(filter, projection),
      ExpressionAttributeValues: { ":p": S(prefix) },
    }, (page) => {
      for (const item of page) {
        const resource = (str(item.pk) ?? "").slice(prefix.length);
        const sk = str(item.sk) ?? "";
        let entry = per.get(resource);
        if (entry === undefined) {
          entry = { admissions: [], cooling: false, users: 0 };
          per.set(resource, entry);
        }
        if (sk === META) entry.cooling = _left(num(item.cd), now) > 0;
        else if (sk.startsWith(`${TOTAL}#`)) {
          const at = num(item.at);
          if (at !== undefined) entry.admissions.push(at);
        } else if (sk.startsWith("u#") && users !== null) {
          const at = _userTime(sk);
          if (at !== undefined && at > now - users.monitoringMs) entry.users++;
        }
      }
    });
    let totalRequests = 0;
    let uniqueResources = 0;
    const rateLimited: string[] = [];
    const coolingDown: string[] = [];
    const recentUsers = { n: 0, resources: 0 };
    for (const [resource, entry] of per) {
      const budget = budgets.overrides.get(resource) ?? budgets.fallback;
      const count = entry.admissions.filter((at) =>
        at > now - budget.windowMs
      ).length;
      totalRequests += count;
      if (count > 0) uniqueResources++;
      if (count >= budget.limit) rateLimited.push(resource);
      if (entry.cooling) coolingDown.push(resource);
      recentUsers.n += entry.users;
      if (entry.users > 0) recentUsers.resources++;
    }
    const stats: RateWindowStats = {
      totalRequests,
      uniqueResources,
      rateLimitedResources: rateLimited.sort().slice(0, 100),
      coolingDownResources: coolingDown.sort().slice(0, 100),
    };
    return users === null ? stats : { ...stats, recentUsers };
  }

  /** DynamoDB's TTL removes what has left every window by itself. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  /**
   * Takes a ticket of the ring of every admission (and of the background
   * ring), notes the capacities in use, and returns the meta item.
   */
  async #ticket(
    operation: string,
    resource: string,
    now: number,
    limit: number,
    windowMs: number,
    ring: number | null,
    overflow: boolean,
  ): Promise<_Meta> {
    let update = `ADD #n :one${
      ring === null ? "" : ", #nb :one"
    } SET #c${limit} = :now, #ttl = :ttl`;
    if (ring !== null) update += `, #b${ring} = :now`;
    if (overflow) update += ", #ovb = :now";
    const reply = await this.#db.call(operation, "UpdateItem", {
      Key: this.#key(resource, META),
      UpdateExpression: update,
      ExpressionAttributeNames: names(update),
      ExpressionAttributeValues: {
        ":one": N(1),
        ":now": N(now),
        ":ttl": ttlAt(now + windowMs),
      },
      ReturnValues: "ALL_NEW",
    });
    const attributes = (reply.Attributes ?? {}) as Record<string, unknown>;
    // A cooldown outlives the window: the meta item's TTL must not end it.
    const ends = num(attributes.cd);
    if (ends !== undefined && ends > now + windowMs) {
      await this.#keepCooldown(operation, resource, ends);
    }
    return {
      ticket: (num(attributes.n) ?? 1) - 1,
      backgroundTicket: (num(attributes.nb) ?? 1) - 1,
      attributes,
    };
  }

  async #keepCooldown(
    operation: string,
    resource: string,
    ends: number,
  ): Promise<void> {
    const update = "SET #ttl = :ttl";
    const condition = "#cd = :cd";
    try {
      await this.#db.call(operation, "UpdateItem", {
        Key: this.#key(resource, META),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names(update, condition),
        ExpressionAttributeValues: { ":ttl": ttlAt(ends), ":cd": N(ends) },
      });
    } catch (error) {
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  /**
   * One admission into a ring of `capacity` slots: the slot of the ticket,
   * or, when that write fails or the ring cannot be trusted (`wide`), a
   * decision from a read of the window. With `otherLimit`, a refusal also
   * tells the wait of the ring of every admission against it.
   */
  async #ring(
    operation: string,
    resource: string,
    ring: string,
    capacity: number,
    ticket: number,
    wide: boolean,
    windowMs: number,
    token: string,
    otherLimit: number | null,
  ): Promise<_RingResult> {
    const first = ticket % capacity;
    if (!wide) {
      const written = await this.#slot(
        operation,
        resource,
        ring,
        first,
        token,
        windowMs,
      );
      if (written !== false) return written;
    }
    for (let attempt = 0; attempt < SLOW_TRIES; attempt++) {
      const both = otherLimit !== null;
      const now = this.#db.now();
      const state = await this.#window(
        operation,
        resource,
        now,
        windowMs,
        both || ring === BACKGROUND,
        both || ring === TOTAL,
      );
      const times = ring === TOTAL ? state.total : state.background;
      if (times.length >= capacity) {
        return {
          admitted: false,
          waitMs: _wait(times, capacity, windowMs, now),
          full: true,
          other: otherLimit === null
            ? 0
            : _wait(state.total, otherLimit, windowMs, now),
          decidedAt: now,
        };
      }
      const busy = ring === TOTAL ? state.busyTotal : state.busyBackground;
      // The first free slot from the ticket's own: concurrent callers,
      // holding other tickets, start at other slots.
      let slot = first;
      for (let steps = 0; busy.has(slot) && steps <= busy.size; steps++) {
        slot = (slot + 1) % capacity;
      }
      const written = await this.#slot(
        operation,
        resource,
        ring,
        slot,
        token,
        windowMs,
      );
      if (written !== false) return written;
    }
    // Others took every free slot read: come back in a moment.
    return {
      admitted: false,
      waitMs: 1,
      full: false,
      other: 0,
      decidedAt: this.#db.now(),
    };
  }

  /**
   * Writes a slot, at the clock's time, unless it holds an admission still
   * in the window.
   */
  async #slot(
    operation: string,
    resource: string,
    ring: string,
    slot: number,
    token: string,
    windowMs: number,
  ): Promise<_RingResult | false> {
    const sk = `${ring}#s${slot}`;
    const at = this.#db.now();
    const condition = "attribute_not_exists(#at) OR #at <= :cutoff";
    try {
      const reply = await this.#db.call(operation, "PutItem", {
        Item: {
          ...this.#key(resource, sk),
          at: N(at),
          tk: S(token),
          ttl: ttlAt(at + windowMs),
        },
        ConditionExpression: condition,
        ExpressionAttributeNames: names(condition),
        ExpressionAttributeValues: { ":cutoff": N(at - windowMs) },
        ReturnValues: "ALL_OLD",
      });
      return {
        admitted: true,
        sk,
        tk: token,
        old: reply.Attributes as _Item | undefined,
        at,
      };
    } catch (error) {
      if (error instanceof _ConditionFailed) return false;
      throw error;
    }
  }

  /** Puts a slot's earlier admission back, while it still holds ours. */
  async #restore(
    operation: string,
    resource: string,
    slot: { sk: string; tk: string; old: _Item | undefined },
  ): Promise<void> {
    if (slot.old === undefined) {
      await this.#remove(operation, resource, slot.sk, slot.tk);
      return;
    }
    const condition = "#tk = :tk";
    try {
      await this.#db.call(operation, "PutItem", {
        Item: slot.old,
        ConditionExpression: condition,
        ExpressionAttributeNames: names(condition),
        ExpressionAttributeValues: { ":tk": S(slot.tk) },
      });
    } catch (error) {
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  async #remove(
    operation: string,
    resource: string,
    sk: string,
    token: string,
  ): Promise<void> {
    const condition = "#tk = :tk";
    try {
      await this.#db.call(operation, "DeleteItem", {
        Key: this.#key(resource, sk),
        ConditionExpression: condition,
        ExpressionAttributeNames: names(condition),
        ExpressionAttributeValues: { ":tk": S(token) },
      });
    } catch (error) {
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  /** Records that the window is full until `until`, unless it was reset since. */
  async #hint(
    operation: string,
    resource: string,
    limit: number,
    windowMs: number,
    until: number,
    ticket: number,
  ): Promise<void> {
    const update = `SET #h${limit}w${windowMs} = :until`;
    const condition = "attribute_exists(#n) AND #n > :ticket";
    try {
      await this.#db.call(operation, "UpdateItem", {
        Key: this.#key(resource, META),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names(update, condition),
        ExpressionAttributeValues: {
          ":until": N(until),
          ":ticket": N(ticket),
        },
      });
    } catch (error) {
      if (!(error instanceof _ConditionFailed)) throw error;
    }
  }

  /** Notes a record beyond the rings, so that rings are not trusted for a window. */
  async #stampOverflow(
    operation: string,
    resource: string,
    now: number,
    windowMs: number,
    background: boolean,
  ): Promise<void> {
    const update = `SET #ov = :now, #ttl = :ttl${
      background ? ", #ovb = :now" : ""
    }`;
    await this.#db.call(operation, "UpdateItem", {
      Key: this.#key(resource, META),
      UpdateExpression: update,
      ExpressionAttributeNames: names(update),
      ExpressionAttributeValues: {
        ":now": N(now),
        ":ttl": ttlAt(now + windowMs),
      },
    });
  }

  async #put(
    operation: string,
    resource: string,
    sk: string,
    now: number,
    token: string,
    windowMs: number,
  ): Promise<void> {
    await this.#db.call(operation, "PutItem", {
      Item: {
        ...this.#key(resource, sk),
        at: N(now),
        tk: S(token),
        ttl: ttlAt(now + windowMs),
      },
    });
  }

  async #logUser(
    operation: string,
    resource: string,
    now: number,
    token: string,
    users: RateWindowUsers,
  ): Promise<void> {
    await this.#db.call(operation, "PutItem", {
      Item: {
        ...this.#key(resource, _userKey(now, token)),
        tk: S(token),
        ttl: ttlAt(now + Math.max(users.monitoringMs, users.lastUserMs)),
      },
    });
  }

  /** The newest user admission and, with `count`, the user counts. */
  async #users(
    operation: string,
    resource: string,
    now: number,
    users: RateWindowUsers,
    count: boolean,
  ): Promise<
    { lastUserAt: number | null; counts: RateWindowUserCounts | null }
  > {
    const partition = S(this.#partition(resource));
    const newest = this.#db.call(operation, "Query", {
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :u)",
      ExpressionAttributeNames: names("#pk #sk"),
      ExpressionAttributeValues: { ":pk": partition, ":u": S("u#") },
      ProjectionExpression: "#sk",
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    newest.catch(() => {});
    let counts: RateWindowUserCounts | null = null;
    if (count) {
      const recent = await all(this.#db, operation, "Query", {
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: names("#pk #sk"),
        ExpressionAttributeValues: {
          ":pk": partition,
          ":from": S(`u#${_time(Math.floor(now - users.monitoringMs))}#~`),
          ":to": S("u#~"),
        },
        ProjectionExpression: "#sk",
        ConsistentRead: true,
      });
      counts = { recent: 0, lastThird: 0, previousThird: 0 };
      for (const item of recent) {
        const at = _userTime(str(item.sk) ?? "");
        if (at === undefined || !(at > now - users.monitoringMs)) continue;
        counts.recent++;
        if (at > now - users.lastThirdMs) counts.lastThird++;
        else if (at > now - users.previousThirdMs) counts.previousThird++;
      }
    }
    const last = ((await newest).Items as Record<string, unknown>[] | undefined)
      ?.[0];
    return {
      lastUserAt: last === undefined
        ? null
        : _userTime(str(last.sk) ?? "") ?? null,
      counts,
    };
  }

  async #cooldownEnd(
    operation: string,
    resource: string,
  ): Promise<number | undefined> {
    const projection = "#cd";
    const reply = await this.#db.call(operation, "GetItem", {
      Key: this.#key(resource, META),
      ConsistentRead: true,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names(projection),
    });
    return num((reply.Item as Record<string, unknown> | undefined)?.cd);
  }

  /**
   * Reads the admissions in the window: their times, ascending, and the
   * slots they hold.
   */
  async #window(
    operation: string,
    resource: string,
    now: number,
    windowMs: number,
    background: boolean,
    total = true,
  ): Promise<{
    total: number[];
    background: number[];
    busyTotal: Set<number>;
    busyBackground: Set<number>;
  }> {
    const from = background ? `${BACKGROUND}#` : `${TOTAL}#`;
    const to = total ? `${TOTAL}#~` : `${BACKGROUND}#~`;
    const projection = "#sk, #at";
    const found = await all(this.#db, operation, "Query", {
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
      ProjectionExpression: projection,
      ExpressionAttributeNames: names("#pk #sk", projection),
      ExpressionAttributeValues: {
        ":pk": S(this.#partition(resource)),
        ":from": S(from),
        ":to": S(to),
      },
      ConsistentRead: true,
    });
    const cutoff = now - windowMs;
    const out = {
      total: [] as number[],
      background: [] as number[],
      busyTotal: new Set<number>(),
      busyBackground: new Set<number>(),
    };
    for (const item of found) {
      const sk = str(item.sk) ?? "";
      const at = num(item.at);
      if (at === undefined || !(at > cutoff)) continue;
      const isTotal = sk.startsWith(`${TOTAL}#`);
      (isTotal ? out.total : out.background).push(at);
      if (sk[2] === "s") {
        (isTotal ? out.busyTotal : out.busyBackground).add(Number(sk.slice(3)));
      }
    }
    out.total.sort((a, b) => a - b);
    out.background.sort((a, b) => a - b);
    return out;
  }

  #partition(resource: string): string {
    return this.#db.key("ratelimit", resource);
  }

  #key(resource: string, sk: string): _Item {
    return { pk: S(this.#partition(resource)), sk: S(sk) };
  }

  /** A token no other admission of any process uses. */
  #token(): string {
    this.#tokens ??= crypto.randomUUID().slice(0, 13);
    return `${this.#tokens}${(this.#next++).toString(36)}`;
  }
}

/**
 * Whether a ring of `capacity` cannot be trusted: a larger capacity was
 * used within the window, or a record was made beyond the rings.
 */
function _wide(
  attributes: Record<string, unknown>,
  letter: string,
  capacity: number,
  cutoff: number,
  overflow: string,
): boolean {
  if ((num(attributes[overflow]) ?? cutoff) > cutoff) return true;
  for (const [name, value] of Object.entries(attributes)) {
    if (name[0] !== letter || !/^[cb]\d+$/.test(name)) continue;
    if (Number(name.slice(1)) > capacity && (num(value) ?? cutoff) > cutoff) {
      return true;
    }
  }
  return false;
}

/** The wait until fewer than `limit` of `times` (ascending) are in the window. */
function _wait(
  times: readonly number[],
  limit: number,
  windowMs: number,
  now: number,
): number {
  if (limit <= 0 || times.length < limit) return 0;
  return Math.max(0, times[times.length - limit]! + windowMs - now);
}

function _left(ends: number | undefined, now: number): number {
  return ends !== undefined && ends > now ? ends - now : 0;
}

function _activity(
  found:
    | { lastUserAt: number | null; counts: RateWindowUserCounts | null }
    | undefined,
  admittedUserAt: number | null,
  countUsers: boolean,
): { users: RateWindowUserCounts | null; lastUserAt: number | null } {
  if (found === undefined) {
    return { users: null, lastUserAt: admittedUserAt };
  }
  let { lastUserAt, counts } = found;
  if (admittedUserAt !== null) {
    lastUserAt = lastUserAt === null
      ? admittedUserAt
      : Math.max(lastUserAt, admittedUserAt);
    if (counts !== null) {
      counts = {
        recent: counts.recent + 1,
        lastThird: counts.lastThird + 1,
        previousThird: counts.previousThird,
      };
    }
  }
  return { users: countUsers ? counts : null, lastUserAt };
}

function _time(ms: number): string {
  return String(Math.min(Math.max(0, ms + TIME_OFFSET), 2 * TIME_OFFSET))
    .padStart(TIME_DIGITS, "0");
}

function _userKey(now: number, token: string): string {
  return `u#${_time(Math.floor(now))}#${token}`;
}

function _userTime(sk: string): number | undefined {
  const digits = sk.slice(2, 2 + TIME_DIGITS);
  if (!/^\d+$/.test(digits)) return undefined;
  return Number(digits) - TIME_OFFSET;
}

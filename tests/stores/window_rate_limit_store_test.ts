// Every rate-limit store takes its options through one policy, so every
// backend refuses the same options with the same ConfigError.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LibsqlAdaptiveRateLimitStore,
  LibsqlRateLimitStore,
} from "../../adapters/libsql/mod.ts";
import {
  UpstashAdaptiveRateLimitStore,
  UpstashRateLimitStore,
} from "../../adapters/upstash/mod.ts";
import {
  ConfigError,
  MemoryAdaptiveRateLimitStore,
  MemoryRateLimitStore,
  type RateLimitStore,
  type RateWindow,
  WindowRateLimitStore,
} from "../../mod.ts";
import { MemoryRateWindow } from "../../src/stores/memory/_rate_window.ts";
import { ManualClock } from "../../testing/mod.ts";

const DAY = 86_400_000;
const LONGEST = 366 * DAY;

type Make = (options: Record<string, unknown>) => RateLimitStore;

interface Subject {
  Store: new (options: never) => RateLimitStore;
  /** What the store needs besides the options under test. */
  connection: Record<string, unknown>;
  adaptive: boolean;
}

const upstash = { url: "http://127.0.0.1:1", token: "t" };
const subjects: Subject[] = [
  { Store: MemoryRateLimitStore, connection: {}, adaptive: false },
  { Store: MemoryAdaptiveRateLimitStore, connection: {}, adaptive: true },
  {
    Store: LibsqlRateLimitStore,
    connection: { url: ":memory:" },
    adaptive: false,
  },
  {
    Store: LibsqlAdaptiveRateLimitStore,
    connection: { url: ":memory:" },
    adaptive: true,
  },
  { Store: UpstashRateLimitStore, connection: upstash, adaptive: false },
  { Store: UpstashAdaptiveRateLimitStore, connection: upstash, adaptive: true },
];

/** Options every store refuses, with the option its error names. */
const invalid: [string, Record<string, unknown>][] = [
  ["defaultConfig.windowMs", {
    defaultConfig: { limit: 1, windowMs: Number.MAX_SAFE_INTEGER },
  }],
  ["defaultConfig.windowMs", {
    defaultConfig: { limit: 1, windowMs: LONGEST + 1 },
  }],
  ["resourceConfigs.r.windowMs", {
    resourceConfigs: { r: { limit: 1, windowMs: 2 ** 53 } },
  }],
  ["marginMs", { marginMs: Number.MAX_SAFE_INTEGER }],
  ["marginMs", { marginMs: LONGEST + 1 }],
  ["clock", { clock: { now: 1 } }],
  ["defaultConfig.limit", { defaultConfig: { limit: 0, windowMs: 1_000 } }],
];
const invalidAdaptive: [string, Record<string, unknown>][] = [
  ["adaptiveConfig.monitoringWindowMs", {
    adaptiveConfig: { monitoringWindowMs: Number.MAX_SAFE_INTEGER },
  }],
  ["adaptiveConfig.sustainedInactivityThresholdMs", {
    adaptiveConfig: { sustainedInactivityThresholdMs: LONGEST + 1 },
  }],
  ["adaptiveConfig.recalculationIntervalMs", {
    adaptiveConfig: { recalculationIntervalMs: 1e300 },
  }],
];

function refuses(make: Make, options: unknown, option: string): void {
  assert.throws(
    () => make(options as Record<string, unknown>),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.ok(
        error.message.includes(`'${option}'`),
        `${error.message} names ${option}`,
      );
      return true;
    },
  );
}

describe("rate-limit store options", () => {
  for (const { Store, connection, adaptive } of subjects) {
    const name = Store.name;
    const make: Make = (options) =>
      new Store({ ...connection, ...options } as never);
    const cases = adaptive ? [...invalid, ...invalidAdaptive] : invalid;
    it(`${name} refuses windows, margins and clocks out of range with a ConfigError naming the option`, () => {
      for (const [option, options] of cases) refuses(make, options, option);
    });

    it(`${name} refuses options that are not an object with a ConfigError`, () => {
      refuses((options) => new Store(options as never), null, "options");
    });

    it(`${name} accepts a window and a margin of 366 days, and refuses a longer window in setResourceConfig()`, async () => {
      const store = make({
        defaultConfig: { limit: 1, windowMs: LONGEST },
        marginMs: LONGEST,
      });
      assert.deepEqual(store.getResourceConfig("r"), {
        limit: 1,
        windowMs: LONGEST,
      });
      assert.throws(
        () => store.setResourceConfig("r", { limit: 1, windowMs: LONGEST + 1 }),
        ConfigError,
      );
      await store.close();
    });
  }
});

describe("WindowRateLimitStore over a shared window whose postpone() fails", () => {
  const failures: Record<string, () => unknown> = {
    throws: () => {
      throw new Error("no postpone today");
    },
    rejects: () => Promise.reject(new Error("no postpone today")),
    "answers without a promise": () => "moved, honest",
  };
  for (const [how, postpone] of Object.entries(failures)) {
    it(`reports a late answer without harm when postpone() ${how}, and keeps holding the slot`, async () => {
      const clock = new ManualClock(1_000_000);
      const inner = new MemoryRateWindow("test", clock);
      let postponed = 0;
      // The memory window as if other processes shared it, recording
      // admissions under a handle.
      const window = new Proxy(inner, {
        get(target, name) {
          if (name === "local") return false;
          if (name === "postpone") {
            return () => {
              postponed++;
              return postpone();
            };
          }
          const value = Reflect.get(target, name, target);
          if (name !== "admit") {
            return typeof value === "function" ? value.bind(target) : value;
          }
          return (...args: Parameters<RateWindow["admit"]>) => {
            const reply = target.admit(...args);
            return reply instanceof Promise
              ? reply.then((r) => ({ ...r, ref: "handle" }))
              : { ...reply, ref: "handle" };
          };
        },
      }) as unknown as RateWindow;
      const store = new WindowRateLimitStore(window, {
        clock,
        defaultConfig: { limit: 1, windowMs: 1_000 },
      });
      const admission = await store.admit("r", { track: true });
      assert.equal(admission.admitted, true);
      clock.advance(300);
      admission.done!();
      for (let i = 0; i < 10; i++) await Promise.resolve();
      assert.equal(postponed, 1);
      // Past the window and the default margin (150 ms) of the admission,
      // the slot is still held: until a window after the answer.
      clock.set(1_001_200);
      const refused = await store.admit("r");
      assert.equal(refused.admitted, false);
      assert.equal(refused.waitMs, 102);
      clock.set(1_001_302);
      assert.equal((await store.admit("r")).admitted, true);
      await store.close();
    });
  }
});

// Shared set-up for the client suites: an origin, a client wired to memory
// stores, and an event recorder.
import type { SluiceEvent } from "../../mod.ts";

/** Records every event a client emits. */
export class EventLog {
  readonly events: SluiceEvent[] = [];
  readonly listener = (event: SluiceEvent): void => {
    this.events.push(event);
  };

  /** The events of one type. */
  of<T extends SluiceEvent["type"]>(
    type: T,
  ): Extract<SluiceEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<
      SluiceEvent,
      { type: T }
    >[];
  }

  /** The types, in order. */
  types(): string[] {
    return this.events.map((e) => e.type);
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** Resolves after `ms` real milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate` holds, polling every 5 ms, for at most `ms`. */
export async function until(
  predicate: () => boolean,
  ms = 2_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) {
      throw new Error(`Condition not met within ${ms} ms`);
    }
    await delay(5);
  }
}

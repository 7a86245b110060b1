// Signals without AbortSignal.any: on Node 20 every AbortSignal costs a few
// microseconds and AbortSignal.any tens, per call, which a request that
// needs none of it should not pay.

/** A signal that never aborts, for work no caller bounds. */
export const NEVER: AbortSignal = new AbortController().signal;

/**
 * Aborts `controller` with `outer`'s reason when `outer` aborts, until the
 * returned function is called. Following {@linkcode NEVER} costs nothing.
 *
 * @param outer The signal to follow.
 * @param controller The controller to abort.
 * @returns Stops following `outer`.
 */
export function follow(
  outer: AbortSignal,
  controller: AbortController,
): () => void {
  if (outer === NEVER) return _nothing;
  if (outer.aborted) {
    controller.abort(outer.reason);
    return _nothing;
  }
  const onAbort = (): void => controller.abort(outer.reason);
  outer.addEventListener("abort", onAbort, { once: true });
  return () => outer.removeEventListener("abort", onAbort);
}

function _nothing(): void {}

// Signals without AbortSignal.any: on Node 20 every AbortSignal costs a few
// microseconds and AbortSignal.any tens, per call, which a request that
// needs none of it should not pay. Work that no caller bounds runs without
// a signal (`undefined`), never on a shared one: a signal made at import
// would be created outside any request, which Cloudflare Workers refuses,
// and one made in a request belongs to that request alone there.

/**
 * Aborts `controller` with `outer`'s reason when `outer` aborts, until the
 * returned function is called. Following no signal costs nothing.
 *
 * @param outer The signal to follow, if any.
 * @param controller The controller to abort.
 * @returns Stops following `outer`.
 */
export function follow(
  outer: AbortSignal | undefined,
  controller: AbortController,
): () => void {
  if (outer === undefined) return _nothing;
  if (outer.aborted) {
    controller.abort(outer.reason);
    return _nothing;
  }
  const onAbort = (): void => controller.abort(outer.reason);
  outer.addEventListener("abort", onAbort, { once: true });
  return () => outer.removeEventListener("abort", onAbort);
}

function _nothing(): void {}

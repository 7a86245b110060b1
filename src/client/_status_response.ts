// Building a `Response` for any status a server sent. The Fetch `Response`
// constructor refuses statuses outside 200–599, yet servers send others
// (999, 600) and every runtime's fetch hands them over as they came.

/** What a built response carries besides its body. */
export interface ResponseParts {
  /** The status, any integer a server may send. */
  status: number;
  /** The status text. */
  statusText: string;
  /** The fields. */
  headers: HeadersInit;
}

/**
 * Builds a `Response`, as `new Response(body, parts)` does, for any status.
 * One the constructor refuses is built with the nearest status it takes,
 * and the real one is defined on the instance: `status` shows it, `ok` is
 * `false`, and `clone()` returns a response that does the same.
 */
export function statusResponse(
  body: BodyInit | null,
  parts: ResponseParts,
): Response {
  const { status } = parts;
  if (status >= 200 && status <= 599) return new Response(body, parts);
  const response = new Response(body, {
    ...parts,
    status: status < 200 ? 200 : 599,
  });
  return _showStatus(response, status);
}

function _showStatus(response: Response, status: number): Response {
  const clone = response.clone;
  Object.defineProperties(response, {
    status: { value: status, enumerable: true },
    ok: { value: false, enumerable: true },
    clone: {
      value: (): Response => _showStatus(clone.call(response), status),
    },
  });
  return response;
}

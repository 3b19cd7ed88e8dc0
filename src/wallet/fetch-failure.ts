/**
 * Why a request to a node over fetch failed, in words a person can act on:
 * the system error (ECONNREFUSED, ENOTFOUND, ...) rather than `fetch failed`.
 * The wallet's node client and the CLI's commands both word it this way.
 */

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: no process listens there (is the node running, on that port?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now (DNS lookup failed)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  EADDRNOTAVAIL: 'the address is not available',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the other side closed the connection (is it an HTTP server?)',
  UND_ERR_HEADERS_TIMEOUT: 'no HTTP answer in time',
  HPE_INVALID_CONSTANT: 'the answer is not HTTP (is it an HTTP server?)',
};

/** The innermost system error code of a failed fetch, and a reason for people. */
export function describeFetchFailure(err: unknown, timeoutMs: number): { code: string; reason: string } {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return { code: 'timeout', reason: `no answer within ${formatMs(timeoutMs)} (timeout)` };
  let cause: unknown = err instanceof Error ? err.cause : undefined;
  // A name with several addresses (localhost: ::1 and 127.0.0.1) fails with one error per address.
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors.at(-1);
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    const host = (cause as { hostname?: unknown }).hostname;
    const reason = REASONS[code] ?? (cause instanceof Error ? cause.message : code);
    return {
      code,
      reason: `${typeof host === 'string' ? `${JSON.stringify(host)}: ` : ''}${reason} (${code})`,
    };
  }
  const message = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  return { code: 'error', reason: message };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

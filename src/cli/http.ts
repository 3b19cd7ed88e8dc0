/**
 * The CLI's one way to talk to a node over HTTP. Whatever goes wrong, the
 * error says which URL and why in words a person can act on (connection
 * refused, no answer in time, a host name that does not resolve, an answer
 * that is not a chainmesh node's), never a bare `fetch failed`.
 */

/** Where the CLI looks for a node when not told: the seed's port on this host (compose and `chainmesh cluster` alike). */
export const DEFAULT_SEED_PORT = 3000;

export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(
    readonly url: string,
    /** `unreachable` (no HTTP answer), `http` (an error status), `garbage` (not the JSON a node sends). */
    readonly kind: 'unreachable' | 'http' | 'garbage',
    message: string,
    /** The system error code when there is one (ECONNREFUSED, ENOTFOUND, ...), or `timeout`. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The seed's port on this host: `SEED_PORT` (the variable docker-compose.yml
 * publishes the seed on) or 3000. Throws a one-line error for a malformed value.
 */
export function seedPort(env: NodeJS.ProcessEnv): number {
  const raw = env.SEED_PORT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SEED_PORT;
  const port = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65_535)
    throw new Error(`SEED_PORT=${JSON.stringify(raw)}: expected a TCP port 1-65535`);
  return port;
}

/** The node URL commands use without --url: the seed on this host. */
export function defaultNodeUrl(env: NodeJS.ProcessEnv): string {
  return `http://127.0.0.1:${seedPort(env)}`;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: no process listens there (is the node running, on that port?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now (DNS lookup failed)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  EADDRNOTAVAIL: 'the address is not available',
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

/**
 * GET (or `init`) a node route and parse its JSON answer. Throws
 * NodeRequestError naming the URL: unreachable (with the reason), an error
 * status (with the node's error code and message), or an answer that is not JSON.
 */
export async function nodeJson<T>(
  url: string,
  opts: { timeoutMs?: number; init?: RequestInit } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...opts.init, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    const { code, reason } = describeFetchFailure(err, timeoutMs);
    throw new NodeRequestError(url, 'unreachable', `cannot reach ${url}: ${reason}`, code);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const status = res.ok ? '' : ` ${res.status}`;
    throw new NodeRequestError(
      url,
      res.ok ? 'garbage' : 'http',
      `${url} answered${status} with something that is not JSON (is it a chainmesh node?): ${JSON.stringify(text.slice(0, 60))}`,
    );
  }
  if (!res.ok) {
    const { error, message } = (body ?? {}) as { error?: unknown; message?: unknown };
    const detail = [error, message].filter((s): s is string => typeof s === 'string').join(': ');
    throw new NodeRequestError(url, 'http', `${url} answered ${res.status}${detail ? ` ${detail}` : ''}`);
  }
  return body as T;
}

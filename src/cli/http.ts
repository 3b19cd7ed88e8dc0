/**
 * The CLI's one way to talk to a node over HTTP. Whatever goes wrong, the
 * error says which URL and why in words a person can act on (connection
 * refused, no answer in time, a host name that does not resolve, an answer
 * that is not a chainmesh node's), never a bare `fetch failed`.
 */

import { describeFetchFailure } from '../wallet/index.js';

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

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { NodeError } from './node-error.js';
import { HEADER_NETWORK } from '../p2p/index.js';
import type { ApiPort } from './port.js';
import { toApiError, type ApiError } from './errors.js';
import type { ProtocolHandler, ProtocolHandlers, ProtocolNode } from './routes/protocol.js';

/** What the fast lane reports to, like the express app's metrics and error handler do. */
export interface FastLaneHooks {
  /** Starts timing a request; the returned function records it by route and status. */
  readonly startTimer: () => (labels: { method: string; route: string; status: string }) => void;
  readonly onError: (error: ApiError, cause: unknown) => void;
}

/**
 * The two routes every transaction and block arrives by, GET /info (what
 * watchers and the cluster bench poll, every 2 ms per node) and GET /ping (what
 * keeps peers live), served straight
 * from node:http. express 5 costs each request two prototype swaps and a walk of
 * every router layer, which capped one-transaction requests well below what
 * admission itself allows. The lane runs the same handlers, schemas, error
 * mapping and metrics as the express routes; it takes only requests whose
 * body it reads exactly as express.json would (declared length within the
 * limit, no content coding, UTF-8) and hands every other request to express,
 * so an unusual request gets express's answer, never a different one.
 */
export function withFastLane(
  node: ProtocolNode & Pick<ApiPort, 'info'>,
  handlers: ProtocolHandlers,
  bodyLimit: number,
  hooks: FastLaneHooks,
  fallback: RequestListener,
): RequestListener {
  const routes = new Map<string, ProtocolHandler>([
    ['/transactions', handlers.postTransactions],
    ['/block', handlers.postBlock],
    // A block may also come compact, completed by a getblocktxn to its sender: the same path.
    ['/cmpctblock', handlers.postCompactBlock],
    ['/getblocktxn', handlers.getBlockTxn],
  ]);

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      [HEADER_NETWORK]: node.params.genesisHash,
    });
    res.end(text);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, handler: ProtocolHandler, body: Buffer) => {
    try {
      const answer = await handler({
        header: (name) => headerValue(req, name),
        remoteAddress: req.socket.remoteAddress,
        body: parseJsonBody(body),
      });
      send(res, answer.status, answer.body);
    } catch (err) {
      const error = toApiError(err);
      hooks.onError(error, err);
      send(res, error.status, { error: error.code, message: error.message });
    }
  };

  return (req, res) => {
    // Exactly `GET /info`: with a query string or another method, express answers as it always did.
    if (req.method === 'GET' && req.url === '/info') {
      const end = hooks.startTimer();
      res.once('finish', () => end({ method: 'GET', route: '/info', status: String(res.statusCode) }));
      send(res, 200, node.info());
      return;
    }
    // Exactly `GET /ping`: every tried peer kept live sends one every few seconds (24 per node), so an
    // idle node answers ten a second; express's router walk was most of the cost of an answer.
    if (req.method === 'GET' && req.url === '/ping') {
      const end = hooks.startTimer();
      res.once('finish', () => end({ method: 'GET', route: '/ping', status: String(res.statusCode) }));
      void serve(req, res, handlers.ping, EMPTY_BODY);
      return;
    }
    const route = req.method === 'POST' ? req.url : undefined;
    const handler = route === undefined ? undefined : routes.get(route);
    if (route === undefined || handler === undefined || !readsLikeExpressJson(req, bodyLimit)) {
      fallback(req, res);
      return;
    }
    const end = hooks.startTimer();
    res.once('finish', () => end({ method: 'POST', route, status: String(res.statusCode) }));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      void serve(req, res, handler, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    // A client that goes away mid-body gets no answer; nothing was read, so nothing changes.
    req.on('error', () => res.destroy());
  };
}

/** Like express's req.get: repeated headers other than set-cookie are already joined by node. */
function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

const UTF8_CHARSET = /;\s*charset\s*=\s*"?utf-8"?\s*(?:;|$)/i;

/** A body express.json would read as plain UTF-8 of a declared length it accepts. */
function readsLikeExpressJson(req: IncomingMessage, bodyLimit: number): boolean {
  const { headers } = req;
  const length = headers['content-length'];
  if (length === undefined || headers['transfer-encoding'] !== undefined) return false;
  if (headers['content-encoding'] !== undefined) return false;
  const type = headers['content-type'];
  if (type !== undefined && /charset/i.test(type) && !UTF8_CHARSET.test(type)) return false;
  return Number(length) <= bodyLimit;
}

const EMPTY_BODY = Buffer.alloc(0);

const FIRST_CHAR = /^[ \t\n\r]*(.)/s;

/** JSON as express.json({strict: true}) reads it: an empty body is {}, a top level is an object or array. */
function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = FIRST_CHAR.exec(text)?.[1];
  try {
    if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
    return JSON.parse(text) as unknown;
  } catch {
    throw new NodeError('bad-request', 'request body is not valid JSON');
  }
}

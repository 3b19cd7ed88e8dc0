import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { Metrics, PeerFailureReason, PeerRequestKind } from '../obs/index.js';
import {
  HEADER_ADDR,
  HEADER_CHAIN_WORK,
  HEADER_NETWORK,
  HEADER_NODE_ID,
  relayedToHeaders,
  advertisementReplySchema,
  blockReplySchema,
  blockTxnReplySchema,
  compactBlockReplySchema,
  knownNodesReplySchema,
  pingReplySchema,
  syncReplySchema,
  transactionsReplySchema,
  type AdvertisementBody,
  type AdvertisementReply,
  type PeerInfo,
  type PingReply,
  type SyncReply,
  hostOf,
} from './wire.js';
import type { PeerTransport } from './transport.js';

/** A request to a peer that did not produce a usable answer. */
export class PeerRequestError extends Error {
  override readonly name = 'PeerRequestError';
  constructor(
    readonly kind: PeerRequestKind,
    readonly reason: PeerFailureReason,
    message: string,
    /** The `error` code of a JSON error reply (e.g. `peer-self`, `bad-blk-pow`). */
    readonly code?: string,
  ) {
    super(message);
  }

  /** Says something about the peer being reachable and sane (as opposed to it refusing our data). */
  get isLiveness(): boolean {
    return this.reason === 'timeout' || this.reason === 'network' || this.reason === 'bad-response';
  }
}

const SMALL_REPLY_BYTES = 1 << 20;
/** Answers a peer never gives: followed by no request of this client (as fetch's redirect: 'error'). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/**
 * How long an idle connection to a peer stays open: longer than the prober's quiet time before a
 * ping (5 s), so a kept-live peer's pings reuse one connection instead of a TCP handshake each on
 * both sides; shorter than a chainmesh server keeps one (65 s, src/daemon/node.ts), so a request
 * never goes out on a connection the other side is closing.
 */
const IDLE_SOCKET_MS = 30_000;
// 500 blocks of hex with headroom over the ~8 MB (binary) cap of a sync reply.
const SYNC_REPLY_BYTES = 40 << 20;
// Every transaction of the largest block, as hex, with headroom.
const BLOCKTXN_REPLY_BYTES = 8 << 20;

/**
 * HTTP client for the node-to-node protocol. Every request carries the node's
 * identity headers, has a deadline (covering the wait for a socket and the body
 * too), a response size limit, and a reply validated before use: a peer that
 * answers garbage, slowly or not at all costs one bounded failed request.
 */
export class PeerClient implements PeerTransport {
  private readonly agent: Agent;
  private closed = false;
  /** Requests in flight, each with what ends it when the client closes. */
  private readonly inflight = new Map<ClientRequest, () => void>();
  private readonly headers: Record<string, string>;

  constructor(
    private readonly opts: {
      self: { nodeId: string; hostname: string; network: string };
      timeoutMs: number;
      metrics: Metrics;
      maxSocketsPerPeer?: number;
    },
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: opts.maxSocketsPerPeer ?? 4,
      maxFreeSockets: 2,
      timeout: IDLE_SOCKET_MS,
    });
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      [HEADER_NODE_ID]: opts.self.nodeId,
      [HEADER_NETWORK]: opts.self.network,
      [HEADER_ADDR]: opts.self.hostname,
    };
  }

  async advertise(host: string, body: AdvertisementBody): Promise<AdvertisementReply> {
    const reply = await this.request(
      'advertise',
      host,
      'POST',
      '/new_node_advertisement',
      body,
      advertisementReplySchema,
    );
    if (reply.network !== this.opts.self.network) {
      throw this.fail('advertise', 'wrong-network', `${host} is on network ${reply.network}`);
    }
    return reply;
  }

  knownNodes(host: string): Promise<PeerInfo[]> {
    return this.request('known_nodes', host, 'GET', '/known_node_request', undefined, knownNodesReplySchema);
  }

  async ping(host: string, chainWork: string): Promise<PingReply> {
    const reply = await this.request('ping', host, 'GET', '/ping', undefined, pingReplySchema, {
      headers: { [HEADER_CHAIN_WORK]: chainWork },
    });
    if (reply.network !== this.opts.self.network) {
      throw this.fail('ping', 'wrong-network', `${host} is on network ${reply.network}`);
    }
    return reply;
  }

  /** `relayedTo`: short ids of the peers known to have been sent this block (HEADER_RELAYED_TO). */
  async sendBlock(host: string, blockHex: string, relayedTo: readonly string[] = []): Promise<void> {
    await this.request('block', host, 'POST', '/block', { block: blockHex }, blockReplySchema, {
      headers: relayedToHeaders(relayedTo),
    });
  }

  /** A compact block (BIP152 HeaderAndShortIDs, hex); the peer may call back with getblocktxn before it answers. */
  async sendCompactBlock(host: string, compactHex: string, relayedTo: readonly string[] = []): Promise<void> {
    await this.request(
      'cmpctblock',
      host,
      'POST',
      '/cmpctblock',
      { cmpctblock: compactHex },
      compactBlockReplySchema,
      { headers: relayedToHeaders(relayedTo) },
    );
  }

  /** The transactions of a block a peer announced compact (a BIP152 getblocktxn in, a blocktxn out, hex). */
  async getBlockTxn(host: string, requestHex: string): Promise<string> {
    const reply = await this.request(
      'getblocktxn',
      host,
      'POST',
      '/getblocktxn',
      { getblocktxn: requestHex },
      blockTxnReplySchema,
      { maxBytes: BLOCKTXN_REPLY_BYTES },
    );
    return reply.blocktxn;
  }

  async sendTransactions(host: string, txHexes: string[]): Promise<void> {
    await this.request('tx', host, 'POST', '/transactions', { txs: txHexes }, transactionsReplySchema);
  }

  syncBlocks(host: string, locator: string[], limit: number, timeoutMs: number): Promise<SyncReply> {
    return this.request('sync', host, 'POST', '/sync/blocks', { locator, limit }, syncReplySchema, {
      timeoutMs,
      maxBytes: SYNC_REPLY_BYTES,
    });
  }

  /** Aborts every request in flight and closes idle connections. */
  close(): void {
    this.closed = true;
    for (const abort of [...this.inflight.values()]) abort();
    this.agent.destroy();
  }

  private async request<S extends z.ZodType>(
    kind: PeerRequestKind,
    host: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: S,
    options: { timeoutMs?: number; maxBytes?: number; headers?: Record<string, string> | undefined } = {},
  ): Promise<z.infer<S>> {
    const where = `${hostForUrl(host)}${path}`;
    if (this.closed) throw this.fail(kind, 'network', `${where}: client closed`);
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
    this.opts.metrics.messagesSent.inc({ kind });
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) this.opts.metrics.bytesSent.inc({ kind }, payload.length);
    const headers =
      options.headers === undefined ? { ...this.headers } : { ...this.headers, ...options.headers };
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    const reply = await this.exchange(kind, host, where, method, path, headers, payload, {
      timeoutMs,
      maxBytes: options.maxBytes ?? SMALL_REPLY_BYTES,
    });
    const { status, network, text } = reply;
    if (network !== undefined && network !== this.opts.self.network) {
      throw this.fail(kind, 'wrong-network', `${host} answered for network ${network}`);
    }
    if (REDIRECT_STATUSES.has(status))
      throw this.fail(kind, 'network', `${where}: HTTP ${status}, a redirect`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.fail(
        kind,
        status >= 200 && status < 300 ? 'bad-response' : 'http',
        `${where}: HTTP ${status}, not JSON`,
      );
    }
    if (status < 200 || status >= 300) {
      const code = errorCode(json);
      const reason = code === 'peer-wrong-network' ? 'wrong-network' : 'http';
      throw this.fail(kind, reason, `${where}: HTTP ${status}${code ? ` ${code}` : ''}`, code);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw this.fail(kind, 'bad-response', `${where}: malformed reply`);
    return parsed.data as z.infer<S>;
  }

  /**
   * One request on node:http and its whole reply as text. node-fetch cost the
   * sender 4-6 times the CPU of a bare request (stream pipelines, AbortSignals,
   * header objects): a node pushing a block to 19 peers spent ~10 ms on it.
   * The deadline covers waiting for a socket, the answer and its body; a reply
   * over `maxBytes` is cut off as a bad response.
   */
  private exchange(
    kind: PeerRequestKind,
    host: string,
    where: string,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    payload: string | undefined,
    limits: { timeoutMs: number; maxBytes: number },
  ): Promise<{ status: number; network: string | undefined; text: string }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const req: ClientRequest = httpRequest({
        host: hostOf(host),
        port: Number(host.slice(host.lastIndexOf(':') + 1)),
        method,
        path,
        headers,
        agent: this.agent,
      });
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(deadline);
        this.inflight.delete(req);
        return true;
      };
      // Counted and thrown once: the destroyed request's own late errors find it settled.
      const failWith = (reason: PeerFailureReason, message: string): void => {
        if (!settle()) return;
        req.destroy();
        reject(this.fail(kind, reason, `${where}: ${message}`));
      };
      const deadline = setTimeout(
        () => failWith('timeout', `no answer within ${limits.timeoutMs} ms`),
        limits.timeoutMs,
      );
      this.inflight.set(req, () => failWith('network', 'client closed'));
      const broken = (err: Error) => failWith('network', err.message);
      req.on('error', broken);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > limits.maxBytes) failWith('bad-response', `reply over ${limits.maxBytes} bytes`);
          else chunks.push(chunk);
        });
        res.on('error', broken);
        res.on('aborted', () => broken(new Error('reply cut off')));
        res.on('end', () => {
          if (!settle()) return;
          const network = res.headers[HEADER_NETWORK];
          resolve({
            status: res.statusCode ?? 0,
            network: typeof network === 'string' ? network : undefined,
            text: (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8'),
          });
        });
      });
      req.end(payload);
    });
  }

  private fail(
    kind: PeerRequestKind,
    reason: PeerFailureReason,
    message: string,
    code?: string,
  ): PeerRequestError {
    this.opts.metrics.peerRequestFailures.inc({ kind, reason });
    return new PeerRequestError(kind, reason, message, code);
  }
}

function errorCode(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || !('error' in json)) return undefined;
  const code = (json as { error: unknown }).error;
  return typeof code === 'string' && code.length <= 64 ? code : undefined;
}

/** `host:port` as a URL authority (IPv6 literals need brackets). */
export function hostForUrl(host: string): string {
  const colon = host.lastIndexOf(':');
  const name = host.slice(0, colon);
  return name.includes(':') && !name.startsWith('[') ? `[${name}]${host.slice(colon)}` : host;
}

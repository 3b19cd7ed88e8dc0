import { Agent } from 'node:http';
import fetch, { FetchError } from 'node-fetch';
import type { z } from 'zod';
import type { Metrics, PeerFailureReason, PeerRequestKind } from '../obs/index.js';
import {
  HEADER_ADDR,
  HEADER_NETWORK,
  HEADER_NODE_ID,
  HEADER_RELAYED_TO,
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
const IDLE_SOCKET_MS = 4_000;
// 500 blocks of hex with headroom over the ~8 MB (binary) cap of a sync reply.
const SYNC_REPLY_BYTES = 40 << 20;
// Every transaction of the largest block, as hex, with headroom.
const BLOCKTXN_REPLY_BYTES = 8 << 20;

/**
 * HTTP client for the node-to-node protocol. Every request carries the node's
 * identity headers, has a deadline (its own timer, covering the body
 * too), a response size limit, and a reply validated before use: a peer that
 * answers garbage, slowly or not at all costs one bounded failed request.
 */
export class PeerClient implements PeerTransport {
  private readonly agent: Agent;
  /**
   * One controller per request in flight, aborted by its own timer or by close(). Not
   * AbortSignal.any([timeout, lifetime]): on Node 20 every such call leaves a WeakRef in the
   * long-lived signal's dependants for good (about 60 bytes a request, a leak the soak found),
   * and AbortSignal.timeout's timer outlives a request that finished early.
   */
  private readonly inFlight = new Set<AbortController>();
  private closed = false;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly opts: {
      self: { nodeId: string; hostname: string; network: string };
      timeoutMs: number;
      metrics: Metrics;
      maxSocketsPerPeer?: number;
    },
  ) {
    // Idle sockets are closed by us (4 s) before a peer's server does (Node's default is 5 s),
    // so a request never goes out on a connection the other side is closing.
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

  async ping(host: string): Promise<PingReply> {
    const reply = await this.request('ping', host, 'GET', '/ping', undefined, pingReplySchema);
    if (reply.network !== this.opts.self.network) {
      throw this.fail('ping', 'wrong-network', `${host} is on network ${reply.network}`);
    }
    return reply;
  }

  /** `relayedTo`: short ids of the peers known to have been sent this block (HEADER_RELAYED_TO). */
  async sendBlock(host: string, blockHex: string, relayedTo: readonly string[] = []): Promise<void> {
    await this.request('block', host, 'POST', '/block', { block: blockHex }, blockReplySchema, {
      headers: relayedTo.length === 0 ? undefined : { [HEADER_RELAYED_TO]: relayedTo.join(',') },
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
      { headers: relayedTo.length === 0 ? undefined : { [HEADER_RELAYED_TO]: relayedTo.join(',') } },
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
    for (const controller of this.inFlight) controller.abort();
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
    if (this.closed) throw this.fail(kind, 'network', 'client closed');
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    this.inFlight.add(controller);
    this.opts.metrics.messagesSent.inc({ kind });
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) this.opts.metrics.bytesSent.inc({ kind }, payload.length);
    let text: string;
    let status: number;
    let network: string | null;
    try {
      const res = await fetch(`http://${hostForUrl(host)}${path}`, {
        method,
        headers: options.headers === undefined ? this.headers : { ...this.headers, ...options.headers },
        body: payload,
        agent: this.agent,
        signal: controller.signal,
        size: options.maxBytes ?? SMALL_REPLY_BYTES,
        redirect: 'error',
      });
      status = res.status;
      network = res.headers.get(HEADER_NETWORK);
      text = await res.text();
    } catch (err) {
      if (this.closed) throw this.fail(kind, 'network', `${host}${path}: client closed`);
      if (controller.signal.aborted)
        throw this.fail(kind, 'timeout', `${host}${path}: no answer within ${timeoutMs} ms`);
      const reason = err instanceof FetchError && err.type === 'max-size' ? 'bad-response' : 'network';
      throw this.fail(kind, reason, `${host}${path}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (network !== null && network !== this.opts.self.network) {
      throw this.fail(kind, 'wrong-network', `${host} answered for network ${network}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.fail(
        kind,
        status >= 200 && status < 300 ? 'bad-response' : 'http',
        `${host}${path}: HTTP ${status}, not JSON`,
      );
    }
    if (status < 200 || status >= 300) {
      const code = errorCode(json);
      const reason = code === 'peer-wrong-network' ? 'wrong-network' : 'http';
      throw this.fail(kind, reason, `${host}${path}: HTTP ${status}${code ? ` ${code}` : ''}`, code);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw this.fail(kind, 'bad-response', `${host}${path}: malformed reply`);
    return parsed.data as z.infer<S>;
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

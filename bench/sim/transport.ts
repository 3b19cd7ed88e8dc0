import type { z } from 'zod';
import { toApiError } from '../../src/api/errors.js';
import type { ProtocolCall, ProtocolHandlers } from '../../src/api/routes/protocol.js';
import type { PeerFailureReason, PeerRequestKind } from '../../src/obs/index.js';
import {
  HEADER_ADDR,
  HEADER_CHAIN_WORK,
  HEADER_NETWORK,
  HEADER_NODE_ID,
  PeerRequestError,
  relayedToHeaders,
  type AdvertisementBody,
  type PeerTransport,
} from '../../src/p2p/index.js';
import {
  advertisementReplySchema,
  blockReplySchema,
  blockTxnReplySchema,
  compactBlockReplySchema,
  hostOf,
  knownNodesReplySchema,
  pingReplySchema,
  syncReplySchema,
  transactionsReplySchema,
} from '../../src/p2p/wire.js';
import type { NetworkModel } from './network-model.js';
import type { VirtualClock } from './virtual-clock.js';

/** A simulated node as the network sees it: its address, region and the protocol handlers behind it. */
export interface Endpoint {
  readonly hostname: string;
  readonly region: number;
  readonly handlers: ProtocolHandlers;
  up: boolean;
  /** When its uplink and its core are free again (virtual ms). */
  uplinkFreeAt: number;
  cpuFreeAt: number;
}

type Path = keyof typeof HANDLER_OF;

const HANDLER_OF = {
  '/new_node_advertisement': 'advertise',
  '/known_node_request': 'knownNodes',
  '/ping': 'ping',
  '/block': 'postBlock',
  '/cmpctblock': 'postCompactBlock',
  '/getblocktxn': 'getBlockTxn',
  '/transactions': 'postTransactions',
  '/sync/blocks': 'syncBlocks',
} satisfies Record<string, keyof ProtocolHandlers>;

/** Requests whose handler answers as soon as it runs (it awaits nothing on the network). */
const ANSWERED_WHEN_SERVED: ReadonlySet<PeerRequestKind> = new Set(['ping', 'advertise', 'known_nodes']);
/** One ping or advertisement reply in this many goes through the client's schema (see checksReply). */
const REPLY_CHECK_EVERY = 32;

/** HTTP headers and framing around a JSON body (request line, identity headers, status line). */
const HTTP_OVERHEAD_BYTES = 300;

/** What the network counted: requests (replies as `<kind>-reply`) and their bytes by kind. */
export interface Traffic {
  messages: Record<string, number>;
  bytes: Record<string, number>;
}

/** The requests that carry a block from node to node (as the cluster bench counts block relay). */
export const BLOCK_RELAY_KINDS: readonly PeerRequestKind[] = ['block', 'cmpctblock', 'getblocktxn'];

/**
 * The in-memory network: a request goes from the sender's uplink (queued
 * behind its earlier sends, at the link's bandwidth) over the link's latency
 * to the receiver, waits for the receiver's core, runs the receiver's real
 * protocol handler (src/api/routes/protocol.ts, the functions the HTTP routes
 * call), and its answer comes back the same way. Errors become statuses and
 * codes as the HTTP error handler maps them, and replies are checked with the
 * same schemas as PeerClient's. An address nobody serves refuses the
 * connection (one round trip) or, for a share of them, swallows it (timeout).
 */
export class SimNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private frequentReplies = 0;
  /** When each of the machine's cores is free again (a model with sharedCores), else undefined. */
  private readonly cores: number[] | undefined;
  readonly traffic: Traffic = { messages: {}, bytes: {} };

  constructor(
    private readonly clock: VirtualClock,
    /** Draws the per-link latency factors (one per unordered pair of hosts, derived from this seed). */
    private readonly linkSeed: number,
    private readonly model: NetworkModel,
    /** Share of dead addresses that never answer (a firewall dropping packets) instead of refusing. */
    private readonly blackholeShare = 0.5,
  ) {
    this.cores = model.sharedCores === undefined ? undefined : Array<number>(model.sharedCores).fill(0);
  }

  attach(endpoint: Endpoint): void {
    this.endpoints.set(endpoint.hostname, endpoint);
  }

  get(hostname: string): Endpoint | undefined {
    return this.endpoints.get(hostname);
  }

  /** A PeerTransport for the node at `self` (its identity headers, its uplink, its timeouts). */
  transport(
    self: { nodeId: string; hostname: string; network: string; region: number },
    timeoutMs: number,
    behaviour: { withholdBlocks?: boolean } = {},
  ): PeerTransport & { closed: boolean } {
    const headers: Record<string, string> = {
      [HEADER_NODE_ID]: self.nodeId,
      [HEADER_NETWORK]: self.network,
      [HEADER_ADDR]: self.hostname,
    };
    const send = <S extends z.ZodType>(
      kind: PeerRequestKind,
      host: string,
      path: Path,
      body: unknown,
      schema: S,
      deadlineMs = timeoutMs,
      extraHeaders?: Record<string, string>,
    ): Promise<z.infer<S>> => {
      if (transport.closed) return Promise.reject(fail(kind, 'network', 'client closed'));
      const sent = extraHeaders === undefined ? headers : { ...headers, ...extraHeaders };
      return this.request(self, sent, kind, host, path, body, schema, deadlineMs);
    };
    const transport = {
      closed: false,
      async advertise(host: string, body: AdvertisementBody) {
        const reply = await send(
          'advertise',
          host,
          '/new_node_advertisement',
          body,
          advertisementReplySchema,
        );
        if (reply.network !== self.network)
          throw fail('advertise', 'wrong-network', `${host} is on another network`);
        return reply;
      },
      knownNodes: (host: string) =>
        send('known_nodes', host, '/known_node_request', undefined, knownNodesReplySchema),
      async ping(host: string, chainWork: string) {
        const reply = await send('ping', host, '/ping', undefined, pingReplySchema, undefined, {
          [HEADER_CHAIN_WORK]: chainWork,
        });
        if (reply.network !== self.network)
          throw fail('ping', 'wrong-network', `${host} is on another network`);
        return reply;
      },
      async sendBlock(host: string, blockHex: string, relayedTo?: readonly string[]) {
        // A withholding node says it relayed and sends nothing.
        if (behaviour.withholdBlocks) return;
        await send(
          'block',
          host,
          '/block',
          { block: blockHex },
          blockReplySchema,
          undefined,
          relayedToHeaders(relayedTo ?? []),
        );
      },
      async sendCompactBlock(host: string, compactHex: string, relayedTo?: readonly string[]) {
        if (behaviour.withholdBlocks) return;
        await send(
          'cmpctblock',
          host,
          '/cmpctblock',
          { cmpctblock: compactHex },
          compactBlockReplySchema,
          undefined,
          relayedToHeaders(relayedTo ?? []),
        );
      },
      async getBlockTxn(host: string, requestHex: string) {
        const reply = await send(
          'getblocktxn',
          host,
          '/getblocktxn',
          { getblocktxn: requestHex },
          blockTxnReplySchema,
        );
        return reply.blocktxn;
      },
      async sendTransactions(host: string, txHexes: string[]) {
        await send('tx', host, '/transactions', { txs: txHexes }, transactionsReplySchema);
      },
      syncBlocks: (host: string, locator: string[], limit: number, deadlineMs: number) =>
        send('sync', host, '/sync/blocks', { locator, limit }, syncReplySchema, deadlineMs),
      close() {
        transport.closed = true;
      },
    };
    return transport;
  }

  private request<S extends z.ZodType>(
    self: { hostname: string; region: number },
    headers: Record<string, string>,
    kind: PeerRequestKind,
    host: string,
    path: Path,
    body: unknown,
    schema: S,
    timeoutMs: number,
  ): Promise<z.infer<S>> {
    const requestBytes = HTTP_OVERHEAD_BYTES + jsonSize(body);
    this.count(kind, requestBytes);
    const sender = this.endpoints.get(self.hostname);
    const deadline = this.clock.exactNow() + timeoutMs;
    return new Promise<z.infer<S>>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        outcome();
      };
      const timeout = (): void =>
        finish(() => reject(fail(kind, 'timeout', `${host}${path}: no answer within ${timeoutMs} ms`)));
      // The client's side ends at `at` with `outcome`, or at its deadline with a timeout if that comes
      // first: one timer per outcome instead of a timeout timer per request that is nearly always cleared.
      const finishAt = (at: number, outcome: () => void): void => {
        const timedOut = at > deadline;
        this.clock.setTimeout(
          () => (timedOut ? timeout() : finish(outcome)),
          Math.min(at, deadline) - this.clock.exactNow(),
        );
      };
      const target = this.endpoints.get(host);
      const targetRegion = target?.region ?? this.deadRegion(host);
      // The sender's own CPU for the request (encoding, the socket) before it leaves, where modelled.
      const sendMs = this.model.sendMs ?? 0;
      const ready = sender && sendMs > 0 ? this.compute(sender, this.clock.exactNow(), sendMs) : undefined;
      const arrival =
        this.departure(sender, self.region, targetRegion, requestBytes, ready) +
        this.latency(self.hostname, self.region, host, targetRegion);
      if (!target?.up) {
        if (this.blackholed(host)) return finishAt(Infinity, timeout);
        const refusedAt = arrival + this.latency(host, targetRegion, self.hostname, self.region);
        return finishAt(refusedAt, () => reject(fail(kind, 'network', `${host}${path}: connection refused`)));
      }
      // The receiver's core takes requests in the order they were sent (arrival order but for jitter).
      this.compute(target, arrival, this.serviceMs(kind));
      // A handler that may wait on the network (a compact block's getblocktxn, a block being
      // validated, a sync) can answer after the deadline, as can one served after it: the timeout
      // is then a timer of its own. The others answer when served.
      if (target.cpuFreeAt > deadline || !ANSWERED_WHEN_SERVED.has(kind)) finishAt(Infinity, timeout);
      this.clock.setTimeout(() => {
        if (!target.up)
          return finish(() => reject(fail(kind, 'network', `${host}${path}: connection reset`)));
        void this.serve(target, path, headers, self.hostname, body).then(({ status, answer }) => {
          const replyBytes = HTTP_OVERHEAD_BYTES + jsonSize(answer);
          this.count(`${kind}-reply`, replyBytes);
          const back =
            this.departure(target, targetRegion, self.region, replyBytes) +
            this.latency(host, targetRegion, self.hostname, self.region);
          finishAt(back, () => {
            if (status < 200 || status >= 300) {
              const code = (answer as { error?: unknown }).error;
              const reason = code === 'peer-wrong-network' ? 'wrong-network' : 'http';
              const text = typeof code === 'string' ? code : '';
              return reject(fail(kind, reason, `${host}${path}: HTTP ${status} ${text}`, text || undefined));
            }
            if (!this.checksReply(kind)) return resolve(answer as z.infer<S>);
            const parsed = schema.safeParse(answer);
            if (!parsed.success) return reject(fail(kind, 'bad-response', `${host}${path}: malformed reply`));
            resolve(parsed.data as z.infer<S>);
          });
        });
      }, target.cpuFreeAt - this.clock.exactNow());
    });
  }

  /**
   * Whether this reply goes through the client's schema (PeerClient checks every reply). The
   * replies here come from the real handlers of honest code, so they always pass: the two kinds
   * that are most of the traffic (pings, advertisements) are checked one in REPLY_CHECK_EVERY,
   * which still catches a handler and a schema that disagree, and the rest every time.
   */
  private checksReply(kind: PeerRequestKind): boolean {
    if (kind !== 'ping' && kind !== 'advertise') return true;
    return this.frequentReplies++ % REPLY_CHECK_EVERY === 0;
  }

  /** The receiver's handler on the body, its errors mapped as the HTTP error handler maps them. */
  private async serve(
    target: Endpoint,
    path: Path,
    headers: Record<string, string>,
    fromHost: string,
    body: unknown,
  ): Promise<{ status: number; answer: unknown }> {
    const call: ProtocolCall = {
      header: (name) => headers[name],
      remoteAddress: hostOf(fromHost),
      // Not copied: every handler parses its body with a schema, which builds new objects from it.
      body,
    };
    try {
      const { status, body: answer } = await target.handlers[HANDLER_OF[path]](call);
      return { status, answer };
    } catch (err) {
      const apiError = toApiError(err);
      return { status: apiError.status, answer: { error: apiError.code, message: apiError.message } };
    }
  }

  /** When a message of `bytes` leaves the sender's uplink (after its queued sends). */
  private departure(
    sender: Endpoint | undefined,
    from: number,
    to: number,
    bytes: number,
    ready = this.clock.exactNow(),
  ): number {
    const now = ready;
    const transferMs = ((bytes * 8) / this.model.uploadBps[from]![to]!) * 1000;
    if (!sender) return now + transferMs;
    const start = Math.max(now, sender.uplinkFreeAt);
    sender.uplinkFreeAt = start + transferMs;
    return sender.uplinkFreeAt;
  }

  /**
   * A link's latency: the regions' mean times a factor fixed per (unordered) pair of hosts,
   * a hash of the pair and the seed (nothing stored per link: 10,000 nodes have ~10^6 links in use).
   */
  private latency(a: string, regionA: number, b: string, regionB: number): number {
    const pair =
      a < b ? hashString(b, hashString(a, this.linkSeed)) : hashString(a, hashString(b, this.linkSeed));
    const uniform = mix32(pair) / 2 ** 32;
    const factor = 1 - this.model.jitter + 2 * this.model.jitter * uniform;
    return this.model.latencyMs[regionA]![regionB]! * factor;
  }

  /**
   * `ms` of a node's CPU from `earliest` on: after its earlier work (one core per node) and, in a
   * model of one machine, on the first of its shared cores to be free. Returns when it ends.
   */
  private compute(node: Endpoint, earliest: number, cpuMs: number): number {
    let start = Math.max(earliest, node.cpuFreeAt);
    const cores = this.cores;
    let ms = cpuMs;
    if (cores) {
      ms *= 1 + (this.model.backgroundThreads ?? 0) / cores.length;
      let core = 0;
      for (let i = 1; i < cores.length; i++) if (cores[i]! < cores[core]!) core = i;
      start = Math.max(start, cores[core]!);
      cores[core] = start + ms;
    }
    node.cpuFreeAt = start + ms;
    return node.cpuFreeAt;
  }

  private serviceMs(kind: PeerRequestKind): number {
    const s = this.model.serviceMs;
    return kind === 'block' || kind === 'cmpctblock' ? s.block : kind === 'sync' ? s.sync : s.other;
  }

  /** A fixed fact about an address: whether it blackholes (hashing its name keeps runs reproducible). */
  private blackholed(host: string): boolean {
    return (hashString(host) % 1000) / 1000 < this.blackholeShare;
  }

  private deadRegion(host: string): number {
    return hashString(host) % this.model.regions.length;
  }

  private count(kind: string, bytes: number): void {
    this.traffic.messages[kind] = (this.traffic.messages[kind] ?? 0) + 1;
    this.traffic.bytes[kind] = (this.traffic.bytes[kind] ?? 0) + bytes;
  }
}

function fail(
  kind: PeerRequestKind,
  reason: PeerFailureReason,
  message: string,
  code?: string,
): PeerRequestError {
  return new PeerRequestError(kind, reason, message, code);
}

/**
 * A body's size as JSON: the length of JSON.stringify(body), the JSON the HTTP transport would
 * send, counted without building the string (each message's text was ~5 % of the run's CPU and
 * kilobytes of garbage per advertisement). Plain data (the bodies and replies of the protocol)
 * is walked; anything else (an object with toJSON, a string that needs escapes) is measured by
 * JSON.stringify itself.
 */
export function jsonSize(body: unknown): number {
  return body === undefined ? 0 : jsonLength(body);
}

/** Characters JSON.stringify escapes (quote, backslash, controls) or may (lone surrogates). */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonLength(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value).length : value.length + 2;
    case 'number':
      return Number.isFinite(value) ? numberLength(value) : 4; // NaN, ±Infinity: null
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let n = 2 + Math.max(0, value.length - 1); // brackets, commas
        for (const item of value)
          n +=
            item === undefined || typeof item === 'function' || typeof item === 'symbol'
              ? 4
              : jsonLength(item);
        return n;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype || 'toJSON' in value)
        return JSON.stringify(value).length;
      let n = 2; // braces
      let fields = 0;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        n += jsonLength(key) + 1 + jsonLength(v); // "key":value
        fields++;
      }
      return n + Math.max(0, fields - 1);
    }
    default:
      return JSON.stringify(value).length; // bigint throws as JSON.stringify does
  }
}

/** Length of a finite number as JSON.stringify writes it: integers by counting digits, others as text. */
function numberLength(x: number): number {
  if (!Number.isSafeInteger(x)) return String(x).length;
  if (x === 0) return 1;
  let n = x < 0 ? 1 : 0;
  for (let v = Math.abs(x); v >= 1; v = Math.floor(v / 10)) n++;
  return n;
}

/** FNV-1a of a string, continuing from `h` (chained to hash a pair). */
function hashString(s: string, h = 2166136261): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A finaliser (murmur3's): FNV's low bits are poorly mixed, the uniform draw needs all 32. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

import { isIP } from 'node:net';
import {
  blockHashOf,
  checkBlock,
  checkHeaderPow,
  encodeTx,
  isValidationError,
  toDisplayHex,
  txid,
  workForBits,
  type Block,
  type BlockTxnRequest,
  type CompactBlock,
  type Transaction,
} from '../core/index.js';
import { PeerError } from './errors.js';
import type { CompactBlockOutcome, Logger, Metrics } from '../obs/index.js';
import { BanList, misbehaviourPoints } from './ban.js';
import { BurstBatch } from './burst.js';
import { wallClock, type Clock, type ClockTimer } from './clock.js';
import { BlockPayload, CompactBlocks } from './compact.js';
import type { AcceptedBlock, BlockLogPort, ChainPort, MempoolPort, ProcessBlockResult } from './deps.js';
import { Discovery, GOSSIP_SAMPLE, type DiscoveryTuning } from './discovery.js';
import { PeerClient } from './peer-client.js';
import type { PeerTransport } from './transport.js';
import { PeerBook, pick, toInfo, type PeerBookTuning, type PeerState, type PeerTable } from './peer-book.js';
import { Prober, type ProberTuning } from './prober.js';
import { Relay, SeenCache } from './relay.js';
import { Sync } from './sync.js';
import {
  decodeChainWork,
  encodeChainWork,
  hostOf,
  isHostPort,
  MAX_SYNC_BLOCKS,
  parseChainWorkHeader,
  type AdvertisementBody,
  type AdvertisementReply,
  type PeerInfo,
} from './wire.js';

/** Transactions admitted between yields to the event loop while processing a batch. */
const YIELD_EVERY_TXS = 50;

/** Peers kept live beyond the relay fan-out: one or two going quiet do not thin a relay. */
const KEEP_LIVE_MARGIN = 4;
/**
 * Tried peers kept live by pings: at least every peer a cluster of ORIGIN_FANOUT + 1 nodes has,
 * so a small cluster keeps full discovery and one-hop pushes of a node's own blocks; in a larger
 * network the bound keeps each node's pings from growing with its size.
 */
export const keepLiveFor = (relayFanout: number) => Math.max(relayFanout + KEEP_LIVE_MARGIN, ORIGIN_FANOUT);

export interface P2PTuning extends PeerBookTuning, DiscoveryTuning, ProberTuning {
  banMs: number;
  /** Deadline of one sync batch request (defaults to 4 × requestTimeoutMs). */
  syncTimeoutMs: number;
  syncBatchSize: number;
}

export interface P2POptions {
  self: { nodeId: string; hostname: string /* advertised host:port */; network: string /* genesis hash */ };
  /** `host:port`; a name resolving to several addresses yields several seeds. */
  seeds: string[];
  /** Where peers.json lives; without one the peer book lives in memory only (a simulator's nodes). */
  dataDir?: string;
  maxPeers: number;
  gossipIntervalMs: number;
  relayFanout: number;
  joinFanout: number;
  requestTimeoutMs: number;
  /** Every timer and timestamp of the layer: the wall clock unless given (a simulator's virtual clock). */
  clock?: Clock;
  /** Send blocks compact (BIP152) to peers that take them, and say this node does (default on). */
  compactBlocks?: boolean;
  /** Time source overriding `clock.now` (tests that move time without timers). */
  now?: () => number;
  random?: () => number;
  tuning?: Partial<P2PTuning>;
}

/** A request's sender as the routes believe it (see isPlausibleSender). */
export interface PeerSender {
  nodeId: string;
}

/** What a relayed block's sender says besides the block (HEADER_RELAYED_TO). */
export interface BlockRelayHints {
  /** Short ids of peers the sender knows were sent this block. */
  relayedTo?: readonly string[];
}

export type PeerView = PeerInfo & {
  state: PeerState | 'banned';
  /** tried: a handshake on this network reached it; untried: only heard of. */
  table: PeerTable;
  /** This node reached it (a handshake): `table === 'tried'`. */
  contacted: boolean;
  /** Who told this node of it: `peer:<nodeId>`, `ip:<address>`, `seed`, `persisted` or `dialled`. */
  source: string;
  /** This node's last successful request to it (unix ms), null if none since start. */
  lastSuccess: number | null;
  failures: number;
  banScore: number;
  /** Blocks go to it compact (BIP152): it said it takes them, and this node sends them. */
  compactBlocks: boolean;
  height?: number;
};

/** Where a block came from, for its metric and its log line. */
type BlockOrigin = Pick<AcceptedBlock, 'source' | 'peer'>;

export type TxResult = { txid: string } | { error: string; message: string };

/** POST /cmpctblock: what became of the block; `incomplete` when it could not be rebuilt yet (a sync follows). */
export type CompactBlockResult =
  | (ProcessBlockResult & { outcome?: CompactBlockOutcome })
  | { status: 'incomplete'; hash: string; outcome: CompactBlockOutcome };

const SYNC_REPLY_MAX_BYTES = 8_000_000;
const SEEN_BLOCKS = 20_000;
/**
 * Peers a block this node made (or a user submitted) is pushed to: every live peer of a cluster of
 * 25. It also sets how many peers each node keeps live (keepLiveFor), and so its idle pings: at
 * 32, 100 nodes on one 2-core machine used 1.8 of its cores at idle.
 */
const ORIGIN_FANOUT = 24;
/** Sources remembered as having sent an invalid block (no early relay from them). */
const EARLY_REFUSED = 4_096;
const SEEN_TXS = 100_000;

/**
 * The peer-to-peer layer: discovery and gossip, a persisted peer book, relay
 * with a bounded fan-out, locator sync and ban scores, composed behind the
 * methods the HTTP routes and the node call.
 */
export class P2P {
  private readonly book: PeerBook;
  private readonly bans: BanList;
  private readonly client: PeerTransport;
  private readonly discovery: Discovery;
  private readonly relay: Relay;
  private readonly sync: Sync;
  private readonly prober: Prober;
  private readonly compact: CompactBlocks;
  private gaugeTimer: ClockTimer | undefined;
  /**
   * The book changed: the gauges follow once the current burst of changes is over (one gossip
   * message learns dozens of addresses, and each count scans the book).
   */
  private readonly gaugesChanged = new BurstBatch<void>(() => this.updateGauges());
  private readonly seenBlocks = new SeenCache(SEEN_BLOCKS);
  private readonly seenTxs = new SeenCache(SEEN_TXS);
  /** Transactions the reorg being settled returned to the mempool, relayed together once it has. */
  private readonly reorged = new BurstBatch<Uint8Array>((batch) => {
    this.logger.debug('reorged transactions relayed', { txs: batch.length });
    this.relay.relayTransactions(batch);
  });
  /** Blocks forwarded before their validation ended (not relayed a second time after it). */
  private readonly relayedEarly = new SeenCache(SEEN_BLOCKS);
  private readonly earlyRelayRefused = new SeenCache(EARLY_REFUSED);
  /** Blocks being validated, by hash, with where the copy that started it came from. */
  private readonly inflightBlocks = new Map<
    string,
    { readonly result: Promise<ProcessBlockResult>; readonly source: BlockOrigin['source'] }
  >();
  private readonly now: () => number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly chain: ChainPort;
  private readonly mempool: MempoolPort;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly blockLog: BlockLogPort;

  /** Without a `blockLog` (a peer layer on its own, as in tests) every accepted block gets its info line. */
  constructor(
    private readonly opts: P2POptions,
    deps: {
      chain: ChainPort;
      mempool: MempoolPort;
      metrics: Metrics;
      logger: Logger;
      blockLog?: BlockLogPort;
      /** How requests reach peers: HTTP (PeerClient) unless given. */
      transport?: PeerTransport;
    },
  ) {
    ({ chain: this.chain, mempool: this.mempool, metrics: this.metrics, logger: this.logger } = deps);
    this.blockLog = deps.blockLog ?? { accepted: (block) => this.logger.info('block accepted', block) };
    this.clock = opts.clock ?? wallClock;
    const clock = this.clock;
    this.now = opts.now ?? (() => clock.now());
    this.random = opts.random ?? Math.random;
    const tuning = opts.tuning ?? {};
    this.bans = new BanList({ now: this.now, ...(tuning.banMs !== undefined && { banMs: tuning.banMs }) });
    this.book = new PeerBook({
      self: opts.self,
      maxPeers: opts.maxPeers,
      dataDir: opts.dataDir,
      now: this.now,
      random: this.random,
      logger: this.logger,
      tuning,
      onChange: () => this.gaugesChanged.add(),
      onEvicted: (table) => this.metrics.peersEvicted.inc({ table }),
      clock,
    });
    this.client =
      deps.transport ??
      new PeerClient({
        self: opts.self,
        timeoutMs: opts.requestTimeoutMs,
        metrics: this.metrics,
      });
    this.compact = new CompactBlocks({
      enabled: opts.compactBlocks ?? true,
      chain: this.chain,
      mempool: this.mempool,
      client: this.client,
      metrics: this.metrics,
      logger: this.logger,
    });
    this.relay = new Relay({
      selfNodeId: opts.self.nodeId,
      book: this.book,
      bans: this.bans,
      client: this.client,
      compact: this.compact,
      fanout: opts.relayFanout,
      random: this.random,
      logger: this.logger,
      clock,
    });
    this.sync = new Sync({
      chain: this.chain,
      client: this.client,
      book: this.book,
      bans: this.bans,
      metrics: this.metrics,
      logger: this.logger,
      timeoutMs: tuning.syncTimeoutMs ?? opts.requestTimeoutMs * 4,
      batchSize: tuning.syncBatchSize ?? MAX_SYNC_BLOCKS,
      onBanned: (nodeId, reason) => this.banned(nodeId, reason),
      process: (block, hash, peer) => this.processOnce(block, hash, { source: 'sync', peer }),
    });
    this.discovery = new Discovery({
      self: opts.self,
      seeds: opts.seeds,
      book: this.book,
      bans: this.bans,
      client: this.client,
      logger: this.logger,
      metrics: this.metrics,
      gossipIntervalMs: opts.gossipIntervalMs,
      joinFanout: opts.joinFanout,
      random: this.random,
      chainSummary: () => ({
        height: this.chain.tip.height,
        chainWork: encodeChainWork(this.chain.tip.chainWork),
      }),
      onPeerChain: (peer, work) => this.considerSync(peer, work),
      compactBlocks: this.compact.enabled,
      onPeerCompact: (nodeId, supports) => this.compact.recordSupport(nodeId, supports),
      tuning,
      clock,
    });
    this.prober = new Prober({
      book: this.book,
      bans: this.bans,
      maxPeers: opts.maxPeers,
      client: this.client,
      metrics: this.metrics,
      logger: this.logger,
      random: this.random,
      handshake: (host) => this.discovery.advertiseTo(host),
      chainWork: () => this.chain.tip.chainWork,
      onPeerChain: (peer, work) => this.considerSync(peer, work),
      onPeerCompact: (nodeId, supports) => this.compact.recordSupport(nodeId, supports),
      tuning: { keepLive: keepLiveFor(opts.relayFanout), ...tuning },
      clock,
    });
  }

  /** Loads the peer book and starts joining and gossiping; never waits for a seed. */
  async start(): Promise<void> {
    await this.book.load();
    this.updateGauges();
    this.discovery.start();
    this.prober.start();
    // Liveness is a matter of time (the live window), not only of events: the gauges follow it.
    this.gaugeTimer = this.clock.setInterval(() => this.updateGauges(), 1000);
    this.gaugeTimer.unref();
  }

  /** Stops timers, aborts requests in flight, lets a running sync step end, flushes peers.json. */
  async stop(): Promise<void> {
    this.discovery.stop();
    this.prober.stop();
    this.clock.clearInterval(this.gaugeTimer);
    this.sync.stop();
    this.relay.stop();
    this.client.close();
    await this.sync.idle();
    await this.book.close();
  }

  get joined(): boolean {
    return this.discovery.joined;
  }

  get syncing(): boolean {
    return this.sync.syncing;
  }

  /** Resolves when the block download in progress, if any, has ended. */
  syncIdle(): Promise<void> {
    return this.sync.idle();
  }

  /** Tried peers (reached by a handshake), live or not. */
  get knownCount(): number {
    return this.book.size;
  }

  /** Addresses only heard of. */
  get untriedCount(): number {
    return this.book.untriedCount;
  }

  get liveCount(): number {
    let count = 0;
    for (const p of this.book.live()) if (!this.bans.isBanned(p.nodeId)) count++;
    return count;
  }

  /**
   * Highest height a live peer reported in answer to our own request (the
   * book stores no volunteered claims), so a claim that is never delivered
   * cannot mark this node as behind (readiness).
   */
  bestPeerHeight(): number | undefined {
    let best: number | undefined;
    for (const p of this.book.live()) {
      if (
        p.height !== undefined &&
        !this.bans.isBanned(p.nodeId) &&
        (best === undefined || p.height > best)
      ) {
        best = p.height;
      }
    }
    return best;
  }

  /**
   * Whether a request claiming to come from `nodeId` may be charged to that
   * peer (ban score, not relaying back to it): the id is in the book and, when
   * its address is an IP literal, the request comes from that IP. A claim that
   * fails this counts as an anonymous request, so nobody can be framed by id.
   */
  isPlausibleSender(nodeId: string, remoteIp: string | undefined): boolean {
    const entry = this.book.get(nodeId);
    if (!entry) return false;
    const host = hostOf(entry.hostname);
    return isIP(host) === 0 || host === remoteIp?.replace(/^::ffff:/, '');
  }

  /**
   * GET /ping from `from` (a plausible sender), with the chain work it claims (HEADER_CHAIN_WORK):
   * alive, unless it claims more work than ours or none. Then our own ping stays due, and its
   * answer (to our request, as sync trusts) tells whether there is a chain to fetch.
   */
  heardPing(from: PeerSender, claimedChainWork: string | undefined): void {
    const claimed = parseChainWorkHeader(claimedChainWork);
    if (claimed !== undefined && claimed <= this.chain.tip.chainWork) this.book.markHeard(from.nodeId);
  }

  /**
   * POST /new_node_advertisement: the join handshake and the gossip exchange.
   * `from` is the sender as the routes believe it (a known peer calling from
   * its address), else undefined. Only a peer this node reached before, at
   * the address it advertises, counts as a contact; anyone else gets the
   * reply all the same, but what it says about itself is hearsay until a dial
   * back to the claimed address answers with that node id. A claim of more
   * chain work is checked the same way: sync trusts only answers to our requests.
   * The peers it names go to the untried table, charged to the sender if it is
   * a tried peer, else to the caller's IP (`remoteIp`), whose share is capped.
   */
  handleAdvertisement(body: AdvertisementBody, from?: PeerSender, remoteIp?: string): AdvertisementReply {
    const { self } = this.opts;
    if (body.network !== self.network) {
      throw new PeerError(
        'peer-wrong-network',
        `this node is on network ${self.network}, not ${body.network}`,
      );
    }
    if (!isHostPort(body.hostname)) throw new PeerError('bad-request', 'hostname must be host:port');
    if (this.book.isSelf(body)) throw new PeerError('peer-self', 'a node does not advertise to itself');
    this.assertNotBanned({ nodeId: body.nodeId });
    this.assertNotBanned(from);
    const sender = from === undefined ? undefined : this.book.get(from.nodeId);
    const source = sender?.tried
      ? `peer:${sender.nodeId}`
      : `ip:${remoteIp?.replace(/^::ffff:/, '') ?? 'unknown'}`;
    for (const p of body.peers ?? []) this.book.learn(p, source);
    // What a peer says of itself counts when it is the one saying it.
    if (from?.nodeId === body.nodeId) this.compact.recordSupport(body.nodeId, body.compactBlocks === true);
    const known = this.book.get(body.nodeId);
    if (from?.nodeId === body.nodeId && known?.tried && known.hostname === body.hostname) {
      this.book.markContact(known);
      this.discovery.markJoined(body.nodeId);
      const claimed = body.chainWork === undefined ? undefined : decodeChainWork(body.chainWork);
      if (claimed !== undefined && claimed > this.chain.tip.chainWork) this.discovery.verify(body.hostname);
    } else {
      this.book.learn({ nodeId: body.nodeId, hostname: body.hostname, lastSeen: this.now() }, source);
      this.discovery.verify(body.hostname);
    }
    const tip = this.chain.tip;
    return {
      accepted: true,
      nodeId: self.nodeId,
      network: self.network,
      hostname: self.hostname,
      height: tip.height,
      tipHash: tip.hash,
      chainWork: encodeChainWork(tip.chainWork),
      ...(this.compact.enabled && { compactBlocks: true }),
      peers: this.book.sample(GOSSIP_SAMPLE, (id) => id === body.nodeId || this.bans.isBanned(id)),
    };
  }

  /**
   * GET /known_node_request: tried peers that answered this node within the
   * share window, most recent first; never an untried address, never self.
   */
  knownNodes(): PeerInfo[] {
    return this.book
      .shared()
      .filter((p) => !this.bans.isBanned(p.nodeId))
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .map(toInfo);
  }

  /** GET /peers: both tables, tried first. */
  peers(): PeerView[] {
    return this.book.list().map((p) => ({
      ...toInfo(p),
      state: this.bans.isBanned(p.nodeId) ? 'banned' : this.book.state(p),
      table: p.tried ? 'tried' : 'untried',
      contacted: p.tried,
      source: p.source,
      lastSuccess: p.lastSuccess === 0 ? null : p.lastSuccess,
      failures: p.failures,
      banScore: this.bans.score(p.nodeId),
      compactBlocks: this.compact.sendsCompactTo(p.nodeId),
      ...(p.height !== undefined && { height: p.height }),
    }));
  }

  /** GET /ping: who answers here, on which network, with which tip. */
  pingReply(): {
    nodeId: string;
    network: string;
    height: number;
    tipHash: string;
    chainWork: string;
    compactBlocks?: true;
  } {
    const tip = this.chain.tip;
    return {
      nodeId: this.opts.self.nodeId,
      network: this.opts.self.network,
      height: tip.height,
      tipHash: tip.hash,
      chainWork: encodeChainWork(tip.chainWork),
      ...(this.compact.enabled && { compactBlocks: true as const }),
    };
  }

  /** Throws PeerError('peer-banned') for a banned sender (routes call this before reading a peer's data). */
  assertNotBanned(from: PeerSender | undefined): void {
    if (from && this.bans.isBanned(from.nodeId)) {
      throw new PeerError('peer-banned', 'this node ignores you for a while (ban score)');
    }
  }

  /**
   * Charges a peer for invalid data the routes caught before it reached this
   * layer (undecodable block or transaction).
   */
  penalize(from: PeerSender | undefined, kind: 'block' | 'tx', code: string): void {
    if (!from) return;
    if (this.bans.misbehaving(from.nodeId, misbehaviourPoints(kind, code))) this.banned(from.nodeId, code);
  }

  /**
   * POST /block (from a peer, or from a user when `from` is absent). A block
   * already seen is answered 'duplicate' without validation; a new valid one
   * is relayed; an orphan triggers a locator sync; an invalid one costs the
   * sender ban points and the ValidationError is rethrown.
   */
  async receiveBlock(
    block: Block,
    from?: PeerSender,
    hints: BlockRelayHints = {},
  ): Promise<ProcessBlockResult> {
    // Only a known peer's word on whom it covered is taken (an anonymous sender's is not).
    const relayedTo = from === undefined ? [] : (hints.relayedTo ?? []);
    this.assertNotBanned(from);
    const hash = blockHashOf(block.header);
    if (this.seenBlocks.has(hash) || this.chain.hasBlock(hash)) return { status: 'duplicate', hash };
    const inflight = this.inflightBlocks.get(hash)?.result;
    // Another copy with this header is being validated; if that copy had a tampered body, ours may still be good.
    if (
      inflight &&
      (await inflight.then(
        () => true,
        () => false,
      ))
    )
      return { status: 'duplicate', hash };
    if (from) this.metrics.blockArrivalDelay.observe(Math.max(0, this.now() / 1000 - block.header.time));
    if (this.isStale(block)) {
      // Storing unrequested low-work branches would let anyone fill every node's disk cheaply.
      this.logger.debug('stale side-branch block ignored', { hash, peer: from?.nodeId });
      return { status: 'stale', hash };
    }
    // Forwarded before validation when its header, proof of work and body commitment hold on our tip.
    const early = from !== undefined && this.relaysEarly(block, from.nodeId);
    if (early) {
      this.relayedEarly.add(hash);
      this.relay.relayBlock(new BlockPayload(hash, block), from.nodeId, undefined, relayedTo);
    }
    let result: ProcessBlockResult;
    try {
      result = await this.processOnce(block, hash, { source: from ? 'peer' : 'api', peer: from?.nodeId });
    } catch (err) {
      // The chain counts and logs the rejection; this layer charges the sender.
      if (isValidationError(err) && from) {
        this.logger.info('invalid block from peer', { hash, code: err.code, peer: from.nodeId, early });
        // Never again forwarded unvalidated from this source: it gets one invalid block past us at most.
        this.earlyRelayRefused.add(from.nodeId);
        this.penalize(from, 'block', err.code);
      }
      throw err;
    }
    if (result.status === 'connected' || result.status === 'side-chain') {
      this.seenBlocks.add(hash);
      // A user's block (no `from`) is pushed to every live peer up to the origin fan-out, as a mined one.
      if (!this.relayedEarly.has(hash))
        this.relay.relayBlock(
          new BlockPayload(hash, block),
          from?.nodeId,
          from ? undefined : ORIGIN_FANOUT,
          relayedTo,
        );
      for (const orphan of result.connectedOrphans ?? []) {
        this.relayStored(orphan, from?.nodeId).catch((err: unknown) =>
          this.logger.warn('relay of a connected orphan failed', { hash: orphan, error: String(err) }),
        );
      }
    } else if (result.status === 'orphan') {
      this.logger.debug('orphan block, syncing', {
        hash,
        missingParent: result.missingParent,
        peer: from?.nodeId,
      });
      const source = from ? this.syncPeerFor(from) : undefined;
      if (source) this.sync.request(source, 'orphan');
      else this.syncFromAnyone();
    }
    return result;
  }

  /**
   * POST /cmpctblock: a compact block (BIP152) rebuilt from the mempool, the
   * transactions it lacks fetched from the sender (getblocktxn), then handled
   * exactly as POST /block handles a full block (early relay, ban scores,
   * full validation before connecting). A header without its proof of work
   * costs the sender as an invalid block does; a short-id collision costs
   * nothing (the whole block is fetched instead); a block that cannot be
   * rebuilt (the sender does not answer) is left to a sync from the sender.
   */
  async receiveCompactBlock(
    c: CompactBlock,
    from?: PeerSender,
    hints: BlockRelayHints = {},
  ): Promise<CompactBlockResult> {
    this.assertNotBanned(from);
    const hash = blockHashOf(c.header);
    if (this.seenBlocks.has(hash) || this.chain.hasBlock(hash) || this.inflightBlocks.has(hash))
      return { status: 'duplicate', hash };
    // Sending one says it speaks compact blocks, whatever the last handshake said.
    if (from && this.compact.enabled) this.compact.recordSupport(from.nodeId, true);
    const sender = from ? this.syncPeerFor(from) : undefined;
    let rebuilt;
    try {
      checkHeaderPow(c.header, this.chain.params);
      rebuilt = await this.compact.rebuild(c, sender);
    } catch (err) {
      if (isValidationError(err)) {
        this.logger.info('invalid compact block from peer', { hash, code: err.code, peer: from?.nodeId });
        this.penalize(from, 'block', err.code);
      }
      throw err;
    }
    if (!rebuilt.block) {
      if (sender) this.sync.request(sender, 'orphan');
      return { status: 'incomplete', hash, outcome: rebuilt.outcome };
    }
    return { ...(await this.receiveBlock(rebuilt.block, from, hints)), outcome: rebuilt.outcome };
  }

  /** POST /getblocktxn: transactions of a block this node announced, for a peer rebuilding it (blocktxn hex). */
  serveBlockTxn(req: BlockTxnRequest, from?: PeerSender): Promise<string> {
    this.assertNotBanned(from);
    return this.compact.serveBlockTxn(req);
  }

  /**
   * A block this node made and already connected: pushed to every live peer
   * up to ORIGIN_FANOUT, so a small cluster has it in one hop; the peers
   * forward it on to `relayFanout` others each, which covers larger ones.
   */
  announceBlock(block: Block): void {
    const hash = blockHashOf(block.header);
    this.seenBlocks.add(hash);
    this.relay.relayBlock(new BlockPayload(hash, block), undefined, ORIGIN_FANOUT);
  }

  /**
   * The cheapest sound check before forwarding a peer's block (BIP152's
   * high-bandwidth mode, gossipsub's validation pipeline): it extends our best
   * tip, its header carries the bits and a time the chain requires there, its
   * proof of work meets them and its body is the one the header commits to
   * (context-free checks, merkle root). Scripts and coins are checked after it
   * left. A source that ever sent an invalid block is not forwarded early again.
   */
  private relaysEarly(block: Block, fromNodeId: string): boolean {
    if (this.earlyRelayRefused.has(fromNodeId)) return false;
    const { header } = block;
    if (toDisplayHex(header.prevHash) !== this.chain.tip.hash || header.version < 1) return false;
    const nowSec = Math.floor(this.now() / 1000);
    const next = this.chain.nextBlockContext(nowSec);
    const params = this.chain.params;
    if (header.bits !== next.bits || header.time < next.minTime) return false;
    if (header.time > nowSec + params.maxFutureBlockTimeSec) return false;
    try {
      checkBlock(block, params);
    } catch {
      return false; // full validation names the fault and charges the sender
    }
    return true;
  }

  /**
   * POST /transactions: each into the mempool, accepted ones relayed (batched
   * per peer). A transaction seen before is answered `txn-already-known`
   * without validation.
   */
  async receiveTransactions(txs: Transaction[], from?: PeerSender): Promise<TxResult[]> {
    this.assertNotBanned(from);
    const source = from ? 'peer' : 'api';
    const results: TxResult[] = [];
    const accepted: Uint8Array[] = [];
    // Per-transaction debug lines: their fields are not even built unless they are written.
    const debug = this.logger.isDebugEnabled();
    await this.relayedBlocksSettled();
    await this.mempool.preverify(txs);
    for (const [i, tx] of txs.entries()) {
      // Admission is synchronous CPU work: let a waiting block or request in between slices of a batch.
      if (i > 0 && i % YIELD_EVERY_TXS === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        await this.relayedBlocksSettled();
      }
      const id = txid(tx);
      if (this.seenTxs.has(id) || this.mempool.has(id)) {
        results.push({ error: 'txn-already-known', message: 'transaction already known' });
        continue;
      }
      try {
        await this.mempool.accept(tx);
      } catch (err) {
        if (!isValidationError(err)) throw err;
        this.metrics.txRejected.inc({ reason: err.code });
        // Per-transaction lines are debug (volume); a peer's provably invalid one is info, bounded by its ban.
        const fields = { txid: id, code: err.code, source, peer: from?.nodeId };
        if (from && misbehaviourPoints('tx', err.code) > 0)
          this.logger.info('invalid transaction from peer', fields);
        else if (debug) this.logger.debug('transaction rejected', fields);
        this.penalize(from, 'tx', err.code);
        results.push({ error: err.code, message: err.message });
        continue;
      }
      this.seenTxs.add(id);
      this.metrics.txAccepted.inc({ source });
      if (debug) this.logger.debug('transaction accepted', { txid: id, source, peer: from?.nodeId });
      accepted.push(encodeTx(tx));
      results.push({ txid: id });
    }
    this.relay.relayTransactions(accepted, from?.nodeId);
    return results;
  }

  /**
   * Under load, transactions and a new block compete for the same cores and
   * script workers; the block goes first, so it is relayed on promptly.
   * Blocks of a catch-up sync do not hold transactions up: a sync can last
   * minutes, and peers would time out their relays to this node.
   */
  private async relayedBlocksSettled(): Promise<void> {
    for (;;) {
      const relayed: Array<Promise<ProcessBlockResult>> = [];
      for (const { result, source } of this.inflightBlocks.values())
        if (source !== 'sync') relayed.push(result);
      if (relayed.length === 0) return;
      await Promise.allSettled(relayed);
    }
  }

  /**
   * A transaction a reorg returned to the mempool (its block left the best
   * chain): relayed again although this node saw it before. The peers that
   * confirmed it along with this node are on the same losing branch; the
   * other side of a split may never have had it, and waiting for it to come
   * back by chance can take forever. Those of one reorg go as one batch, in
   * the mempool's order (parents first).
   */
  announceReorged(tx: Transaction): void {
    this.seenTxs.add(txid(tx));
    this.reorged.add(encodeTx(tx));
  }

  /** POST /sync/blocks: raw best-chain blocks after the locator's fork point, ≤ 500 and ~8 MB. */
  async serveSync(
    locator: string[],
    limit: number,
    from?: PeerSender,
  ): Promise<{ blocks: Uint8Array[]; more: boolean }> {
    this.assertNotBanned(from);
    const n = Math.max(1, Math.min(limit, MAX_SYNC_BLOCKS));
    const hashes = this.chain.getHashesAfterLocator(locator, n);
    const blocks: Uint8Array[] = [];
    let bytes = 0;
    for (const hash of hashes) {
      const raw = await this.chain.getRawBlock(hash);
      if (!raw || (blocks.length > 0 && bytes + raw.length > SYNC_REPLY_MAX_BYTES)) break;
      blocks.push(raw);
      bytes += raw.length;
    }
    const lastSent = hashes[blocks.length - 1];
    return { blocks, more: lastSent !== undefined && lastSent !== this.chain.tip.hash };
  }

  /**
   * One validation per block even when relay and sync deliver it at the same
   * time. The copy that started it counts the new block and logs it once per
   * node: at info at a normal pace, so a block can be followed across the
   * cluster, and inside the block log's summaries during a burst.
   */
  private processOnce(block: Block, hash: string, origin: BlockOrigin): Promise<ProcessBlockResult> {
    const inflight = this.inflightBlocks.get(hash);
    if (inflight) return inflight.result;
    const pending = this.chain.processBlock(block).finally(() => this.inflightBlocks.delete(hash));
    this.inflightBlocks.set(hash, { result: pending, source: origin.source });
    pending.then(
      (result) => {
        if (result.status !== 'connected' && result.status !== 'side-chain') return;
        this.metrics.blocksAccepted.inc({ source: origin.source });
        this.blockLog.accepted({ hash, height: result.height, status: result.status, ...origin });
      },
      () => undefined, // rejections are counted and logged by the chain, and charged by the caller
    );
    return pending;
  }

  /** A block on a known parent whose branch would still have less work than our tip. */
  private isStale(block: Block): boolean {
    const parent = this.chain.getEntry(toDisplayHex(block.header.prevHash));
    if (!parent) return false;
    let work: bigint;
    try {
      work = workForBits(block.header.bits);
    } catch {
      return false; // bad bits: let the chain reject it with its reason
    }
    return parent.chainWork + work < this.chain.tip.chainWork;
  }

  private considerSync(peer: { nodeId: string; hostname: string }, work: bigint): void {
    // A relayed block being validated is usually what the peer's extra work is: downloading it
    // again would compete with its validation, so the work is compared once it is settled.
    void this.relayedBlocksSettled().then(() => {
      if (work > this.chain.tip.chainWork) this.sync.request(peer, 'more-work');
    });
  }

  /** Only tried peers: a sender's self-declared address is never dialled. */
  private syncPeerFor(from: PeerSender): { nodeId: string; hostname: string } | undefined {
    const entry = this.book.get(from.nodeId);
    return entry?.tried !== true ? undefined : { nodeId: from.nodeId, hostname: entry.hostname };
  }

  private syncFromAnyone(): void {
    const [peer] = pick(
      this.book.live().filter((p) => !this.bans.isBanned(p.nodeId)),
      1,
      this.random,
    );
    if (peer) this.sync.request(peer, 'orphan');
  }

  private async relayStored(hash: string, exceptNodeId: string | undefined): Promise<void> {
    if (!this.seenBlocks.add(hash)) return;
    const raw = await this.chain.getRawBlock(hash);
    if (raw) this.relay.relayBlock(new BlockPayload(hash, raw), exceptNodeId);
  }

  private banned(nodeId: string, reason: string): void {
    this.metrics.peersBanned.inc();
    this.logger.warn('peer banned', { peer: nodeId, reason, hostname: this.book.get(nodeId)?.hostname });
    this.updateGauges();
  }

  private updateGauges(): void {
    const tried = this.book.size;
    const untried = this.book.untriedCount;
    this.metrics.peersKnown.set(tried + untried);
    this.metrics.peersTried.set(tried);
    this.metrics.peersUntried.set(untried);
    this.metrics.peersLive.set(this.liveCount);
  }
}

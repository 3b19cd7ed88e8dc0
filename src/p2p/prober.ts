import type { Logger, Metrics } from '../obs/index.js';
import type { BanList } from './ban.js';
import { wallClock, type Clock, type ClockTimer } from './clock.js';
import { PeerRequestError } from './peer-client.js';
import type { PeerTransport } from './transport.js';
import type { PeerBook, PeerEntry } from './peer-book.js';
import { decodeChainWork, encodeChainWork, type AdvertisementReply } from './wire.js';

export interface ProberTuning {
  /** How often the prober looks for work while there are untried addresses to feel out. */
  probeTickMs: number;
  /**
   * How often it looks when the last look found none: pings fall due on a scale of seconds
   * (pingQuietMs), so an idle node need not wake ten times a second to find nothing to do.
   */
  idleProbeTickMs: number;
  /**
   * A tried peer with no successful request for this long is pinged. 5 s: the ping then starts
   * within idleProbeTickMs (1 s) and is answered within the peer timeout (3 s) or fails, so a
   * live peer that answers is heard from again within 9 s, inside the live window (10 s); a
   * dead one leaves the live set when that window ends, whatever this interval. At 3 s an idle
   * node sent ~40% more pings for the same liveness (32 kept-live peers: ~9 a second).
   */
  pingQuietMs: number;
  /**
   * How much longer the side of a pair that does not ping first (PeerBook.pingsFirst) waits: more
   * than a tick, so that the other side's ping, which keeps both live, arrives first; 5 s + 1.5 s
   * and a tick is still well inside the live window.
   */
  pingYieldMs: number;
  maxPingsInFlight: number;
  /** Feelers (probes of untried addresses) at once; one anonymous-sourced one starts per tick at most. */
  maxFeelersInFlight: number;
  /**
   * While the tried table is full and every tried peer is live, one feeler at most this often
   * (Bitcoin Core's feeler interval): a success there only replaces a good peer, so feeling
   * out the untried table every tick would churn the book and load the network for nothing.
   */
  fullBookFeelerMs: number;
  /**
   * Tried peers kept live by pings (PeerBook.keptLive); the rest are pinged only in backoff,
   * and feelers stop while this many tried peers are not failing. The relay fans out to live
   * peers: so it has no default here, P2P sets it to keepLiveFor(relay fan-out), at least 24
   * (one-hop clusters of 25).
   */
  keepLive: number;
}

export const DEFAULT_PROBER_TUNING: Omit<ProberTuning, 'keepLive'> = {
  probeTickMs: 100,
  idleProbeTickMs: 1_000,
  pingQuietMs: 5_000,
  pingYieldMs: 1_500,
  maxPingsInFlight: 16,
  maxFeelersInFlight: 4,
  fullBookFeelerMs: 120_000,
};

/**
 * The two kinds of outgoing probe, both on one clock so that nothing a peer
 * sends can make this node dial faster:
 *
 * - feelers (Bitcoin Core's name): an untried address gets a handshake; if the
 *   answer is on our network it becomes tried. At most one feeler starts per
 *   tick and `maxFeelersInFlight` run at once, whatever the untried table holds,
 *   except that addresses vouched for (by the seed, the saved book or a tried
 *   peer) fill every free slot. Those go first, so a flood of anonymous
 *   advertisements cannot push real peers to the back of the queue. None start
 *   while `keepLive` tried peers are not failing; once a tried table smaller
 *   than that is full of live peers, one feeler per `fullBookFeelerMs`.
 * - pings: a tried peer kept live (at most `keepLive` of them) with no
 *   successful request for `pingQuietMs` gets a GET /ping; its failures take
 *   it out of the live set, its answers bring it
 *   back (a paused or restarted node is re-admitted on its first answer).
 */
export class Prober {
  private timer: ClockTimer | undefined;
  private running = false;
  private readonly pinging = new Set<string>();
  /** Hosts a feeler is out to (so a slow one is not felt twice at once). */
  private readonly feeling = new Set<string>();
  private lastFeelerAt = -Infinity;
  private readonly tuning: ProberTuning;
  private readonly clock: Clock;

  constructor(
    private readonly opts: {
      book: PeerBook;
      bans: BanList;
      /** The tried table's size limit (P2POptions.maxPeers). */
      maxPeers: number;
      client: PeerTransport;
      metrics: Metrics;
      logger: Logger;
      random: () => number;
      /** The advertisement handshake (it records the outcome in the book). */
      handshake: (host: string) => Promise<AdvertisementReply | undefined>;
      /** This node's chain work: a ping carries it (HEADER_CHAIN_WORK). */
      chainWork: () => bigint;
      /** A peer answered a ping with its chain work (sync decides whether it matters). */
      onPeerChain: (peer: { nodeId: string; hostname: string }, chainWork: bigint) => void;
      /** Whether a peer that answered a ping takes compact blocks. */
      onPeerCompact: (nodeId: string, supports: boolean) => void;
      tuning: Partial<ProberTuning> & Pick<ProberTuning, 'keepLive'>;
      clock?: Clock;
    },
  ) {
    this.clock = opts.clock ?? wallClock;
    this.tuning = { ...DEFAULT_PROBER_TUNING, ...opts.tuning };
  }

  start(): void {
    this.running = true;
    this.schedule(this.tuning.probeTickMs);
  }

  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      const busy = this.tick();
      if (this.running) this.schedule(busy ? this.tuning.probeTickMs : this.tuning.idleProbeTickMs);
    }, ms);
    this.timer.unref();
  }

  /** Starts the pings and the feeler due now; true if a feeler started (more may be waiting). */
  tick(): boolean {
    const { book, bans } = this.opts;
    // Once per tick: it ranks the tried table (starting pings changes nothing it depends on).
    const kept = book.keptLive(this.tuning.keepLive);
    for (const peer of book.duePing(this.tuning.pingQuietMs, kept, this.tuning.pingYieldMs)) {
      if (this.pinging.size >= this.tuning.maxPingsInFlight) break;
      if (this.pinging.has(peer.nodeId) || bans.isBanned(peer.nodeId)) continue;
      void this.ping(peer);
    }
    // Enough peers to keep live: untried addresses wait (they age out) until one fails.
    if (kept.length >= this.tuning.keepLive) return false;
    if (this.feeling.size >= this.tuning.maxFeelersInFlight) return true; // work in flight: look again soon
    if (this.bookFullOfLivePeers() && this.clock.now() < this.lastFeelerAt + this.tuning.fullBookFeelerMs)
      return false;
    let started = false;
    while (this.feeling.size < this.tuning.maxFeelersInFlight) {
      const next = this.nextFeeler();
      if (!next) break;
      this.lastFeelerAt = this.clock.now();
      void this.feel(next.target);
      started = true;
      // Addresses someone we trust vouched for fill every free slot: that is how a joining node
      // reaches the network's peers within a second. Anonymous ones start one per tick.
      if (!next.vouched) break;
    }
    return started;
  }

  private bookFullOfLivePeers(): boolean {
    const { book } = this.opts;
    const tried = book.tried();
    return tried.length >= this.opts.maxPeers && tried.every((e) => book.state(e) === 'live');
  }

  /**
   * A random probeable untried address no feeler is out to, preferring those vouched for (from a
   * seed, peers.json or a tried peer's sample). One pass over the untried table, each source
   * looked up once: this runs on every tick while addresses wait, and a full table holds hundreds.
   */
  private nextFeeler(): { target: PeerEntry; vouched: boolean } | undefined {
    const { book, bans } = this.opts;
    const candidates: PeerEntry[] = [];
    const vouched: PeerEntry[] = [];
    const vouchedSources = new Map<string, boolean>();
    for (const e of book.probeable()) {
      if (bans.isBanned(e.nodeId) || this.feeling.has(e.hostname)) continue;
      candidates.push(e);
      let ok = vouchedSources.get(e.source);
      if (ok === undefined) {
        ok =
          e.source === 'seed' ||
          e.source === 'persisted' ||
          (e.source.startsWith('peer:') && book.get(e.source.slice(5))?.tried === true);
        vouchedSources.set(e.source, ok);
      }
      if (ok) vouched.push(e);
    }
    const pool = vouched.length > 0 ? vouched : candidates;
    if (pool.length === 0) return undefined;
    return { target: pool[Math.floor(this.opts.random() * pool.length)]!, vouched: vouched.length > 0 };
  }

  private async feel(target: PeerEntry): Promise<void> {
    this.feeling.add(target.hostname);
    try {
      const reply = await this.opts.handshake(target.hostname);
      this.opts.metrics.peerProbes.inc({ kind: 'feeler', result: reply ? 'ok' : 'failed' });
    } catch (err) {
      this.opts.logger.warn('feeler failed', { hostname: target.hostname, error: String(err) });
    } finally {
      this.feeling.delete(target.hostname);
    }
  }

  private async ping(peer: PeerEntry): Promise<void> {
    const { book, client, metrics } = this.opts;
    const { nodeId, hostname } = peer;
    this.pinging.add(nodeId);
    try {
      const reply = await client.ping(hostname, encodeChainWork(this.opts.chainWork()));
      metrics.peerProbes.inc({ kind: 'ping', result: 'ok' });
      const chain = {
        height: reply.height,
        chainWork: decodeChainWork(reply.chainWork),
        tipHash: reply.tipHash,
      };
      // Another node answers at this address now: it takes the address (a handshake on our network).
      const answered = { nodeId: reply.nodeId, hostname };
      if (reply.nodeId !== nodeId) this.opts.logger.info('address answered by another node id', { hostname });
      if (book.get(nodeId)?.hostname !== hostname && reply.nodeId === nodeId) return; // re-addressed meanwhile
      const wasLive = book.get(reply.nodeId) !== undefined && book.state(book.get(reply.nodeId)!) === 'live';
      book.markContact(answered, chain);
      this.opts.onPeerCompact(reply.nodeId, reply.compactBlocks === true);
      if (!wasLive) this.opts.logger.info('peer answers again', { peer: reply.nodeId, hostname });
      this.opts.onPeerChain(answered, chain.chainWork);
    } catch (err) {
      metrics.peerProbes.inc({ kind: 'ping', result: 'failed' });
      const e = err instanceof PeerRequestError ? err : undefined;
      if (e?.reason === 'wrong-network') book.remove(nodeId, 'wrong network');
      // Only liveness counts: a refusal (ban, an older node without /ping) says the peer is up.
      else if (e?.isLiveness === true && book.get(nodeId)?.hostname === hostname)
        book.recordFailure(nodeId, e.reason);
    } finally {
      this.pinging.delete(nodeId);
    }
  }
}

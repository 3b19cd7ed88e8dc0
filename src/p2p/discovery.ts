import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger, Metrics } from '../obs/index.js';
import type { BanList } from './ban.js';
import { wallClock, type Clock, type ClockTimer } from './clock.js';
import { PeerRequestError } from './peer-client.js';
import type { PeerTransport } from './transport.js';
import { pick, type PeerBook } from './peer-book.js';
import { decodeChainWork, type AdvertisementBody, type AdvertisementReply } from './wire.js';

/** Peers carried by one advertisement or its reply. */
export const GOSSIP_SAMPLE = 24;

const MAX_GOSSIP_IN_FLIGHT = 4;
/** Dial-backs of claimed addresses at once: strangers' advertisements must not make this node dial without bound. */
const MAX_VERIFY_IN_FLIGHT = 8;
/** Dial-backs started per second (token bucket): a flood of advertisements gets this many answers checked, no more. */
const VERIFY_PER_SECOND = 20;
const VERIFY_BURST = 20;

export interface DiscoveryTuning {
  joinRetryBaseMs: number;
  joinRetryMaxMs: number;
}

export const DEFAULT_DISCOVERY_TUNING: DiscoveryTuning = { joinRetryBaseMs: 1_000, joinRetryMaxMs: 30_000 };

/**
 * Join and gossip, the tutorial's advertisement / known-nodes protocol made to
 * scale. Join: advertise to the seeds (a DNS name may give several), ask them
 * for known nodes, then probe at most `joinFanout` of the peers learned — never
 * every node. With no seed answering, the persisted peers are tried instead,
 * and the seeds are retried with capped exponential backoff in the background.
 * Gossip: every interval, one advertisement exchange (a sample of shared tried
 * peers each way) with one random live peer. What a sample names goes to the
 * untried table; the prober promotes it.
 */
export class Discovery {
  private joinedFlag = false;
  private stopped = false;
  private joining: Promise<void> | undefined;
  private gossipTimer: ClockTimer | undefined;
  private roundsInFlight = 0;
  private wake: (() => void) | undefined;
  /** Addresses that turned out to be this node (a seed list naming itself). */
  private readonly selfHosts = new Set<string>();
  /** Addresses with an advertisement of ours in flight. */
  private readonly dialing = new Set<string>();
  private verifying = 0;
  /** Seed names that do not resolve, with their DNS error: logged when a name starts failing or fails differently. */
  private readonly unresolvedSeeds = new Map<string, string>();
  private verifyTokens = VERIFY_BURST;
  private verifyRefilledAt: number;
  private readonly tuning: DiscoveryTuning;
  private readonly clock: Clock;

  constructor(
    private readonly opts: {
      self: { nodeId: string; hostname: string; network: string };
      seeds: string[];
      book: PeerBook;
      bans: BanList;
      client: PeerTransport;
      logger: Logger;
      metrics: Metrics;
      gossipIntervalMs: number;
      joinFanout: number;
      random: () => number;
      chainSummary: () => { height: number; chainWork: string };
      /** A peer answered our advertisement with its chain work (sync decides whether it matters). */
      onPeerChain: (peer: { nodeId: string; hostname: string }, chainWork: bigint) => void;
      /** This node takes compact blocks: its advertisements say so. */
      compactBlocks: boolean;
      /** Whether a peer that answered our advertisement takes compact blocks. */
      onPeerCompact: (nodeId: string, supports: boolean) => void;
      tuning?: Partial<DiscoveryTuning>;
      clock?: Clock;
    },
  ) {
    this.clock = opts.clock ?? wallClock;
    this.verifyRefilledAt = this.clock.now();
    this.tuning = { ...DEFAULT_DISCOVERY_TUNING, ...opts.tuning };
  }

  /** At least one handshake succeeded (either direction), or there is nobody to join. */
  get joined(): boolean {
    return this.joinedFlag;
  }

  markJoined(via?: string): void {
    if (this.joinedFlag) return;
    this.joinedFlag = true;
    this.opts.logger.info('joined network', { via, peers: this.opts.book.size });
  }

  start(): void {
    if (this.opts.seeds.length === 0) this.markJoined('alone by design');
    this.startJoining();
    this.scheduleGossip();
  }

  private startJoining(): void {
    this.joining ??= this.joinLoop()
      .catch((err: unknown) => void this.opts.logger.error('join failed', { error: String(err) }))
      .finally(() => (this.joining = undefined));
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.gossipTimer);
    this.wake?.();
  }

  /** What this node says about itself (and a sample of its peers) in an advertisement. */
  advertisement(excludeNodeId?: string): AdvertisementBody {
    const { self, book } = this.opts;
    const chain = this.opts.chainSummary();
    return {
      hostname: self.hostname,
      nodeId: self.nodeId,
      network: self.network,
      height: chain.height,
      chainWork: chain.chainWork,
      ...(this.opts.compactBlocks && { compactBlocks: true }),
      // Not the receiver itself, nor anyone banned here.
      peers: book.sample(GOSSIP_SAMPLE, (id) => id === excludeNodeId || this.opts.bans.isBanned(id)),
    };
  }

  /** One gossip round: an advertisement exchange with one random live peer (tried peers only). */
  async gossipOnce(): Promise<void> {
    const { book, bans, metrics } = this.opts;
    metrics.gossipRounds.inc();
    book.pruneStale();
    const [peer] = pick(
      book.live().filter((p) => !bans.isBanned(p.nodeId)),
      1,
      this.opts.random,
    );
    if (peer) await this.advertiseTo(peer.hostname);
    // Everyone we reached is gone (or silent): start over from the seeds (with backoff).
    else if (this.opts.seeds.length > 0 && book.tried().length === 0) this.startJoining();
  }

  private scheduleGossip(): void {
    if (this.stopped) return;
    const interval = this.opts.gossipIntervalMs * (0.8 + 0.4 * this.opts.random());
    this.gossipTimer = this.clock.setTimeout(() => {
      // Rounds overlap (up to a bound) so that a peer that never answers delays nothing.
      if (this.roundsInFlight < MAX_GOSSIP_IN_FLIGHT) {
        this.roundsInFlight++;
        this.gossipOnce()
          .catch((err: unknown) => this.opts.logger.warn('gossip round failed', { error: String(err) }))
          .finally(() => this.roundsInFlight--);
      }
      this.scheduleGossip();
    }, interval);
  }

  private async joinLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      const ok = await this.joinOnce();
      if (ok) this.markJoined('handshake');
      // Done when a handshake succeeded, when there is no seed to retry (only
      // remembered peers, which gossip keeps trying), or when peers found us meanwhile.
      if (ok || this.stopped || this.opts.seeds.length === 0) return;
      if (this.joinedFlag && this.opts.book.tried().length > 0) return;
      const { joinRetryBaseMs, joinRetryMaxMs } = this.tuning;
      const delay =
        Math.min(joinRetryBaseMs * 2 ** attempt, joinRetryMaxMs) * (0.75 + 0.5 * this.opts.random());
      this.opts.logger.info('no seed or known peer answered, retrying', {
        seeds: this.opts.seeds.join(','),
        attempt: attempt + 1,
        inMs: Math.round(delay),
      });
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, delay);
        this.wake = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async joinOnce(): Promise<boolean> {
    const { book, bans, client } = this.opts;
    const resolved = await resolveSeeds(this.opts.seeds, this.opts.logger, this.unresolvedSeeds);
    const seeds = resolved.filter((s) => s !== this.opts.self.hostname && !this.selfHosts.has(s));
    if (resolved.length > 0 && seeds.length === 0) {
      this.markJoined('this node is its own seed');
      return true;
    }
    const seedReplies = await Promise.all(
      seeds.map(async (seed) => {
        const reply = await this.advertiseTo(seed);
        if (reply) {
          const known = await client.knownNodes(seed).catch(() => []);
          for (const p of known) book.learn(p, `peer:${reply.nodeId}`);
        }
        return reply;
      }),
    );
    const seedAnswered = seedReplies.some(Boolean);
    // Probe a bounded number of peers: addresses the seed passed on after it answered,
    // otherwise the peers reached in the last run (the prober feels out the rest).
    const candidates = (seedAnswered ? book.probeable() : book.tried()).filter(
      (p) => !bans.isBanned(p.nodeId),
    );
    const probes = pick(candidates, this.opts.joinFanout, this.opts.random);
    const probeReplies = await Promise.all(probes.map((p) => this.advertiseTo(p.hostname)));
    return seedAnswered || probeReplies.some(Boolean);
  }

  /**
   * Checks a claim (an address someone advertised, or more chain work) by
   * advertising there ourselves: only the reply adds, moves or updates a peer.
   * One claim costs at most one dial, and dials are rate-limited and bounded in
   * flight: skipped while that address is being dialled anyway or the budget is
   * spent (an untried claim is then left to the prober's feelers).
   */
  verify(host: string): void {
    if (this.stopped || this.dialing.has(host) || this.verifying >= MAX_VERIFY_IN_FLIGHT) return;
    const now = this.clock.now();
    this.verifyTokens = Math.min(
      VERIFY_BURST,
      this.verifyTokens + ((now - this.verifyRefilledAt) / 1000) * VERIFY_PER_SECOND,
    );
    this.verifyRefilledAt = now;
    if (this.verifyTokens < 1) return;
    this.verifyTokens--;
    this.verifying++;
    this.advertiseTo(host)
      .then((reply) => this.opts.metrics.peerProbes.inc({ kind: 'verify', result: reply ? 'ok' : 'failed' }))
      .catch((err: unknown) =>
        this.opts.logger.warn('dial-back failed', { hostname: host, error: String(err) }),
      )
      .finally(() => this.verifying--);
  }

  /** The advertisement handshake; updates the book either way. */
  async advertiseTo(host: string): Promise<AdvertisementReply | undefined> {
    this.dialing.add(host);
    try {
      return await this.handshake(host);
    } finally {
      this.dialing.delete(host);
    }
  }

  private async handshake(host: string): Promise<AdvertisementReply | undefined> {
    const { book, logger } = this.opts;
    const known = book.getByHost(host);
    let reply: AdvertisementReply;
    try {
      reply = await this.opts.client.advertise(host, this.advertisement(known?.nodeId));
    } catch (err) {
      if (this.stopped) return undefined;
      const e = err instanceof PeerRequestError ? err : undefined;
      if (e?.reason === 'wrong-network') {
        logger.warn('peer on another network refused', { hostname: host });
        if (known) book.remove(known.nodeId, 'wrong network');
      } else if (e?.code === 'peer-self') {
        this.selfHosts.add(host);
        if (known) book.remove(known.nodeId, 'is this node');
      } else if (known && e?.code !== 'peer-banned') {
        book.recordFailure(known.nodeId, e?.reason);
      }
      logger.debug('advertisement failed', {
        hostname: host,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
    if (reply.nodeId === this.opts.self.nodeId) {
      this.selfHosts.add(host);
      return undefined;
    }
    // The peer lives where it answered: an address it merely names in its reply is a claim like any other.
    const peer = { nodeId: reply.nodeId, hostname: host };
    const chainWork = decodeChainWork(reply.chainWork);
    if (!book.get(peer.nodeId)?.tried)
      logger.info('peer joined', { peer: peer.nodeId, hostname: host, height: reply.height });
    book.markContact(peer, { height: reply.height, chainWork, tipHash: reply.tipHash });
    for (const p of reply.peers) book.learn(p, `peer:${peer.nodeId}`);
    this.opts.onPeerCompact(peer.nodeId, reply.compactBlocks === true);
    this.markJoined(reply.nodeId);
    this.opts.onPeerChain(peer, chainWork);
    return reply;
  }
}

/**
 * `host:port` seeds to addresses: a name with several A/AAAA records (a
 * headless Service, a scaled compose service) yields one seed per address.
 * A name that does not resolve is a warning naming the seed and the DNS error
 * (a typo in SEED_HOSTS, a seed service not up yet), once per distinct error
 * in `unresolved`, not once per retry.
 */
export async function resolveSeeds(
  seeds: string[],
  logger: Logger,
  unresolved = new Map<string, string>(),
): Promise<string[]> {
  const out = new Set<string>();
  await Promise.all(
    seeds.map(async (seed) => {
      const colon = seed.lastIndexOf(':');
      const host = seed.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      const port = seed.slice(colon + 1);
      if (isIP(host) !== 0) {
        out.add(seed);
        return;
      }
      try {
        const addresses = await lookup(host, { all: true });
        for (const a of addresses) {
          out.add(a.family === 6 ? `[${a.address}]:${port}` : `${a.address}:${port}`);
        }
        if (unresolved.delete(seed)) logger.info('seed name resolves', { seed, addresses: addresses.length });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (unresolved.get(seed) !== error) logger.warn('seed name does not resolve', { seed, error });
        unresolved.set(seed, error);
      }
    }),
  );
  return [...out];
}

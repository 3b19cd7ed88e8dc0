import { isIP } from 'node:net';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../obs/index.js';
import { wallClock, type Clock, type ClockTimer } from './clock.js';
import { hostOf, isHostPort, peerInfoSchema, type PeerInfo } from './wire.js';

/**
 * live: tried and answered within `liveWindowMs`; stale: tried but silent for
 * longer (a paused or slow peer, still pinged); backoff: tried and failing;
 * untried: only heard of.
 */
export type PeerState = 'live' | 'stale' | 'backoff' | 'untried';

export type PeerTable = 'tried' | 'untried';

export interface PeerEntry {
  nodeId: string;
  hostname: string;
  /** tried: a handshake on our network with this node id at this address succeeded. */
  tried: boolean;
  /**
   * Who told us about it: `peer:<nodeId>` (a tried peer's sample), `ip:<address>`
   * (an advertisement from a caller we cannot identify), `seed`, `persisted`, `dialled`.
   */
  source: string;
  /**
   * On the wire: for a tried peer our last contact (its answer, or its ping: markHeard), for an
   * untried one the reported one (never later than now).
   */
  lastSeen: number;
  /** Our last successful request to it, unix ms (0: none yet in this run, e.g. loaded from disk). */
  lastSuccess: number;
  /**
   * Its last ping to us that counts for liveness (markHeard), unix ms; 0 after a request of ours
   * to it failed, until one succeeds again. Never persisted.
   */
  lastHeard: number;
  /** Our last failed request to it, unix ms (0: none in this run). */
  lastFailure: number;
  /** Consecutive failed requests (or failed probes of an untried address). */
  failures: number;
  /** No request before this time (unix ms). */
  retryAt: number;
  /** When it entered its current table (unix ms): the age of a tried peer protects it from eviction. */
  addedAt: number;
  /** Chain info as the peer answered a request of ours; what it volunteers is never stored (sync trusts these). */
  height?: number;
  chainWork?: bigint;
  tipHash?: string;
}

export interface PeerBookTuning {
  /** Consecutive failures that put a tried peer in backoff (and out of the live set at once). */
  failuresBeforeBackoff: number;
  /** Consecutive failures after which a tried peer silent for `dropAfterMs` leaves the book. */
  failuresBeforeDrop: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Retry cap for a peer that answered within the last minute: a paused node is re-admitted promptly. */
  recentBackoffMaxMs: number;
  saveDebounceMs: number;
  /**
   * A change that only refreshes when a tried peer was last heard from (every answered ping:
   * a few a second) is saved within this long, not within saveDebounceMs: a node kept 32
   * peers live and wrote and fsynced peers.json twice a second for timestamps that matter
   * only at the scale of dropAfterMs.
   */
  lastSeenSaveMs: number;
  /** A failing tried peer not heard from for this long is dropped. */
  dropAfterMs: number;
  /** A tried peer is live while its last success is at most this old. */
  liveWindowMs: number;
  /** A tried peer is shared (known_node_request, gossip samples) while its last success is at most this old. */
  shareWindowMs: number;
  /** Failed probes after which an untried address is forgotten. */
  untriedMaxFailures: number;
  /** An untried address not promoted within this time is forgotten. */
  untriedMaxAgeMs: number;
  /** Bounds of the untried table: in all, per source, per address group (see addressGroup). */
  maxUntried: number;
  maxUntriedPerSource: number;
  maxUntriedPerGroup: number;
}

export const DEFAULT_PEER_BOOK_TUNING: PeerBookTuning = {
  failuresBeforeBackoff: 3,
  failuresBeforeDrop: 8,
  backoffBaseMs: 2_000,
  backoffMaxMs: 5 * 60_000,
  recentBackoffMaxMs: 5_000,
  saveDebounceMs: 500,
  lastSeenSaveMs: 60_000,
  dropAfterMs: 15 * 60_000,
  liveWindowMs: 10_000,
  shareWindowMs: 30_000,
  untriedMaxFailures: 3,
  untriedMaxAgeMs: 10 * 60_000,
  maxUntried: 256,
  maxUntriedPerSource: 32,
  maxUntriedPerGroup: 16,
};

export const PEERS_FILE = 'peers.json';
const MAX_TOMBSTONES = 4096;
const RECENT_MS = 60_000;

/** The last time a tried peer was known alive: it answered us, or it pinged us (markHeard). */
const lastContact = (e: PeerEntry): number => Math.max(e.lastSuccess, e.lastHeard);
/** While peers.json cannot be written, one summary line this often (not one per save attempt). */
const SAVE_FAILURE_SUMMARY_MS = 5 * 60_000;

const peersFileSchema = z.object({
  version: z.literal(1),
  peers: z
    .array(
      peerInfoSchema.extend({
        failures: z.number().int().nonnegative().optional(),
        /** Absent in files of earlier versions: such entries are only heard of until a handshake. */
        tried: z.boolean().optional(),
        addedAt: z.number().int().nonnegative().optional(),
      }),
    )
    .max(100_000),
});

/**
 * The group an address counts against for the untried table's subnet cap: an
 * IPv4 /24, an IPv6 /48, or the name itself. Loopback is exempt (undefined):
 * every node of a test or a single-host cluster lives on 127.0.0.1 with its
 * own port, so a loopback "subnet" would be the whole cluster; the per-source
 * and total caps still bound what any one advertiser adds there.
 */
export function addressGroup(hostname: string): string | undefined {
  const host = hostOf(hostname);
  const family = isIP(host);
  if (family === 4) {
    if (host.startsWith('127.')) return undefined;
    return host.slice(0, host.lastIndexOf('.')); // the /24: the first three of the four parts
  }
  if (family === 6) {
    const lower = host.toLowerCase();
    if (lower === '::1') return undefined;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return addressGroup(`${mapped[1]}:0`);
    return expandIpv6(lower).slice(0, 3).join(':');
  }
  return host === 'localhost' ? undefined : host.toLowerCase();
}

function expandIpv6(host: string): string[] {
  const [head = '', tail] = host.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...(tail === undefined ? [] : zeros), ...right];
}

/**
 * The peers this node knows, after Bitcoin Core's address manager: two tables,
 * keyed by node id, one entry per address, never holding the node itself,
 * persisted atomically to `peers.json`.
 *
 * - untried: addresses heard of (advertisements, gossip samples, known-node
 *   lists). Never a relay, sync or gossip target, never shared onward. Bounded
 *   in all, per source and per address group, so one advertiser or one /24
 *   cannot fill it; a full source or group replaces its own oldest entry.
 * - tried: a handshake on our network answered with this node id at this
 *   address. Only tried peers are relayed to, synced from, gossiped with and
 *   shared, and only while they keep answering (live / share windows).
 *
 * Direct contact is the truth about where a node lives: hearsay never moves,
 * refreshes or evicts a tried peer. A dropped peer is remembered (tombstone)
 * so stale hearsay does not bring it back.
 */
export class PeerBook {
  private readonly byId = new Map<string, PeerEntry>();
  private readonly byHost = new Map<string, string>();
  private readonly tombstones = new Map<string, number>();
  private readonly tuning: PeerBookTuning;
  private saveTimer: ClockTimer | undefined;
  /** The pending save is a lastSeen refresh (lastSeenSaveMs): a real change brings it forward. */
  private saveTimerIsSlow = false;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  private readonly clock: Clock;
  /** Saves are failing (a full disk): since when, how many, when last summarised. */
  private saveFailing: { since: number; failures: number; summarisedAt: number } | undefined;
  /**
   * The tables by kind, kept as entries come and go, so that a learn (dozens per gossip message)
   * checks the untried caps and finds the entry to replace without scanning the table, and the
   * tried table's scans (live, shared, kept live: several per request) cover its ≤ maxPeers
   * entries, not the untried ones as well: tried entries (in the order they became tried),
   * untried ones in all and per source (in the book's order, the order they were made), the
   * count of untried entries per address group, and the group each was counted under. (Not a
   * set per group: most untried addresses are alone in their /24, a set each cost more than a
   * scan of the untried table when a group is full.)
   */
  private readonly triedSet = new Set<PeerEntry>();
  private readonly untriedSet = new Set<PeerEntry>();
  private readonly untriedBySource = new Map<string, Set<PeerEntry>>();
  private readonly untriedPerGroup = new Map<string, number>();
  // A Map, not a WeakMap: entries leave it when they leave the untried table, and weak maps of
  // millions of entries (a simulator's books) made every full garbage collection slower.
  private readonly groups = new Map<PeerEntry, string | undefined>();
  /**
   * Untried entries were made in order of their addedAt (the book's order is then their age
   * order, and the oldest of a kind is the first of its set): true unless the clock went back
   * or peers.json brought untried entries with their own ages, which fall back to a scan of the set.
   */
  private untriedByAge = true;
  private lastCreatedAt = -Infinity;

  constructor(
    private readonly opts: {
      self: { nodeId: string; hostname: string };
      /** Size of the tried table. */
      maxPeers: number;
      dataDir?: string;
      now: () => number;
      random: () => number;
      logger: Logger;
      tuning?: Partial<PeerBookTuning>;
      onChange?: () => void;
      /** An entry left a full table to make room. */
      onEvicted?: (table: PeerTable) => void;
      /** Timers (the save debounce); `now` stays the book's time source. */
      clock?: Clock;
    },
  ) {
    this.clock = opts.clock ?? wallClock;
    this.tuning = { ...DEFAULT_PEER_BOOK_TUNING, ...opts.tuning };
  }

  /** Tried peers. */
  get size(): number {
    return this.triedSet.size;
  }

  get untriedCount(): number {
    return this.byId.size - this.size;
  }

  get(nodeId: string): PeerEntry | undefined {
    return this.byId.get(nodeId);
  }

  getByHost(hostname: string): PeerEntry | undefined {
    const id = this.byHost.get(hostname);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Never stored: the node itself, and addresses no one could dial. */
  private refuses(p: { nodeId: string; hostname: string }): boolean {
    return this.isSelf(p) || !isHostPort(p.hostname);
  }

  isSelf(p: { nodeId?: string; hostname?: string }): boolean {
    return p.nodeId === this.opts.self.nodeId || p.hostname === this.opts.self.hostname;
  }

  state(e: PeerEntry): PeerState {
    if (!e.tried) return 'untried';
    if (e.failures >= this.tuning.failuresBeforeBackoff) return 'backoff';
    return lastContact(e) >= this.opts.now() - this.tuning.liveWindowMs ? 'live' : 'stale';
  }

  entries(): PeerEntry[] {
    return [...this.byId.values()];
  }

  tried(): PeerEntry[] {
    return [...this.triedSet];
  }

  untried(): PeerEntry[] {
    return [...this.untriedSet];
  }

  /** Tried entries that pass `keep`. */
  private selectTried(keep: (e: PeerEntry) => boolean): PeerEntry[] {
    const out: PeerEntry[] = [];
    for (const e of this.triedSet) if (keep(e)) out.push(e);
    return out;
  }

  /** Tried peers that answered within the live window: relay, sync and gossip targets. */
  live(): PeerEntry[] {
    return this.selectTried((e) => this.state(e) === 'live');
  }

  /** Tried peers that answered within the share window and are not failing: what we tell others. */
  shared(): PeerEntry[] {
    const since = this.opts.now() - this.tuning.shareWindowMs;
    return this.selectTried((e) => lastContact(e) >= since && e.failures < this.tuning.failuresBeforeBackoff);
  }

  /**
   * The tried peers this node keeps live, at most `keep` of those not in backoff: ranked by a hash
   * of both node ids, an order that is stable (the set does not churn as peers answer) but
   * differs from node to node, so that no peer — the seed every node joined through — is in
   * every node's set. Keeping every tried peer live would cost each node requests in proportion
   * to the network's size (N × maxPeers pings per interval in all): on 2 cores, 100 nodes of 64
   * tried peers each pinging every 5 s are 1,300 requests a second.
   */
  keptLive(keep: number): PeerEntry[] {
    const candidates = this.selectTried((e) => this.state(e) !== 'backoff');
    if (candidates.length <= keep) return candidates;
    const selfHash = pairRankPrefix(this.opts.self.nodeId);
    return candidates
      .map((e) => ({ e, rank: pairRank(selfHash, e.nodeId) }))
      .sort((a, b) => a.rank - b.rank)
      .slice(0, keep)
      .map(({ e }) => e);
  }

  /**
   * Tried peers due a request, not waiting out a backoff: those in `keptLive` (the caller ranks
   * them once per tick with `keptLive(n)`) once quiet for `quietMs`, and those in backoff on
   * their retry schedule (a paused node is re-admitted when it answers). Of each pair, the side
   * that does not ping first (pingsFirst) waits `yieldMs` longer: the other's ping (markHeard)
   * comes first, and the pair pings once per quiet period, not twice.
   */
  duePing(quietMs: number, keptLive: readonly PeerEntry[], yieldMs = 0): PeerEntry[] {
    const now = this.opts.now();
    const kept = new Set(keptLive.map((e) => e.nodeId));
    const self = this.opts.self.nodeId;
    return this.selectTried(
      (e) =>
        e.retryAt <= now &&
        lastContact(e) < now - quietMs &&
        (kept.has(e.nodeId) || this.state(e) === 'backoff') &&
        (lastContact(e) < now - quietMs - yieldMs || pingsFirst(self, e.nodeId)),
    );
  }

  /** Untried addresses a feeler may probe now. */
  probeable(): PeerEntry[] {
    const now = this.opts.now();
    const out: PeerEntry[] = [];
    for (const e of this.untriedSet) if (e.retryAt <= now) out.push(e);
    return out;
  }

  /** Tried first (live before the rest), then untried, each by most recent contact. */
  list(): PeerEntry[] {
    const rank = { live: 0, stale: 1, backoff: 2, untried: 3 };
    return this.entries().sort((a, b) => {
      const r = rank[this.state(a)] - rank[this.state(b)];
      return r !== 0 ? r : b.lastSeen - a.lastSeen;
    });
  }

  /**
   * A sample of shared peers as they travel on the wire: half the newest
   * (so that a join spreads in a few rounds), half random.
   */
  sample(n: number, skip: (nodeId: string) => boolean = () => false): PeerInfo[] {
    const pool = this.shared()
      .filter((e) => !skip(e.nodeId))
      .sort((a, b) => b.addedAt - a.addedAt);
    const newest = pool.slice(0, Math.ceil(n / 2));
    const rest = pick(pool.slice(newest.length), n - newest.length, this.opts.random);
    return [...newest, ...rest].map(toInfo);
  }

  /**
   * A handshake with this peer on our network succeeded at this address (or
   * another request of ours to it did): it enters or stays in the tried table
   * and is live; `chain` only as it answered our request.
   */
  markContact(
    p: { nodeId: string; hostname: string },
    chain?: { height: number; chainWork: bigint; tipHash: string },
  ): boolean {
    if (this.refuses(p)) return false;
    const now = this.opts.now();
    const existing = this.byId.get(p.nodeId);
    // What peers.json holds of a tried peer at the same address is only its lastSeen then.
    const refreshOnly = existing?.tried === true && existing.hostname === p.hostname;
    const entry = this.place(p.nodeId, p.hostname, now, existing?.source ?? 'dialled');
    if (!entry.tried) {
      this.promote(entry);
      entry.addedAt = now;
    }
    entry.lastSeen = now;
    entry.lastSuccess = now;
    entry.failures = 0;
    entry.retryAt = 0;
    if (chain !== undefined) {
      entry.height = chain.height;
      entry.chainWork = chain.chainWork;
      entry.tipHash = chain.tipHash;
    }
    this.tombstones.delete(p.nodeId);
    this.enforceTriedCap(entry.nodeId);
    this.changed(refreshOnly);
    return true;
  }

  /** A request of ours to a tried peer got a valid answer (relay, sync): it is alive. */
  markAlive(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e?.tried) return;
    const wasLive = this.state(e) === 'live';
    e.lastSuccess = e.lastSeen = this.opts.now();
    e.failures = 0;
    e.retryAt = 0;
    if (!wasLive) this.changed();
  }

  /**
   * A tried peer pinged us (a plausible sender: known id, from its address, claiming no more
   * chain work than ours): it is alive as surely as if it had answered our ping, so ours is not
   * due. Both sides of a pair then ping once between them, not once each: half the idle
   * requests. It never promotes, never clears failures, and counts only while our own last
   * request to it succeeded: a peer we cannot reach (a wrong advertised address, a one-way
   * partition) is not kept live by what it sends us.
   */
  markHeard(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e?.tried || e.failures > 0 || e.lastFailure > e.lastSuccess) return;
    const wasLive = this.state(e) === 'live';
    e.lastHeard = e.lastSeen = this.opts.now();
    if (!wasLive) this.changed();
  }

  /**
   * Hearsay: an address someone told us of, from `source`. It goes to the
   * untried table (or updates an untried entry); it never touches a tried
   * peer. Returns true if the book changed.
   */
  learn(info: PeerInfo, source: string): boolean {
    if (this.refuses(info)) return false;
    // A contact reported from the future is at most a contact now: claims must not outrank what we saw.
    const lastSeen = Math.min(info.lastSeen, this.opts.now());
    const droppedAt = this.tombstones.get(info.nodeId);
    if (droppedAt !== undefined && lastSeen <= droppedAt) return false;
    const existing = this.byId.get(info.nodeId);
    if (existing?.tried) return false;
    if (existing && lastSeen <= existing.lastSeen) return false;
    const occupant = this.getByHost(info.hostname);
    if (occupant && occupant.nodeId !== info.nodeId && (occupant.tried || occupant.lastSeen >= lastSeen)) {
      return false;
    }
    // The address group once per learn (the caps and the count of a new entry both need it).
    const group = existing ? null : addressGroup(info.hostname);
    if (group !== null && !this.makeUntriedRoom(source, group)) return false;
    const entry = this.place(info.nodeId, info.hostname, lastSeen, source, group);
    entry.lastSeen = Math.max(entry.lastSeen, lastSeen);
    this.tombstones.delete(info.nodeId);
    this.changed();
    return true;
  }

  /** Forgets failing tried peers silent for `dropAfterMs`, and untried addresses never promoted in time. */
  pruneStale(): void {
    const now = this.opts.now();
    for (const e of this.entries()) {
      if (e.tried && this.state(e) === 'backoff' && e.lastSeen < now - this.tuning.dropAfterMs)
        this.remove(e.nodeId, 'not seen for too long');
      else if (!e.tried && e.addedAt < now - this.tuning.untriedMaxAgeMs) this.forget(e);
    }
  }

  /** Its chain claim did not hold up (sync stalled or failed): not a sync candidate until it reports again. */
  forgetChainInfo(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    delete e.chainWork;
    delete e.height; // nor does it count as the best peer height (readiness)
  }

  /**
   * A request to this peer failed for a liveness reason (timeout, refused,
   * garbage). A refused connection is proof nobody listens there: three in a
   * row take a tried peer out of the live and shared sets at once. A timeout
   * is not (an overloaded or paused peer answers late): it counts only once
   * the peer has had no success for the live window, so a slow peer leaves by
   * the clock (10 s, 30 s), never on one timeout. After any failure the next
   * request waits a little, and a backed-off peer that answered within the
   * last minute is retried at least every `recentBackoffMaxMs`.
   */
  recordFailure(nodeId: string, reason?: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    const t = this.tuning;
    const now = this.opts.now();
    if (!e.tried) {
      e.failures++;
      if (e.failures >= t.untriedMaxFailures) this.forget(e);
      else e.retryAt = now + t.backoffBaseMs * 2 ** (e.failures - 1);
      this.changed();
      return;
    }
    const recentlyAlive = lastContact(e) >= now - t.liveWindowMs;
    e.lastFailure = now;
    e.lastHeard = 0;
    if (reason !== 'timeout' || !recentlyAlive) e.failures++;
    e.retryAt = Math.max(e.retryAt, now + t.backoffBaseMs / 2);
    if (e.failures >= t.failuresBeforeDrop && e.lastSeen < now - t.dropAfterMs) {
      this.remove(nodeId, 'unreachable');
      return;
    }
    if (e.failures >= t.failuresBeforeBackoff) {
      const cap = e.lastSuccess >= now - RECENT_MS ? t.recentBackoffMaxMs : t.backoffMaxMs;
      e.retryAt = now + Math.min(t.backoffBaseMs * 2 ** (e.failures - t.failuresBeforeBackoff), cap);
      if (e.failures === t.failuresBeforeBackoff) {
        this.opts.logger.info('peer backed off', {
          peer: nodeId,
          hostname: e.hostname,
          failures: e.failures,
        });
      }
    }
    this.changed();
  }

  /** Forget a peer (dropped, wrong network, banned); hearsay older than now will not bring it back. */
  remove(nodeId: string, reason: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    this.unlink(e);
    this.tombstones.set(nodeId, this.opts.now());
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
    if (e.tried) this.opts.logger.info('peer dropped', { peer: nodeId, hostname: e.hostname, reason });
    this.changed();
  }

  /** An untried address that did not pan out: gone, and its stale hearsay with it (tombstone). */
  private forget(e: PeerEntry): void {
    this.remove(e.nodeId, 'untried address failed');
  }

  private unlink(e: PeerEntry): void {
    if (this.byId.get(e.nodeId) !== e) return;
    this.byId.delete(e.nodeId);
    if (this.byHost.get(e.hostname) === e.nodeId) this.byHost.delete(e.hostname);
    if (e.tried) this.triedSet.delete(e);
    else this.uncountUntried(e);
  }

  /** An untried entry becomes tried (a handshake answered). */
  private promote(e: PeerEntry): void {
    this.uncountUntried(e);
    e.tried = true;
    this.triedSet.add(e);
  }

  /** `group`: addressGroup(e.hostname) if the caller has it (null: not computed yet). */
  private countUntried(e: PeerEntry, group: string | undefined | null = null): void {
    const g = group === null ? addressGroup(e.hostname) : group;
    this.groups.set(e, g);
    this.untriedSet.add(e);
    addTo(this.untriedBySource, e.source, e);
    if (g !== undefined) bump(this.untriedPerGroup, g, 1);
  }

  private uncountUntried(e: PeerEntry): void {
    const group = this.groups.get(e);
    this.groups.delete(e);
    this.untriedSet.delete(e);
    removeFrom(this.untriedBySource, e.source, e);
    if (group !== undefined) bump(this.untriedPerGroup, group, -1);
  }

  /**
   * An untried entry moved to another address: it keeps its place in the table and its source
   * (their sets keep their order) and counts against the new address's group.
   */
  private regroupUntried(e: PeerEntry): void {
    const before = this.groups.get(e);
    if (before !== undefined) bump(this.untriedPerGroup, before, -1);
    const group = addressGroup(e.hostname);
    this.groups.set(e, group);
    if (group !== undefined) bump(this.untriedPerGroup, group, 1);
  }

  /**
   * Puts (nodeId, hostname) in the book: a node id at a new address moves (keeping its history),
   * and an address now answered by another node id evicts the previous owner. `group`:
   * addressGroup(hostname) if the caller has it (null: not computed yet).
   */
  private place(
    nodeId: string,
    hostname: string,
    lastSeen: number,
    source: string,
    group: string | undefined | null = null,
  ): PeerEntry {
    const occupantId = this.byHost.get(hostname);
    if (occupantId !== undefined && occupantId !== nodeId) {
      this.remove(occupantId, 'address taken by another node id');
      this.tombstones.delete(occupantId);
    }
    let entry = this.byId.get(nodeId);
    if (entry && entry.hostname !== hostname) {
      if (entry.tried)
        this.opts.logger.info('peer re-addressed', { peer: nodeId, from: entry.hostname, to: hostname });
      if (this.byHost.get(entry.hostname) === nodeId) this.byHost.delete(entry.hostname);
      entry.hostname = hostname;
      if (!entry.tried) this.regroupUntried(entry);
      entry.failures = 0;
      entry.retryAt = 0;
    }
    if (!entry) {
      entry = {
        nodeId,
        hostname,
        tried: false,
        source,
        lastSeen,
        lastSuccess: 0,
        lastHeard: 0,
        lastFailure: 0,
        failures: 0,
        retryAt: 0,
        addedAt: this.opts.now(),
      };
      if (entry.addedAt < this.lastCreatedAt) this.untriedByAge = false;
      this.lastCreatedAt = entry.addedAt;
      this.byId.set(nodeId, entry);
      this.countUntried(entry, group);
    }
    this.byHost.set(hostname, nodeId);
    return entry;
  }

  // Room for one more untried address from `source` in `group`: a full source or group gives up its
  // own oldest entry (so a flood churns only its own slots); a full table, its oldest entry.
  private makeUntriedRoom(source: string, group: string | undefined): boolean {
    const t = this.tuning;
    const fromSource = this.untriedBySource.get(source);
    if (fromSource !== undefined && fromSource.size >= t.maxUntriedPerSource) this.evictOldest(fromSource);
    if (group !== undefined && (this.untriedPerGroup.get(group) ?? 0) >= t.maxUntriedPerGroup)
      this.evictOldest(this.untriedSet, group);
    if (this.untriedSet.size >= t.maxUntried) this.evictOldest(this.untriedSet);
    return this.untriedSet.size < t.maxUntried;
  }

  /**
   * Evicts the oldest of these untried entries, of `group` if given (the first one found while
   * entries came in age order).
   */
  private evictOldest(entries: ReadonlySet<PeerEntry>, group?: string): void {
    let oldest: PeerEntry | undefined;
    for (const e of entries) {
      if (group !== undefined && this.groups.get(e) !== group) continue;
      if (oldest !== undefined && e.addedAt >= oldest.addedAt) continue;
      oldest = e;
      if (this.untriedByAge) break;
    }
    if (!oldest) return;
    this.unlink(oldest);
    this.opts.onEvicted?.('untried');
  }

  // Over the tried cap: evict a failing peer first, then a silent one, then among good peers the
  // youngest (the longest-lived good peers are the ones an attacker cannot cheaply replace).
  private enforceTriedCap(keep: string): void {
    if (this.triedSet.size <= this.opts.maxPeers) return;
    const tried = this.tried();
    const rank = { live: 0, stale: 1, backoff: 2, untried: 3 };
    const victims = tried
      .filter((e) => e.nodeId !== keep)
      .sort((a, b) => {
        const r = rank[this.state(b)] - rank[this.state(a)];
        if (r !== 0) return r;
        const failing = b.failures - a.failures;
        if (failing !== 0) return failing;
        return b.addedAt - a.addedAt;
      });
    for (const v of victims.slice(0, tried.length - this.opts.maxPeers)) {
      this.unlink(v);
      this.opts.onEvicted?.('tried');
      this.opts.logger.info('peer evicted from a full book', { peer: v.nodeId, hostname: v.hostname });
    }
  }

  /** `lastSeenOnly`: nothing persisted changed but a tried peer's lastSeen (saved later, lastSeenSaveMs). */
  private changed(lastSeenOnly = false): void {
    this.opts.onChange?.();
    this.scheduleSave(lastSeenOnly);
  }

  // ---- persistence ----

  private get file(): string | undefined {
    return this.opts.dataDir === undefined ? undefined : join(this.opts.dataDir, PEERS_FILE);
  }

  /**
   * Loads peers.json; a missing file is a first start, a corrupt one is ignored with a warning.
   * Tried peers come back tried but not live: they are pinged before anything is sent to them.
   */
  async load(): Promise<number> {
    const file = this.file;
    if (!file) return 0;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.opts.logger.warn('peer book unreadable, starting empty', { file, error: String(err) });
      }
      return 0;
    }
    let parsed: z.infer<typeof peersFileSchema>;
    try {
      parsed = peersFileSchema.parse(JSON.parse(text));
    } catch (err) {
      this.opts.logger.warn('peer book corrupt, ignored', {
        file,
        error: err instanceof Error ? err.message : String(err),
      });
      return 0;
    }
    let loaded = 0;
    for (const p of parsed.peers) {
      if (this.refuses(p) || this.byId.has(p.nodeId) || this.byHost.has(p.hostname)) continue;
      if (p.tried !== true && !this.makeUntriedRoom('persisted', addressGroup(p.hostname))) continue;
      const entry = this.place(p.nodeId, p.hostname, p.lastSeen, 'persisted');
      entry.lastSeen = p.lastSeen;
      if (p.tried === true) this.promote(entry);
      if (p.addedAt !== undefined) entry.addedAt = Math.min(p.addedAt, this.opts.now());
      if (!entry.tried) this.untriedByAge = false;
      // Failures are not carried over: after a restart every known peer gets a fresh chance.
      loaded++;
    }
    this.enforceTriedCap('');
    this.opts.onChange?.();
    this.opts.logger.info('peer book loaded', { file, tried: this.size, untried: this.untriedCount });
    return loaded;
  }

  /** Final write; later changes (late answers of aborted requests) are not saved. */
  async close(): Promise<void> {
    // Closed first: a change during the final write must not schedule another one into a data dir being removed.
    this.closed = true;
    await this.flush();
  }

  private scheduleSave(slow = false): void {
    if (!this.file || this.closed) return;
    this.dirty = true;
    if (this.saveTimer) {
      if (slow || !this.saveTimerIsSlow) return;
      this.clock.clearTimeout(this.saveTimer);
    }
    this.saveTimerIsSlow = slow;
    this.saveTimer = this.clock.setTimeout(
      () => {
        this.saveTimer = undefined;
        void this.flush();
      },
      slow ? this.tuning.lastSeenSaveMs : this.tuning.saveDebounceMs,
    );
    this.saveTimer.unref();
  }

  /** Writes the book now if it changed (temp file, fsync, rename: never a torn file). */
  flush(): Promise<void> {
    if (this.saveTimer) {
      this.clock.clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    this.saving = this.saving.then(() => this.writeIfDirty());
    return this.saving;
  }

  private async writeIfDirty(): Promise<void> {
    const file = this.file;
    if (!file || !this.dirty) return;
    this.dirty = false;
    // Only tried peers survive a restart: untried addresses are cheap to learn again, and they are
    // what an attacker controls.
    const body = JSON.stringify({
      version: 1,
      peers: this.list()
        .filter((e) => e.tried)
        .map((e) => ({ ...toInfo(e), failures: e.failures, tried: true, addedAt: e.addedAt })),
    });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      this.dirty = true;
      this.saveFailed(file, err);
      await unlink(tmp).catch(() => undefined);
      return;
    }
    const failing = this.saveFailing;
    if (failing) {
      this.saveFailing = undefined;
      this.opts.logger.info('peer book saved again', {
        file,
        failedSaves: failing.failures,
        failingForSeconds: Math.round((this.opts.now() - failing.since) / 1000),
      });
    }
  }

  /**
   * A full disk fails every save (each change schedules one): one line when
   * saving starts failing, a summary every few minutes while it goes on, and
   * one when it works again.
   */
  private saveFailed(file: string, err: unknown): void {
    const now = this.opts.now();
    const failing = this.saveFailing;
    if (!failing) {
      this.saveFailing = { since: now, failures: 1, summarisedAt: now };
      this.opts.logger.warn('peer book not saved; further failures are summarised', {
        file,
        error: String(err),
      });
      return;
    }
    failing.failures++;
    if (now - failing.summarisedAt < SAVE_FAILURE_SUMMARY_MS) return;
    failing.summarisedAt = now;
    this.opts.logger.warn('peer book still not saved', {
      file,
      failedSaves: failing.failures,
      failingForSeconds: Math.round((now - failing.since) / 1000),
      error: String(err),
    });
  }
}

export function toInfo(e: PeerEntry): PeerInfo {
  return { hostname: e.hostname, nodeId: e.nodeId, lastSeen: e.lastSeen };
}

/**
 * Whether `selfId` is the side of its pair with `peerId` that pings first: a coin toss per pair
 * that both sides make alike (FNV-1a of the two ids in order), so each node pings first for
 * about half its peers.
 */
export function pingsFirst(selfId: string, peerId: string): boolean {
  const selfIsLow = selfId < peerId;
  const lowFirst = (fnv1a(selfIsLow ? `${selfId}/${peerId}` : `${peerId}/${selfId}`, 0x811c9dc5) & 1) === 0;
  return lowFirst === selfIsLow;
}

/** FNV-1a of `<selfId>/`, the part of pairRank shared by every peer (node ids are ASCII hex). */
function pairRankPrefix(selfId: string): number {
  return fnv1a(`${selfId}/`, 0x811c9dc5);
}

/** A number in [0, 2³²) for the pair (FNV-1a of both ids): the same for the pair on every call. */
function pairRank(prefixHash: number, peerId: string): number {
  return fnv1a(peerId, prefixHash);
}

function fnv1a(text: string, hash: number): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

function addTo(sets: Map<string, Set<PeerEntry>>, key: string, e: PeerEntry): void {
  let set = sets.get(key);
  if (set === undefined) sets.set(key, (set = new Set()));
  set.add(e);
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}

function removeFrom(sets: Map<string, Set<PeerEntry>>, key: string, e: PeerEntry): void {
  const set = sets.get(key);
  if (set === undefined) return;
  set.delete(e);
  if (set.size === 0) sets.delete(key);
}

/** Up to n distinct random elements (partial Fisher–Yates). */
export function pick<T>(items: readonly T[], n: number, random: () => number): T[] {
  const a = [...items];
  const k = Math.min(n, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, k);
}

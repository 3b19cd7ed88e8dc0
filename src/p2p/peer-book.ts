import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../obs/index.js';
import { isHostPort, peerInfoSchema, type PeerInfo } from './wire.js';

export type PeerState = 'live' | 'backoff';

export interface PeerEntry {
  nodeId: string;
  hostname: string;
  /** Last direct contact (ours or, for peers only heard of, the one reported to us, never later than now), unix ms. */
  lastSeen: number;
  /** Consecutive failed requests. */
  failures: number;
  /** While backed off: no request before this time (unix ms). */
  retryAt: number;
  /** We (or it) completed at least one handshake directly. */
  contacted: boolean;
  /** When this entry entered the book (unix ms): the newest peers are the news worth gossiping. */
  addedAt: number;
  /** Chain info as the peer answered a request of ours; what it volunteers is never stored (sync trusts these). */
  height?: number;
  chainWork?: bigint;
  tipHash?: string;
}

export interface PeerBookTuning {
  /** Consecutive failures that put a peer in backoff. */
  failuresBeforeBackoff: number;
  /** Consecutive failures that drop it from the book. */
  failuresBeforeDrop: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  saveDebounceMs: number;
  /** A backed-off peer not heard from for this long is dropped even if rarely retried. */
  dropAfterMs: number;
}

export const DEFAULT_PEER_BOOK_TUNING: PeerBookTuning = {
  failuresBeforeBackoff: 3,
  failuresBeforeDrop: 8,
  backoffBaseMs: 2_000,
  backoffMaxMs: 5 * 60_000,
  saveDebounceMs: 500,
  dropAfterMs: 15 * 60_000,
};

export const PEERS_FILE = 'peers.json';
const MAX_TOMBSTONES = 4096;
const HEARSAY_FRESH_MS = 30_000;

const peersFileSchema = z.object({
  version: z.literal(1),
  peers: z.array(peerInfoSchema.extend({ failures: z.number().int().nonnegative().optional() })).max(100_000),
});

/**
 * The peers this node knows, keyed by node id, one entry per address: capped,
 * never holding the node itself, persisted atomically to `peers.json`.
 *
 * Direct contact (a handshake in either direction) is the truth about where a
 * node lives; hearsay (another peer's sample) only adds unknown peers or moves
 * one only heard of whose reported contact is newer. Hearsay never moves,
 * refreshes or evicts a peer this node reached itself. A dropped peer is remembered
 * (tombstone) so that stale samples from others do not resurrect it: only news
 * of a contact after the drop brings it back.
 */
export class PeerBook {
  private readonly byId = new Map<string, PeerEntry>();
  private readonly byHost = new Map<string, string>();
  private readonly tombstones = new Map<string, number>();
  private readonly tuning: PeerBookTuning;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;

  constructor(
    private readonly opts: {
      self: { nodeId: string; hostname: string };
      maxPeers: number;
      dataDir?: string;
      now: () => number;
      random: () => number;
      logger: Logger;
      tuning?: Partial<PeerBookTuning>;
      onChange?: () => void;
    },
  ) {
    this.tuning = { ...DEFAULT_PEER_BOOK_TUNING, ...opts.tuning };
  }

  get size(): number {
    return this.byId.size;
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
    return e.failures < this.tuning.failuresBeforeBackoff ? 'live' : 'backoff';
  }

  entries(): PeerEntry[] {
    return [...this.byId.values()];
  }

  live(): PeerEntry[] {
    return this.entries().filter((e) => this.state(e) === 'live');
  }

  /** Peers worth a request now: live ones and backed-off ones whose wait is over. */
  contactable(): PeerEntry[] {
    const now = this.opts.now();
    return this.entries().filter((e) => this.state(e) === 'live' || e.retryAt <= now);
  }

  /** Live peers first, then by most recent contact. */
  list(): PeerEntry[] {
    return this.entries().sort((a, b) => {
      const live = Number(this.state(b) === 'live') - Number(this.state(a) === 'live');
      return live !== 0 ? live : b.lastSeen - a.lastSeen;
    });
  }

  /**
   * A sample of live peers as they travel on the wire: half the newest
   * entries (so that a join spreads in a few rounds), half random. Hearsay is
   * passed on only while fresh, so a dead address stops circulating soon after
   * its last contact.
   */
  sample(n: number, skip: (nodeId: string) => boolean = () => false): PeerInfo[] {
    const freshSince = this.opts.now() - HEARSAY_FRESH_MS;
    const pool = this.entries()
      .filter((e) => e.failures === 0 && (e.contacted || e.lastSeen >= freshSince) && !skip(e.nodeId))
      .sort((a, b) => b.addedAt - a.addedAt);
    const newest = pool.slice(0, Math.ceil(n / 2));
    const rest = pick(pool.slice(newest.length), n - newest.length, this.opts.random);
    return [...newest, ...rest].map(toInfo);
  }

  /**
   * A handshake with this peer succeeded (we reached it, or a peer we reached
   * called from its address); `chain` only as it answered our request.
   */
  markContact(
    p: { nodeId: string; hostname: string },
    chain?: { height: number; chainWork: bigint; tipHash: string },
  ): boolean {
    if (this.refuses(p)) return false;
    const now = this.opts.now();
    const entry = this.place(p.nodeId, p.hostname, now);
    entry.lastSeen = now;
    entry.failures = 0;
    entry.retryAt = 0;
    entry.contacted = true;
    if (chain !== undefined) {
      entry.height = chain.height;
      entry.chainWork = chain.chainWork;
      entry.tipHash = chain.tipHash;
    }
    this.tombstones.delete(p.nodeId);
    this.enforceCap(entry.nodeId);
    this.changed();
    return true;
  }

  /** Hearsay from another peer's sample. Returns true if the book changed. */
  learn(info: PeerInfo): boolean {
    if (this.refuses(info)) return false;
    // A contact reported from the future is at most a contact now: claims must not outrank what we saw.
    const lastSeen = Math.min(info.lastSeen, this.opts.now());
    const droppedAt = this.tombstones.get(info.nodeId);
    if (droppedAt !== undefined && lastSeen <= droppedAt) return false;
    const existing = this.byId.get(info.nodeId);
    // Only a handshake moves or refreshes a peer we reached ourselves: hearsay could point it anywhere.
    if (existing?.contacted) return false;
    if (existing && lastSeen <= existing.lastSeen) return false;
    const occupant = this.getByHost(info.hostname);
    if (
      occupant &&
      occupant.nodeId !== info.nodeId &&
      (occupant.contacted || occupant.lastSeen >= lastSeen)
    ) {
      return false;
    }
    const entry = this.place(info.nodeId, info.hostname, lastSeen);
    entry.lastSeen = Math.max(entry.lastSeen, lastSeen);
    this.tombstones.delete(info.nodeId);
    if (!this.enforceCap(entry.nodeId)) return false;
    this.changed();
    return true;
  }

  /** Drops backed-off peers whose last contact is older than `dropAfterMs`. */
  pruneStale(): void {
    const cutoff = this.opts.now() - this.tuning.dropAfterMs;
    for (const e of this.entries()) {
      if (this.state(e) === 'backoff' && e.lastSeen < cutoff) this.remove(e.nodeId, 'not seen for too long');
    }
  }

  /** Its chain claim did not hold up (sync stalled or failed): not a sync candidate until it reports again. */
  forgetChainInfo(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    delete e.chainWork;
    delete e.height; // nor does it count as the best peer height (readiness)
  }

  /** A request to this peer failed for a liveness reason (timeout, refused, garbage). */
  recordFailure(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    e.failures++;
    const t = this.tuning;
    if (e.failures >= t.failuresBeforeDrop) {
      this.remove(nodeId, 'unreachable');
      return;
    }
    if (e.failures >= t.failuresBeforeBackoff) {
      const delay = Math.min(t.backoffBaseMs * 2 ** (e.failures - t.failuresBeforeBackoff), t.backoffMaxMs);
      e.retryAt = this.opts.now() + delay;
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
    this.byId.delete(nodeId);
    if (this.byHost.get(e.hostname) === nodeId) this.byHost.delete(e.hostname);
    this.tombstones.set(nodeId, this.opts.now());
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
    this.opts.logger.info('peer dropped', { peer: nodeId, hostname: e.hostname, reason });
    this.changed();
  }

  // Puts (nodeId, hostname) in the book: a node id at a new address moves, and
  // an address now answered by another node id evicts the previous owner.
  private place(nodeId: string, hostname: string, lastSeen: number): PeerEntry {
    const occupantId = this.byHost.get(hostname);
    if (occupantId !== undefined && occupantId !== nodeId) {
      this.remove(occupantId, 'address taken by another node id');
      this.tombstones.delete(occupantId);
    }
    let entry = this.byId.get(nodeId);
    if (entry && entry.hostname !== hostname) {
      this.opts.logger.info('peer re-addressed', { peer: nodeId, from: entry.hostname, to: hostname });
      if (this.byHost.get(entry.hostname) === nodeId) this.byHost.delete(entry.hostname);
      entry.hostname = hostname;
      entry.failures = 0;
      entry.retryAt = 0;
    }
    if (!entry) {
      entry = {
        nodeId,
        hostname,
        lastSeen,
        failures: 0,
        retryAt: 0,
        contacted: false,
        addedAt: this.opts.now(),
      };
      this.byId.set(nodeId, entry);
    }
    this.byHost.set(hostname, nodeId);
    return entry;
  }

  // Over the cap: evict peers only heard of first, then backed-off ones, then the stalest. Hearsay
  // never displaces a peer we reached: when only those are left, the hearsay entry goes itself.
  // Returns false if `keep` was evicted.
  private enforceCap(keep: string): boolean {
    if (this.byId.size <= this.opts.maxPeers) return true;
    const hearsay = this.byId.get(keep)?.contacted !== true;
    const victims = this.entries()
      .filter((e) => !(hearsay && e.contacted))
      .sort((a, b) => {
        const reached = Number(a.contacted) - Number(b.contacted);
        if (reached !== 0) return reached;
        const backoff = Number(this.state(b) === 'backoff') - Number(this.state(a) === 'backoff');
        return backoff !== 0 ? backoff : a.lastSeen - b.lastSeen;
      });
    let keptSurvived = true;
    for (const v of victims) {
      if (this.byId.size <= this.opts.maxPeers) break;
      if (v.nodeId === keep) keptSurvived = false;
      this.byId.delete(v.nodeId);
      if (this.byHost.get(v.hostname) === v.nodeId) this.byHost.delete(v.hostname);
    }
    return keptSurvived;
  }

  private changed(): void {
    this.opts.onChange?.();
    this.scheduleSave();
  }

  // ---- persistence ----

  private get file(): string | undefined {
    return this.opts.dataDir === undefined ? undefined : join(this.opts.dataDir, PEERS_FILE);
  }

  /** Loads peers.json; a missing file is a first start, a corrupt one is ignored with a warning. */
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
      if (this.isSelf(p) || this.byId.has(p.nodeId)) continue;
      const entry = this.place(p.nodeId, p.hostname, p.lastSeen);
      entry.lastSeen = p.lastSeen;
      // Failures are not carried over: after a restart every known peer gets a fresh chance.
      loaded++;
    }
    this.enforceCap('');
    this.opts.onChange?.();
    this.opts.logger.info('peer book loaded', { file, peers: this.byId.size });
    return loaded;
  }

  /** Final write; later changes (late answers of aborted requests) are not saved. */
  async close(): Promise<void> {
    // Closed first: a change during the final write must not schedule another one into a data dir being removed.
    this.closed = true;
    await this.flush();
  }

  private scheduleSave(): void {
    if (!this.file || this.closed) return;
    this.dirty = true;
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.flush();
    }, this.tuning.saveDebounceMs);
    this.saveTimer.unref();
  }

  /** Writes the book now if it changed (temp file, fsync, rename: never a torn file). */
  flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    this.saving = this.saving.then(() => this.writeIfDirty());
    return this.saving;
  }

  private async writeIfDirty(): Promise<void> {
    const file = this.file;
    if (!file || !this.dirty) return;
    this.dirty = false;
    const body = JSON.stringify({
      version: 1,
      peers: this.list().map((e) => ({ ...toInfo(e), failures: e.failures })),
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
      this.opts.logger.warn('peer book not saved', { file, error: String(err) });
      await unlink(tmp).catch(() => undefined);
    }
  }
}

export function toInfo(e: PeerEntry): PeerInfo {
  return { hostname: e.hostname, nodeId: e.nodeId, lastSeen: e.lastSeen };
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

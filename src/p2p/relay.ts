import { toHex } from '../core/index.js';
import type { Logger } from '../obs/index.js';
import type { BanList } from './ban.js';
import { wallClock, type Clock, type ClockTimer } from './clock.js';
import type { BlockPayload, CompactBlocks } from './compact.js';
import { PeerRequestError } from './peer-client.js';
import type { PeerTransport } from './transport.js';
import { pick, type PeerBook, type PeerEntry } from './peer-book.js';
import { MAX_RELAYED_TO, shortId } from './wire.js';

/** A bounded set of recently seen ids (insertion order = eviction order). */
export class SeenCache {
  private readonly items = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.items.has(id);
  }

  /** Returns false if the id was already there. */
  add(id: string): boolean {
    if (this.items.has(id)) return false;
    this.items.add(id);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
    return true;
  }

  delete(id: string): void {
    this.items.delete(id);
  }
}

/**
 * Copies of a forwarded block each peer not yet sent it should get, in all, from the peers that
 * forward it at the same hop (see relayBlock): with 4, a peer misses the hop with odds of about
 * e⁻⁴ (2%) and gets it one hop later.
 */
const FORWARD_COPIES = 4;

/** A receiver's limits (src/api): at most 1000 transactions and a 4 MB body per request. */
const TX_BATCH = 1000;
const TX_BATCH_HEX_CHARS = 3_000_000;
const MAX_QUEUED_TXS_PER_PEER = 20_000;
const TX_FLUSH_MS = 20;

/**
 * Flooding with a bounded fan-out: each accepted block or transaction goes to
 * `fanout` random live peers other than the one it came from. Sends are
 * fire-and-forget (the caller's HTTP reply never waits for them); a peer that
 * does not answer earns a liveness failure. Transactions are batched per peer.
 */
export class Relay {
  private readonly txQueues = new Map<string, Uint8Array[]>();
  private txTimer: ClockTimer | undefined;
  private stopped = false;
  private readonly clock: Clock;

  constructor(
    private readonly opts: {
      selfNodeId: string;
      book: PeerBook;
      bans: BanList;
      client: PeerTransport;
      compact: CompactBlocks;
      fanout: number;
      random: () => number;
      logger: Logger;
      clock?: Clock;
    },
  ) {
    this.clock = opts.clock ?? wallClock;
  }

  /**
   * To `fanout` random live peers (the configured relay fan-out unless given)
   * other than the sender and the peers it said were sent the block already
   * (`relayedTo`, short ids): compact to peers that take compact blocks, whole
   * to the others. Each push names, for its receiver, this node, the sender,
   * those peers and this round's targets (MAX_RELAYED_TO at most).
   *
   * Forwarding, this node is one of the named peers that forward at once: if
   * c of its live peers are named and u are not, the named are about c/u as
   * many as the rest of the network, and each sending to fanout of the rest
   * would give every one of them fanout × c/u copies (at 50 nodes, after a
   * maker's push to 32: 15 each). It sends to FORWARD_COPIES × u/c of them,
   * between 1 and fanout, which gives each about FORWARD_COPIES.
   */
  relayBlock(
    payload: BlockPayload,
    exceptNodeId?: string,
    fanout = this.opts.fanout,
    relayedTo: readonly string[] = [],
  ): number {
    const covered = new Set(relayedTo);
    const live = this.opts.book.live();
    const targets = this.targets(exceptNodeId, this.forwardShare(fanout, covered, live), covered, live);
    const named = new Set([shortId(this.opts.selfNodeId)]);
    if (exceptNodeId !== undefined) named.add(shortId(exceptNodeId));
    for (const peer of targets) named.add(shortId(peer.nodeId));
    for (const id of covered) named.add(id);
    const header = [...named].slice(0, MAX_RELAYED_TO);
    for (const peer of targets) {
      this.sendBlock(peer, payload, header).then(
        () => this.opts.book.markAlive(peer.nodeId),
        (err: unknown) => this.failed(peer, err),
      );
    }
    this.opts.logger.debug('block relayed', {
      hash: payload.hash,
      peers: targets.length,
      skipped: covered.size,
    });
    return targets.length;
  }

  private async sendBlock(
    peer: PeerEntry,
    payload: BlockPayload,
    relayedTo: readonly string[],
  ): Promise<void> {
    const { client, compact } = this.opts;
    if (!compact.sendsCompactTo(peer.nodeId))
      return client.sendBlock(peer.hostname, payload.fullHex(), relayedTo);
    // Kept first: the peer may ask for transactions before this block is stored here.
    compact.remember(payload.hash, payload.block);
    try {
      await client.sendCompactBlock(peer.hostname, payload.compactHex(), relayedTo);
    } catch (err) {
      // not-found: a node without the route (older than compact blocks, or a proxy in front of one).
      if (!(
        err instanceof PeerRequestError &&
        err.reason === 'http' &&
        (err.code ?? 'not-found') === 'not-found'
      ))
        throw err;
      compact.recordSupport(peer.nodeId, false);
      await client.sendBlock(peer.hostname, payload.fullHex(), relayedTo);
    }
  }

  /** Serialized transactions; they become hex only when sent, so a node with no peer never pays for it. */
  relayTransactions(rawTxs: readonly Uint8Array[], exceptNodeId?: string): void {
    if (this.stopped || rawTxs.length === 0) return;
    // One draw of peers per submission: a batch travels together.
    for (const peer of this.targets(exceptNodeId)) {
      let queue = this.txQueues.get(peer.nodeId);
      if (!queue) this.txQueues.set(peer.nodeId, (queue = []));
      const room = MAX_QUEUED_TXS_PER_PEER - queue.length;
      for (const raw of room >= rawTxs.length ? rawTxs : rawTxs.slice(0, Math.max(0, room))) queue.push(raw);
    }
    // A short delay turns a burst of submissions into one request per peer.
    this.txTimer ??= this.clock.setTimeout(() => this.flushTransactions(), TX_FLUSH_MS);
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.txTimer);
    this.txQueues.clear();
  }

  private flushTransactions(): void {
    this.txTimer = undefined;
    // A transaction queued for several peers is converted once.
    const hexes = new Map<Uint8Array, string>();
    const hexOf = (raw: Uint8Array): string => {
      let hex = hexes.get(raw);
      if (hex === undefined) hexes.set(raw, (hex = toHex(raw)));
      return hex;
    };
    for (const [nodeId, queue] of this.txQueues) {
      const peer = this.opts.book.get(nodeId);
      if (peer) void this.sendBatches(peer, txBatches(queue.map(hexOf)));
    }
    this.txQueues.clear();
  }

  // One after the other, so that no child transaction overtakes its parent.
  private async sendBatches(peer: PeerEntry, batches: string[][]): Promise<void> {
    for (const batch of batches) {
      try {
        await this.opts.client.sendTransactions(peer.hostname, batch);
        this.opts.book.markAlive(peer.nodeId);
      } catch (err) {
        this.failed(peer, err);
        return;
      }
    }
  }

  /** How many peers to send a block whose sender named `covered` (see relayBlock). */
  private forwardShare(fanout: number, covered: ReadonlySet<string>, live: readonly PeerEntry[]): number {
    if (covered.size === 0) return fanout;
    let coveredLive = 0;
    for (const p of live) if (covered.has(shortId(p.nodeId))) coveredLive++;
    if (coveredLive === 0) return fanout;
    const uncovered = live.length - coveredLive;
    return Math.min(fanout, Math.max(1, Math.ceil((FORWARD_COPIES * uncovered) / coveredLive)));
  }

  private targets(
    exceptNodeId: string | undefined,
    fanout = this.opts.fanout,
    covered: ReadonlySet<string> = new Set(),
    live: readonly PeerEntry[] = this.opts.book.live(),
  ): PeerEntry[] {
    const { bans } = this.opts;
    const pool = live.filter(
      (p) => p.nodeId !== exceptNodeId && !bans.isBanned(p.nodeId) && !covered.has(shortId(p.nodeId)),
    );
    return pick(pool, fanout, this.opts.random);
  }

  private failed(peer: PeerEntry, err: unknown): void {
    if (this.stopped) return;
    if (err instanceof PeerRequestError && err.reason === 'wrong-network')
      this.opts.book.remove(peer.nodeId, 'wrong network');
    else if (err instanceof PeerRequestError && err.isLiveness)
      this.opts.book.recordFailure(peer.nodeId, err.reason);
    this.opts.logger.debug('relay failed', {
      peer: peer.nodeId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Splits queued transactions (in order) into requests a receiver accepts. */
function txBatches(txHexes: readonly string[]): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let chars = 0;
  for (const hex of txHexes) {
    if (batch.length === TX_BATCH || (batch.length > 0 && chars + hex.length > TX_BATCH_HEX_CHARS)) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(hex);
    chars += hex.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

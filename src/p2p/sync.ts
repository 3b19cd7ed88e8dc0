import { blockHashOf, decodeBlock, fromHex, isValidationError, type Block } from '../core/index.js';
import type { Logger, Metrics } from '../obs/index.js';
import { misbehaviourPoints, type BanList } from './ban.js';
import type { ChainPort, ProcessBlockResult } from './deps.js';
import { PeerRequestError } from './peer-client.js';
import type { PeerTransport } from './transport.js';
import type { PeerBook } from './peer-book.js';
import { MAX_LOCATOR, MAX_SYNC_BLOCKS } from './wire.js';

export interface SyncPeer {
  nodeId: string;
  hostname: string;
}

type Outcome = 'caught-up' | 'failed';

/** While sync runs keep bringing nothing (a full disk, peers that do not answer), one summary this often. */
const NO_PROGRESS_SUMMARY_MS = 60_000;

/**
 * Locator-based block download, one peer at a time: ask a peer with more work
 * for the blocks after our locator, connect each through the chain, repeat
 * while it says there are more. A node never downloads the same blocks from
 * several peers at once; a peer that stalls, answers garbage or sends an
 * invalid block is abandoned and the next best one is tried.
 */
export class Sync {
  private running: Promise<void> | undefined;
  /** A request arrived during a run: its peer may have been tried (or passed over) already. */
  private again = false;
  private readonly requested = new Map<string, SyncPeer>();
  private stopped = false;
  /** Runs in a row that did not move the tip, and when that was last summarised. */
  private fruitlessRuns = 0;
  private fruitlessSince = 0;
  private fruitlessSummarisedAt = 0;

  constructor(
    private readonly opts: {
      chain: ChainPort;
      client: PeerTransport;
      book: PeerBook;
      bans: BanList;
      metrics: Metrics;
      logger: Logger;
      timeoutMs: number;
      batchSize?: number;
      onBanned: (nodeId: string, reason: string) => void;
      /** Connects a block through the chain (sharing the work with a relay of it in flight), counts and logs it. */
      process: (block: Block, hash: string, peer: string) => Promise<ProcessBlockResult>;
    },
  ) {}

  get syncing(): boolean {
    return this.running !== undefined;
  }

  /**
   * Starts a sync, or another run after the current one. 'more-work': the
   * peer book already holds the work a peer reported in answer to us, and the
   * best such peer is chosen; 'orphan': this peer sent a block whose parent we
   * lack, so it is asked first.
   */
  request(peer: SyncPeer, reason: 'more-work' | 'orphan'): void {
    if (this.stopped || this.opts.bans.isBanned(peer.nodeId)) return;
    if (reason === 'orphan') this.requested.set(peer.nodeId, peer);
    if (this.running) this.again = true;
    else this.start();
  }

  private start(): void {
    this.again = false;
    this.running = this.run()
      .catch((err: unknown) => {
        // A store that cannot write (disk full) is reported once by the node, not on every sync attempt.
        const storeDown = (err as { code?: unknown } | null)?.code === 'store-unavailable';
        this.opts.logger[storeDown ? 'debug' : 'error']('sync failed', { error: String(err) });
      })
      .finally(() => {
        this.running = undefined;
        this.opts.metrics.syncing.set(0);
        if (this.again && !this.stopped) this.start();
      });
  }

  /** Resolves when the current sync (if any) has ended. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.requested.clear();
  }

  private async run(): Promise<void> {
    const { chain, logger, metrics } = this.opts;
    const tried = new Set<string>();
    let peer = this.next(tried);
    if (!peer) return;
    metrics.syncing.set(1);
    const startHeight = chain.tip.height;
    const startHash = chain.tip.hash;
    // After a run that brought nothing, the next ones are logged at debug until one does (summaries meanwhile).
    const level = this.fruitlessRuns > 0 ? 'debug' : 'info';
    logger[level]('sync started', { peer: peer.nodeId, hostname: peer.hostname, height: startHeight });
    try {
      while (peer && !this.stopped) {
        tried.add(peer.nodeId);
        this.requested.delete(peer.nodeId);
        const outcome = await this.syncFrom(peer);
        if (outcome === 'failed') this.opts.book.forgetChainInfo(peer.nodeId);
        logger.debug('sync from peer ended', { peer: peer.nodeId, outcome, height: chain.tip.height });
        peer = this.next(tried);
      }
    } finally {
      const moved = chain.tip.hash !== startHash;
      logger[moved ? 'info' : level]('sync finished', {
        height: chain.tip.height,
        hash: chain.tip.hash,
        gained: chain.tip.height - startHeight,
      });
      this.noteProgress(moved);
    }
  }

  private noteProgress(moved: boolean): void {
    const now = Date.now();
    if (moved) {
      if (this.fruitlessRuns > 1)
        this.opts.logger.info('sync progressing again', { fruitlessRuns: this.fruitlessRuns });
      this.fruitlessRuns = 0;
      return;
    }
    if (this.fruitlessRuns++ === 0) {
      this.fruitlessSince = this.fruitlessSummarisedAt = now;
      return;
    }
    if (now - this.fruitlessSummarisedAt < NO_PROGRESS_SUMMARY_MS) return;
    this.fruitlessSummarisedAt = now;
    this.opts.logger.info('sync runs bring no blocks', {
      runs: this.fruitlessRuns,
      forSeconds: Math.round((now - this.fruitlessSince) / 1000),
      height: this.opts.chain.tip.height,
    });
  }

  // Explicit requests first (orphan senders), then whoever answered us with the most work above ours.
  private next(tried: Set<string>): SyncPeer | undefined {
    for (const [id, p] of this.requested) {
      if (!tried.has(id) && !this.opts.bans.isBanned(id)) return p;
      this.requested.delete(id);
    }
    const ours = this.opts.chain.tip.chainWork;
    let best: SyncPeer | undefined;
    let bestWork = ours;
    for (const e of this.opts.book.live()) {
      if (tried.has(e.nodeId) || this.opts.bans.isBanned(e.nodeId)) continue;
      if (e.chainWork !== undefined && e.chainWork > bestWork) {
        best = e;
        bestWork = e.chainWork;
      }
    }
    return best;
  }

  private async syncFrom(peer: SyncPeer): Promise<Outcome> {
    const { chain, client, book, metrics, logger } = this.opts;
    const limit = this.opts.batchSize ?? MAX_SYNC_BLOCKS;
    // The last block of the previous batch leads the locator: while the downloaded
    // branch is still a side chain our tip does not move, and the peer must not
    // send the same batch again.
    let last: string | undefined;
    while (!this.stopped) {
      const locator = [...new Set([...(last ? [last] : []), ...chain.getLocator()])].slice(0, MAX_LOCATOR);
      let reply;
      try {
        reply = await client.syncBlocks(peer.hostname, locator, limit, this.opts.timeoutMs);
      } catch (err) {
        if (this.stopped) return 'failed';
        if (err instanceof PeerRequestError && err.isLiveness) book.recordFailure(peer.nodeId, err.reason);
        logger.info('sync peer abandoned', {
          peer: peer.nodeId,
          error: err instanceof Error ? err.message : String(err),
        });
        return 'failed';
      }
      const before = last;
      let fresh = 0;
      for (const hex of reply.blocks) {
        if (this.stopped) return 'failed';
        let hash: string | undefined;
        try {
          const block = decodeBlock(fromHex(hex));
          hash = blockHashOf(block.header);
          if (chain.hasBlock(hash)) {
            last = hash;
            continue;
          }
          const result = await this.opts.process(block, hash, peer.nodeId);
          if (result.status === 'orphan') {
            logger.info('sync peer sent a block that does not connect', { peer: peer.nodeId, hash });
            return 'failed';
          }
          if (result.status !== 'duplicate') fresh++;
        } catch (err) {
          if (!isValidationError(err)) throw err;
          if (this.opts.bans.misbehaving(peer.nodeId, misbehaviourPoints('block', err.code))) {
            this.opts.onBanned(peer.nodeId, err.code);
          }
          logger.info('sync peer sent an invalid block', { peer: peer.nodeId, hash, code: err.code });
          return 'failed';
        }
        last = hash;
      }
      metrics.syncBlocksDownloaded.inc(reply.blocks.length);
      if (reply.blocks.length > 0) {
        logger.debug('sync batch', {
          peer: peer.nodeId,
          blocks: reply.blocks.length,
          fresh,
          height: chain.tip.height,
        });
      }
      if (!reply.more || reply.blocks.length === 0) return 'caught-up';
      // Every round must bring new blocks: a peer answering known blocks with
      // `more: true` (the same batch, or a different known block each time)
      // would otherwise hold the one sync slot forever.
      if (last === before || fresh === 0) return 'caught-up';
    }
    return 'failed';
  }
}

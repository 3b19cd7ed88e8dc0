import type { Logger } from '../obs/index.js';
import type { AcceptedBlock, BlockLogPort } from '../p2p/index.js';

export interface ConnectedBlock {
  hash: string;
  height: number;
  txs: number;
}

export interface BlockLogOptions {
  /** Per-block info lines allowed within one interval before the log switches to summaries. */
  maxPerInterval?: number;
  intervalMs?: number;
  /** During a long burst, a summary at most this often (default: every interval). */
  summaryEveryMs?: number;
  /** Reported in summaries, so a catch-up reads as one. */
  syncing?: () => boolean;
  /** The best height a peer reported; with it, summaries carry blocks/s and an ETA to reach it. */
  targetHeight?: () => number | undefined;
  now?: () => number;
}

type Source = AcceptedBlock['source'];

interface Summary {
  count: number;
  txs: number;
  fromHeight?: number;
  toHeight?: number;
  tip?: string;
  /** Blocks whose `block accepted` line went to debug, by source. */
  accepted?: Partial<Record<Source, number>>;
}

/**
 * `block connected` lines for the tip changes of a node, and `block accepted`
 * lines for the blocks its peer layer took from peers, syncs and the API. At
 * a normal pace every block gets one info line of each (hash, height, ...),
 * so one block can be followed across the logs of many nodes. When blocks
 * connect faster than `maxPerInterval` per interval (a catch-up sync of
 * thousands of blocks, a bulk generate, a long reorg), each block is still
 * logged at debug with the same messages and fields, and info gets one
 * `blocks connected` summary per interval until an interval passes without a
 * block. Only connected blocks set the pace: a block is accepted after it
 * connects, and counting it twice would halve the budget.
 */
export class BlockLog implements BlockLogPort {
  private readonly max: number;
  private readonly intervalMs: number;
  private readonly summaryEveryMs: number;
  /** A block connected or accepted since the last tick: the burst goes on. */
  private activeSinceTick = false;
  private readonly now: () => number;
  private recent: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Summary | undefined;
  /** When the pending summary started counting: the pace is its blocks over the time since. */
  private pendingSince = 0;

  constructor(
    private readonly logger: Logger,
    private readonly opts: BlockLogOptions = {},
  ) {
    this.max = opts.maxPerInterval ?? 5;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.summaryEveryMs = opts.summaryEveryMs ?? this.intervalMs;
    this.now = opts.now ?? Date.now;
  }

  /** True while blocks arrive too fast for one info line each. */
  get summarising(): boolean {
    return this.timer !== undefined;
  }

  connected(block: ConnectedBlock): void {
    const fields = { hash: block.hash, height: block.height, txs: block.txs };
    if (!this.summarising) {
      const now = this.now();
      this.recent = this.recent.filter((t) => now - t < this.intervalMs);
      if (this.recent.length < this.max) {
        this.recent.push(now);
        this.logger.info('block connected', fields);
        return;
      }
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    this.logger.debug('block connected', fields);
    const p = this.pendingSummary();
    p.count++;
    p.txs += block.txs;
    p.fromHeight ??= block.height;
    p.toHeight = block.height;
    p.tip = block.hash;
  }

  /**
   * During a burst the summary counts the block by source; a side-chain block
   * or one accepted just after a summary may leave `accepted` ahead of `count`.
   */
  accepted(block: AcceptedBlock): void {
    if (!this.summarising) {
      this.logger.info('block accepted', block);
      return;
    }
    this.logger.debug('block accepted', block);
    const p = this.pendingSummary();
    const bySource = (p.accepted ??= {});
    bySource[block.source] = (bySource[block.source] ?? 0) + 1;
  }

  private pendingSummary(): Summary {
    this.activeSinceTick = true;
    if (!this.pending) {
      this.pending = { count: 0, txs: 0 };
      this.pendingSince = this.now();
    }
    return this.pending;
  }

  /** A quiet interval ends the burst (its pending summary first); a long burst gets a summary every `summaryEveryMs`. */
  private tick(): void {
    const active = this.activeSinceTick;
    this.activeSinceTick = false;
    if (!active) {
      this.flush();
      this.quiet();
    } else if (this.pending && this.now() - this.pendingSince >= this.summaryEveryMs) {
      this.flush();
    }
  }

  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.logger.info('blocks connected', {
      ...p,
      syncing: this.opts.syncing?.() ?? false,
      ...(this.opts.targetHeight && this.progress(p)),
    });
  }

  /** A catch-up's pace and, while a peer is ahead, the time left at that pace. */
  private progress(p: Summary): { blocksPerSecond: number; targetHeight?: number; etaSeconds?: number } {
    const seconds = Math.max(this.now() - this.pendingSince, this.intervalMs) / 1000;
    const blocksPerSecond = Math.round((p.count / seconds) * 10) / 10;
    const target = this.opts.targetHeight?.();
    if (target === undefined || p.toHeight === undefined || target <= p.toHeight || blocksPerSecond === 0) {
      return { blocksPerSecond };
    }
    return {
      blocksPerSecond,
      targetHeight: target,
      etaSeconds: Math.ceil((target - p.toHeight) / blocksPerSecond),
    };
  }

  /** An interval without blocks: back to one info line per block. */
  private quiet(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.recent = [];
  }

  /** Logs what is pending and stops the timer (node stop). */
  close(): void {
    this.flush();
    this.quiet();
  }
}

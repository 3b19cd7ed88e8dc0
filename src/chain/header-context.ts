import { nextWorkRequired, type NetworkParams } from '../core/index.js';
import type { BlockIndex, BlockIndexEntry } from './block-index.js';
import type { LowWorkBlocks } from './low-work.js';

/**
 * What a header is checked against besides itself: the median time past of
 * its parent and the bits it must carry. Both walk ancestors, which may be in
 * the block index or held as low-work blocks.
 */
export class HeaderContext {
  private readonly mtpByEntry = new WeakMap<BlockIndexEntry, number>();

  constructor(
    private readonly params: NetworkParams,
    private readonly index: BlockIndex,
    private readonly lowWork: LowWorkBlocks,
  ) {}

  /**
   * Median of the times of the last `medianTimeSpan` blocks ending at `entry`.
   * An entry's ancestors never change, so neither does its median time past; the mempool asks once per transaction.
   */
  medianTimePast(entry: BlockIndexEntry): number {
    const known = this.mtpByEntry.get(entry);
    if (known !== undefined) return known;
    const times: number[] = [];
    let cur: BlockIndexEntry | undefined = entry;
    for (let i = 0; i < this.params.medianTimeSpan && cur; i++) {
      times.push(cur.header.time);
      cur = this.parentOf(cur);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    this.mtpByEntry.set(entry, median);
    return median;
  }

  /** The bits a block on `prev` must carry. */
  expectedBits(prev: BlockIndexEntry): number {
    const height = prev.height + 1;
    const interval = this.params.retargetInterval;
    if (this.params.noRetarget || height % interval !== 0) {
      return nextWorkRequired(this.params, { height, prevBits: prev.header.bits });
    }
    const first = this.ancestorOf(prev, height - interval) as BlockIndexEntry;
    return nextWorkRequired(this.params, {
      height,
      prevBits: prev.header.bits,
      firstBlockTime: first.header.time,
      lastBlockTime: prev.header.time,
    });
  }

  /** Parent of an index entry or of a held low-work block (whose ancestors may be held too). */
  private parentOf(e: BlockIndexEntry): BlockIndexEntry | undefined {
    return this.index.parentOf(e) ?? this.lowWork.get(e.prevHash)?.entry;
  }

  private ancestorOf(e: BlockIndexEntry, height: number): BlockIndexEntry | undefined {
    let cur: BlockIndexEntry | undefined = e;
    while (cur && cur.height > height && !this.index.has(cur.hash)) cur = this.parentOf(cur);
    return cur && this.index.getAncestor(cur, height);
  }
}

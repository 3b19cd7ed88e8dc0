import type { Block } from '../core/index.js';
import type { BlockIndexEntry } from './block-index.js';
import { BlockPool } from './block-pool.js';

/** A header-checked block kept in memory only, with the entry it would have in the block index. */
export interface HeldBlock {
  readonly entry: BlockIndexEntry;
  readonly block: Block;
  /** Serialized size. */
  readonly bytes: number;
}

/**
 * Side-branch blocks whose branch has less work than the tip. Like Bitcoin
 * Core, the chain does not store such blocks: forking from an old block costs
 * only the difficulty of that time, so storing them would let anyone fill the
 * disk. They wait here instead, bounded by count and bytes, in case more
 * blocks follow that bring their branch to the tip's work — which is how a
 * sync from a peer on a heavier fork arrives, one block after the other from
 * the fork point. When full, the oldest block goes first, and with it every
 * held block built on it (they could never be stored without it). A block
 * taken out to be stored is deleted alone: the blocks held on top of it stay,
 * their parent then stored.
 */
export class LowWorkBlocks extends BlockPool<HeldBlock> {
  constructor(limit: number, maxBytes: number) {
    super({
      limit,
      maxBytes,
      evictDescendants: true,
      hashOf: (held) => held.entry.hash,
      parentOf: (held) => held.entry.prevHash,
    });
  }
}

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
 *
 * Memory only, so they do not survive a restart (docs/ARCHITECTURE.md says why).
 * A policy over a BlockPool, as OrphanPool is: each exposes the operations its
 * use needs.
 */
export class LowWorkBlocks {
  private readonly pool: BlockPool<HeldBlock>;

  constructor(limit: number, maxBytes: number) {
    this.pool = new BlockPool({
      limit,
      maxBytes,
      evictDescendants: true,
      hashOf: (held) => held.entry.hash,
      parentOf: (held) => held.entry.prevHash,
    });
  }

  get size(): number {
    return this.pool.size;
  }

  get bytes(): number {
    return this.pool.bytes;
  }

  has(hash: string): boolean {
    return this.pool.has(hash);
  }

  get(hash: string): HeldBlock | undefined {
    return this.pool.get(hash);
  }

  /** Oldest first. */
  values(): IterableIterator<HeldBlock> {
    return this.pool.values();
  }

  /** Holds a block; false if making room evicted its held parent (it is then not held either). */
  add(held: HeldBlock): boolean {
    return this.pool.add(held);
  }

  /** The held blocks from the one whose parent is stored up to `hash`, lowest first. */
  branch(hash: string): HeldBlock[] {
    return this.pool.branch(hash);
  }

  /** Takes one block out (to be stored); the blocks held on it stay. */
  delete(hash: string): void {
    this.pool.delete(hash);
  }

  /** Forgets a block and every held block built on it. */
  drop(hash: string): void {
    this.pool.drop(hash);
  }
}

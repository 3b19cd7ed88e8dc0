import type { Block } from '../core/index.js';
import { BlockPool } from './block-pool.js';

export interface Orphan {
  readonly hash: string;
  readonly parent: string;
  readonly block: Block;
  /** Serialized size. */
  readonly bytes: number;
}

/**
 * Blocks whose parent is not yet known, held until the parent connects. Bounded
 * by count and by serialized size; when full the oldest orphan goes first, so a
 * flood of junk cannot grow memory. The orphans built on an evicted one stay:
 * their parent is missing like any other, to be fetched again (see rootOf).
 *
 * A policy over a BlockPool, as LowWorkBlocks is: each exposes the operations
 * its use needs.
 */
export class OrphanPool {
  private readonly pool: BlockPool<Orphan>;

  constructor(limit: number, maxBytes = 32 * 1024 * 1024) {
    this.pool = new BlockPool({
      limit,
      maxBytes,
      evictDescendants: false,
      hashOf: (orphan) => orphan.hash,
      parentOf: (orphan) => orphan.parent,
    });
  }

  get bytes(): number {
    return this.pool.bytes;
  }

  get size(): number {
    return this.pool.size;
  }

  has(hash: string): boolean {
    return this.pool.has(hash);
  }

  /** `bytes`: the block's serialized size. */
  add(hash: string, parent: string, block: Block, bytes: number): void {
    this.pool.add({ hash, parent, block, bytes });
  }

  /** Forgets one orphan (its own descendants stay, waiting for it like any missing parent). */
  delete(hash: string): void {
    this.pool.delete(hash);
  }

  /** Removes and returns the orphans waiting for `parent`. */
  takeChildren(parent: string): Orphan[] {
    const children = this.pool.children(parent);
    for (const child of children) this.pool.delete(child.hash);
    return children;
  }

  /** The oldest ancestor we hold of an orphan chain: the block sync should ask for next. */
  rootOf(hash: string): string | undefined {
    return this.pool.branch(hash)[0]?.parent;
  }
}

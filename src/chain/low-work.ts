import type { Block } from '../core/types.js';
import type { BlockIndexEntry } from './block-index.js';

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
 * held block built on it (they could never be stored without it).
 */
export class LowWorkBlocks {
  private readonly byHash = new Map<string, HeldBlock>();
  private readonly children = new Map<string, Set<string>>();
  private totalBytes = 0;

  constructor(
    private readonly limit: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.byHash.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  get(hash: string): HeldBlock | undefined {
    return this.byHash.get(hash);
  }

  values(): IterableIterator<HeldBlock> {
    return this.byHash.values();
  }

  /**
   * Holds `held`, evicting the oldest blocks to make room. Returns false if
   * eviction took its held parent, so that it can never be stored either.
   */
  add(held: HeldBlock): boolean {
    const { hash, prevHash } = held.entry;
    if (this.byHash.has(hash)) return true;
    const parentHeld = this.byHash.has(prevHash);
    while (
      this.byHash.size > 0 &&
      (this.byHash.size >= this.limit || this.totalBytes + held.bytes > this.maxBytes)
    ) {
      const oldest = this.byHash.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
    if (parentHeld && !this.byHash.has(prevHash)) return false;
    this.byHash.set(hash, held);
    this.totalBytes += held.bytes;
    let siblings = this.children.get(prevHash);
    if (!siblings) {
      siblings = new Set();
      this.children.set(prevHash, siblings);
    }
    siblings.add(hash);
    return true;
  }

  /** The held blocks from the first whose parent is not held up to `hash`, lowest first. */
  branch(hash: string): HeldBlock[] {
    const out: HeldBlock[] = [];
    for (let held = this.byHash.get(hash); held; held = this.byHash.get(held.entry.prevHash)) out.push(held);
    return out.reverse();
  }

  /** Forgets one block; blocks held on top of it stay (their parent is then stored). */
  delete(hash: string): void {
    const held = this.byHash.get(hash);
    if (!held) return;
    this.byHash.delete(hash);
    this.totalBytes -= held.bytes;
    const siblings = this.children.get(held.entry.prevHash);
    siblings?.delete(hash);
    if (siblings?.size === 0) this.children.delete(held.entry.prevHash);
  }

  /** Forgets `hash` and every block held on top of it. */
  drop(hash: string): void {
    const stack = [hash];
    for (let h = stack.pop(); h !== undefined; h = stack.pop()) {
      stack.push(...(this.children.get(h) ?? []));
      this.delete(h);
    }
  }
}

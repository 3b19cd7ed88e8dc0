/** How a pool is bounded, and how it reads the blocks it holds. */
export interface BlockPoolOptions<T> {
  /** Most blocks held at once. */
  readonly limit: number;
  /** Most serialized bytes held at once; a single larger block is still held, alone. */
  readonly maxBytes: number;
  /**
   * Whether evicting a block also evicts the pooled blocks built on it, for
   * pools whose blocks are of no use without their pooled parent.
   */
  readonly evictDescendants: boolean;
  readonly hashOf: (item: T) => string;
  readonly parentOf: (item: T) => string;
}

/**
 * Blocks kept in memory by hash, with an index from each parent hash to the
 * pooled blocks built on it. Bounded by count and by serialized size: when
 * full, the oldest block goes first (Map iteration order is insertion order),
 * so a flood of junk cannot grow memory.
 */
export class BlockPool<T extends { readonly bytes: number }> {
  private readonly byHash = new Map<string, T>();
  private readonly byParent = new Map<string, Set<string>>();
  private totalBytes = 0;

  constructor(private readonly opts: BlockPoolOptions<T>) {}

  get size(): number {
    return this.byHash.size;
  }

  /** Serialized size of the blocks held. */
  get bytes(): number {
    return this.totalBytes;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  get(hash: string): T | undefined {
    return this.byHash.get(hash);
  }

  /** Oldest first. */
  values(): IterableIterator<T> {
    return this.byHash.values();
  }

  /**
   * Holds `item`, evicting the oldest blocks to make room; a hash already held
   * is left as it is. Returns false if eviction (with `evictDescendants`) took
   * its pooled parent: it is then not held either.
   */
  add(item: T): boolean {
    const { evictDescendants, limit, maxBytes } = this.opts;
    const hash = this.opts.hashOf(item);
    const parent = this.opts.parentOf(item);
    if (this.byHash.has(hash)) return true;
    const parentHeld = this.byHash.has(parent);
    while (this.byHash.size > 0 && (this.byHash.size >= limit || this.totalBytes + item.bytes > maxBytes)) {
      const oldest = this.byHash.keys().next();
      if (oldest.done) break;
      if (evictDescendants) this.drop(oldest.value);
      else this.delete(oldest.value);
    }
    if (evictDescendants && parentHeld && !this.byHash.has(parent)) return false;
    this.byHash.set(hash, item);
    this.totalBytes += item.bytes;
    let siblings = this.byParent.get(parent);
    if (!siblings) {
      siblings = new Set();
      this.byParent.set(parent, siblings);
    }
    siblings.add(hash);
    return true;
  }

  /** The pooled blocks built directly on `parent`, oldest first. */
  children(parent: string): T[] {
    const out: T[] = [];
    for (const hash of this.byParent.get(parent) ?? []) {
      const child = this.byHash.get(hash);
      if (child) out.push(child);
    }
    return out;
  }

  /**
   * The pooled blocks from the first whose parent is not pooled up to `hash`,
   * lowest first; empty if `hash` is not pooled. The walk takes at most one
   * step per pooled block, so parent links that loop cannot hang it.
   */
  branch(hash: string): T[] {
    const out: T[] = [];
    for (
      let item = this.byHash.get(hash);
      item && out.length < this.byHash.size;
      item = this.byHash.get(this.opts.parentOf(item))
    ) {
      out.push(item);
    }
    return out.reverse();
  }

  /** Forgets one block; the blocks built on it stay. */
  delete(hash: string): void {
    const item = this.byHash.get(hash);
    if (!item) return;
    const parent = this.opts.parentOf(item);
    this.byHash.delete(hash);
    this.totalBytes -= item.bytes;
    const siblings = this.byParent.get(parent);
    siblings?.delete(hash);
    if (siblings?.size === 0) this.byParent.delete(parent);
  }

  /** Forgets `hash` and every pooled block built on it. */
  drop(hash: string): void {
    const stack = [hash];
    for (let h = stack.pop(); h !== undefined; h = stack.pop()) {
      stack.push(...(this.byParent.get(h) ?? []));
      this.delete(h);
    }
  }
}

import type { Block } from '../core/types.js';

interface Orphan {
  readonly hash: string;
  readonly parent: string;
  readonly block: Block;
  readonly bytes: number;
}

/**
 * Blocks whose parent is not yet known, held until the parent connects. Bounded
 * by count and by serialized size; when full the oldest orphan goes first (Map
 * iteration order is insertion order), so a flood of junk cannot grow memory.
 */
export class OrphanPool {
  private readonly byHash = new Map<string, Orphan>();
  private readonly byParent = new Map<string, Set<string>>();
  private totalBytes = 0;

  constructor(
    private readonly limit: number,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.byHash.size;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** `bytes`: the block's serialized size. */
  add(hash: string, parent: string, block: Block, bytes: number): void {
    if (this.byHash.has(hash)) return;
    while (
      this.byHash.size > 0 &&
      (this.byHash.size >= this.limit || this.totalBytes + bytes > this.maxBytes)
    ) {
      const oldest = this.byHash.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
    this.byHash.set(hash, { hash, parent, block, bytes });
    this.totalBytes += bytes;
    let children = this.byParent.get(parent);
    if (!children) {
      children = new Set();
      this.byParent.set(parent, children);
    }
    children.add(hash);
  }

  /** Removes and returns the orphans waiting for `parent`. */
  takeChildren(parent: string): Array<{ hash: string; block: Block }> {
    const children = this.byParent.get(parent);
    if (!children) return [];
    const out: Array<{ hash: string; block: Block }> = [];
    for (const hash of [...children]) {
      const orphan = this.byHash.get(hash);
      if (orphan) out.push({ hash, block: orphan.block });
      this.remove(hash);
    }
    return out;
  }

  /** The oldest ancestor we hold of an orphan chain: the block sync should ask for next. */
  rootOf(hash: string): string | undefined {
    let cur = this.byHash.get(hash);
    let guard = this.byHash.size;
    while (cur && guard-- > 0) {
      const parent = this.byHash.get(cur.parent);
      if (!parent) return cur.parent;
      cur = parent;
    }
    return cur?.parent;
  }

  private remove(hash: string): void {
    const orphan = this.byHash.get(hash);
    if (!orphan) return;
    this.byHash.delete(hash);
    this.totalBytes -= orphan.bytes;
    const siblings = this.byParent.get(orphan.parent);
    siblings?.delete(hash);
    if (siblings?.size === 0) this.byParent.delete(orphan.parent);
  }
}

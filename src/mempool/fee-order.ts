/**
 * Fee-rate ordering without floats. A rate is kept as a fixed-point integer,
 * fee per byte scaled by 2^32, computed once per transaction, so the orders
 * that run over the whole pool (block selection, eviction) compare bigints
 * without multiplying or allocating.
 */
export interface Rated {
  /** feeRateKey(fee, size). */
  readonly rate: bigint;
  /** Admission sequence: among equal rates the newer entry ranks lower. */
  readonly seq: number;
}

export function feeRateKey(fee: bigint, size: number): bigint {
  return (fee << 32n) / BigInt(size);
}

/** Negative when `a` ranks below `b` (a lower fee rate, or as high but newer): the one to evict first. */
export function compareFeeRate(a: Rated, b: Rated): number {
  if (a.rate !== b.rate) return a.rate < b.rate ? -1 : 1;
  return b.seq - a.seq;
}

/** Binary heap; `first(a, b)` is true when `a` belongs nearer the top than `b`. */
export class Heap<T> {
  private items: T[];

  constructor(
    private readonly first: (a: T, b: T) => boolean,
    items: T[] = [],
  ) {
    this.items = items;
    this.heapify();
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (last !== undefined && h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  /** Keeps only the items `keep` accepts. */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    this.heapify();
  }

  private heapify(): void {
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const h = this.items;
    const item = h[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as T;
      if (!this.first(item, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  private down(i: number): void {
    const h = this.items;
    const n = h.length;
    const item = h[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.first(h[r] as T, h[l] as T) ? r : l;
      if (!this.first(h[c] as T, item)) break;
      h[i] = h[c] as T;
      i = c;
    }
    h[i] = item;
  }
}

/**
 * Stale entries a heap may hold before it is compacted, whatever the pool's size. It was 1,024:
 * a pool of a few transactions then kept its last thousand confirmed ones, each with its whole
 * transaction, for minutes (the soak's heap snapshots); compaction is O(heap) once per
 * size/2 removals, so a small floor costs nothing.
 */
const STALE_FLOOR = 64;

/**
 * Lowest fee rate first, with lazy deletion: removal only marks an entry
 * (the mempool drops it from its map) and stale entries are skipped when they
 * reach the top. The heap is compacted when stale entries outnumber live
 * ones, so memory stays proportional to the pool.
 */
export class LowestFeeRateHeap<T extends Rated> {
  private readonly heap = new Heap<T>((a, b) => compareFeeRate(a, b) < 0);
  private stale = 0;

  constructor(private readonly isLive: (item: T) => boolean) {}

  /** Entries held, stale ones included: at most twice the live ones plus STALE_FLOOR. */
  get size(): number {
    return this.heap.size;
  }

  push(item: T): void {
    this.heap.push(item);
  }

  /** Call when an entry stops being live so the heap knows when to compact. */
  noteRemoved(): void {
    this.stale++;
    if (this.stale > STALE_FLOOR && this.stale > this.heap.size / 2) {
      this.heap.retain(this.isLive);
      this.stale = 0;
    }
  }

  /** The live entry with the lowest fee rate, without removing it. */
  peek(): T | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || this.isLive(top)) return top;
      this.heap.pop();
      this.stale = Math.max(0, this.stale - 1);
    }
  }
}

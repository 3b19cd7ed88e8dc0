/**
 * Fee-rate ordering without floats: rates are compared by cross-multiplying
 * fee and size, so two transactions with rates that differ by less than a
 * float's precision still order correctly.
 */
export interface Rated {
  readonly fee: bigint;
  readonly size: number;
  /** Admission sequence: among equal rates the newer entry ranks lower. */
  readonly seq: number;
}

/** Negative when `a` pays a lower fee rate than `b` (the one to evict first). */
export function compareFeeRate(a: Rated, b: Rated): number {
  const lhs = a.fee * BigInt(b.size);
  const rhs = b.fee * BigInt(a.size);
  if (lhs !== rhs) return lhs < rhs ? -1 : 1;
  return b.seq - a.seq;
}

/**
 * Binary min-heap by fee rate with lazy deletion: removal only marks an entry
 * (the mempool drops it from its map), and stale entries are skipped when they
 * reach the top. The heap is rebuilt when stale entries outnumber live ones,
 * so memory stays proportional to the pool.
 */
export class LowestFeeRateHeap<T extends Rated> {
  private heap: T[] = [];
  private stale = 0;

  constructor(private readonly isLive: (item: T) => boolean) {}

  push(item: T): void {
    this.heap.push(item);
    this.up(this.heap.length - 1);
  }

  /** Call when an entry stops being live so the heap knows when to compact. */
  noteRemoved(): void {
    this.stale++;
    if (this.stale > 1024 && this.stale > this.heap.length / 2) this.rebuild();
  }

  /** The live entry with the lowest fee rate, without removing it. */
  peek(): T | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || this.isLive(top)) return top;
      this.popTop();
      this.stale = Math.max(0, this.stale - 1);
    }
  }

  clear(): void {
    this.heap = [];
    this.stale = 0;
  }

  private rebuild(): void {
    this.heap = this.heap.filter(this.isLive);
    this.stale = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private popTop(): void {
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as T;
      if (compareFeeRate(item, p) >= 0) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && compareFeeRate(h[r] as T, h[l] as T) < 0) c = r;
      if (compareFeeRate(h[c] as T, item) >= 0) break;
      h[i] = h[c] as T;
      i = c;
    }
    h[i] = item;
  }
}

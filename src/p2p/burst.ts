/**
 * Items added during one synchronous burst of work (one gossip message learning dozens of
 * addresses, one reorg returning many transactions), handed to `flush` once, together, when
 * the burst is over (on the microtask queue, before any I/O).
 */
export class BurstBatch<T> {
  private items: T[] = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    if (this.items.length === 0) {
      queueMicrotask(() => {
        const batch = this.items;
        this.items = [];
        this.flush(batch);
      });
    }
    this.items.push(item);
  }
}

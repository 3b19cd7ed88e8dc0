import type { Transaction } from '../core/index.js';
import { compareFeeRate, Heap, type Rated } from './fee-order.js';

export interface Selectable extends Rated {
  readonly txid: string;
  readonly tx: Transaction;
  readonly fee: bigint;
  readonly size: number;
  /** Txids of unconfirmed parents held in the same pool. */
  readonly parents: ReadonlySet<string>;
}

// No transaction is smaller than this, so a block this close to full is done.
const MIN_TX_BYTES = 60;

/**
 * Greedy block assembly: highest fee rate first, but a transaction waits until
 * all its in-pool parents are in, so parents always precede children. A child
 * that outbids its parent is placed as soon as the parent's turn comes (it has
 * a higher rate than anything still unvisited). A transaction that does not fit
 * is skipped and its descendants can never be placed.
 */
export function selectByFeeRate(
  entries: Iterable<Selectable>,
  maxBytes: number,
): { txs: Transaction[]; fees: bigint; bytes: number } {
  // A heap rather than a full sort: a block takes a few thousand of a pool that may hold a hundred thousand.
  const best = new Heap<Selectable>((a, b) => compareFeeRate(a, b) > 0, [...entries]);
  const included = new Set<string>();
  const waiting = new Map<string, Selectable[]>();
  const missing = new Map<Selectable, number>();
  const txs: Transaction[] = [];
  let fees = 0n;
  let bytes = 0;

  const place = (first: Selectable): void => {
    const stack = [first];
    for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
      if (bytes + e.size > maxBytes) continue;
      included.add(e.txid);
      txs.push(e.tx);
      fees += e.fee;
      bytes += e.size;
      // Waiters are in descending rate order; push in reverse so the best pops first.
      const waiters = waiting.get(e.txid) ?? [];
      for (let i = waiters.length - 1; i >= 0; i--) {
        const child = waiters[i] as Selectable;
        const left = (missing.get(child) ?? 1) - 1;
        missing.set(child, left);
        if (left === 0) stack.push(child);
      }
      waiting.delete(e.txid);
    }
  };

  for (let e = best.pop(); e !== undefined; e = best.pop()) {
    if (bytes + MIN_TX_BYTES > maxBytes) break;
    let absent = 0;
    for (const p of e.parents) {
      if (included.has(p)) continue;
      absent++;
      const list = waiting.get(p);
      if (list) list.push(e);
      else waiting.set(p, [e]);
    }
    if (absent === 0) place(e);
    else missing.set(e, absent);
  }
  return { txs, fees, bytes };
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/core/primitives/types.js';
import {
  compareFeeRate,
  feeRateKey,
  Heap,
  LowestFeeRateHeap,
  type Rated,
} from '../../src/mempool/fee-order.js';
import { minimumFee } from '../../src/mempool/policy.js';
import { selectByFeeRate, type Selectable } from '../../src/mempool/select.js';

const dummyTx = (n: number): Transaction => ({ version: n, inputs: [], outputs: [], locktime: 0 });

type RatedSpec = Rated & { fee: bigint; size: number };

function rated(fee: bigint, size: number, seq: number): RatedSpec {
  return { fee, size, seq, rate: feeRateKey(fee, size) };
}

function entry(txid: string, fee: bigint, size: number, seq: number, parents: string[] = []): Selectable {
  return { txid, tx: dummyTx(seq), ...rated(fee, size, seq), parents: new Set(parents) };
}

describe('minimum fee', () => {
  it('is the rate per 1000 bytes, truncated but never zero for a positive rate', () => {
    expect(minimumFee(250, 1000n)).toBe(250n);
    expect(minimumFee(1999, 1000n)).toBe(1999n);
    expect(minimumFee(225, 3n)).toBe(1n);
    expect(minimumFee(225, 0n)).toBe(0n);
    expect(minimumFee(1000, 1500n)).toBe(1500n);
  });
});

describe('fee-rate comparison', () => {
  it('orders by fee per byte exactly, ties broken toward the older entry', () => {
    const a = rated(1000n, 250, 1); // 4/byte
    const b = rated(999n, 250, 2);
    const c = rated(2000n, 500, 3); // 4/byte, newer than a
    expect(compareFeeRate(b, a)).toBeLessThan(0);
    expect(compareFeeRate(c, a)).toBeLessThan(0);
    expect(compareFeeRate(a, c)).toBeGreaterThan(0);
  });

  it('a heap with lazy deletion always yields the lowest live entry', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            fee: fc.bigInt({ min: 0n, max: 10n ** 9n }),
            size: fc.integer({ min: 60, max: 5000 }),
            dead: fc.boolean(),
          }),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        (specs) => {
          const live = new Set<Rated>();
          const heap = new LowestFeeRateHeap<Rated>((r) => live.has(r));
          const all = specs.map((s, seq) => rated(s.fee, s.size, seq));
          for (const r of all) {
            live.add(r);
            heap.push(r);
          }
          specs.forEach((s, i) => {
            if (s.dead) {
              live.delete(all[i] as Rated);
              heap.noteRemoved();
            }
          });
          const expected = [...live].sort(compareFeeRate)[0];
          expect(heap.peek()).toBe(expected);
        },
      ),
    );
  });

  it('compacts after many removals and keeps yielding the lowest live entry', () => {
    const live = new Set<Rated>();
    const heap = new LowestFeeRateHeap<Rated>((r) => live.has(r));
    const all: Rated[] = [];
    for (let i = 0; i < 5000; i++) {
      const r = rated(BigInt((i * 7919) % 10_007), 100 + ((i * 31) % 400), i);
      all.push(r);
      live.add(r);
      heap.push(r);
    }
    for (let i = 0; i < 5000; i += 1) {
      if (i % 5 === 0) continue;
      live.delete(all[i] as Rated);
      heap.noteRemoved();
    }
    const sorted = [...live].sort(compareFeeRate);
    for (const expected of sorted.slice(0, 50)) {
      expect(heap.peek()).toBe(expected);
      live.delete(expected);
      heap.noteRemoved();
    }
  });

  it('holds few stale entries when the pool is small: memory follows the pool, not its history', () => {
    // A soak's mempool: a few transactions at a time, each confirmed (removed) soon after.
    const live = new Set<Rated>();
    const heap = new LowestFeeRateHeap<Rated>((r) => live.has(r));
    let largest = 0;
    for (let i = 0; i < 3000; i++) {
      const r = rated(BigInt(1000 + (i % 97)), 250, i);
      live.add(r);
      heap.push(r);
      if (live.size > 5) {
        live.delete(live.values().next().value as Rated);
        heap.noteRemoved();
      }
      largest = Math.max(largest, heap.size);
    }
    expect(largest).toBeLessThanOrEqual(2 * 6 + 65);
  });
});

describe('heap', () => {
  it('pops in order after heapify and pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.array(fc.integer()), (initial, pushed) => {
        const heap = new Heap<number>((a, b) => a < b, [...initial]);
        for (const p of pushed) heap.push(p);
        const out: number[] = [];
        for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x);
        expect(out).toEqual([...initial, ...pushed].sort((a, b) => a - b));
      }),
    );
  });
});

describe('block selection', () => {
  it('takes the highest fee rates first', () => {
    const e = [entry('a', 1000n, 200, 0), entry('b', 5000n, 200, 1), entry('c', 3000n, 200, 2)];
    const { txs, fees, bytes } = selectByFeeRate(e, 10_000);
    expect(txs.map((t) => t.version)).toEqual([1, 2, 0]);
    expect(fees).toBe(9000n);
    expect(bytes).toBe(600);
  });

  it('places a parent before a child that outbids it, and the child right after', () => {
    const e = [
      entry('child', 10_000n, 200, 0, ['parent']),
      entry('parent', 200n, 200, 1),
      entry('other', 2000n, 200, 2),
      entry('cheap', 300n, 200, 3),
    ];
    const order = selectByFeeRate(e, 10_000).txs.map((t) => t.version);
    expect(order).toEqual([2, 3, 1, 0]); // other (10/B), cheap (1.5/B), parent (1/B), then its child
  });

  it('respects the byte budget and never includes a child of a skipped parent', () => {
    const e = [
      entry('big', 900n, 900, 0),
      entry('kid', 9000n, 100, 1, ['big']),
      entry('small', 500n, 300, 2),
    ];
    const { txs, bytes } = selectByFeeRate(e, 500);
    expect(txs.map((t) => t.version)).toEqual([2]);
    expect(bytes).toBe(300);
  });

  it('property: parents precede children, budget holds, no child without its parents', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            fee: fc.bigInt({ min: 0n, max: 100_000n }),
            size: fc.integer({ min: 60, max: 1000 }),
            parents: fc.array(fc.nat(), { maxLength: 3 }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 20_000 }),
        (specs, budget) => {
          // Parents only among earlier entries: a DAG, as a pool is.
          const entries = specs.map((s, i) =>
            entry(`t${i}`, s.fee, s.size, i, i === 0 ? [] : [...new Set(s.parents.map((p) => `t${p % i}`))]),
          );
          const { txs, bytes, fees } = selectByFeeRate(entries, budget);
          expect(bytes).toBeLessThanOrEqual(budget);
          const placed = new Set<string>();
          let sum = 0n;
          for (const tx of txs) {
            const e = entries[tx.version] as Selectable;
            for (const p of e.parents) expect(placed.has(p)).toBe(true);
            placed.add(e.txid);
            sum += e.fee;
          }
          expect(fees).toBe(sum);
        },
      ),
    );
  });
});

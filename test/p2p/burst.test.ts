import { describe, expect, it } from 'vitest';
import { BurstBatch } from '../../src/p2p/burst.js';

describe('BurstBatch', () => {
  it('flushes what one synchronous burst added, once, in order, after the burst', async () => {
    const flushed: number[][] = [];
    const batch = new BurstBatch<number>((items) => flushed.push(items));
    batch.add(1);
    batch.add(2);
    batch.add(3);
    expect(flushed).toEqual([]);
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2, 3]]);
    batch.add(4);
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2, 3], [4]]);
  });

  it('collects items added while flushing into the next batch', async () => {
    const flushed: string[][] = [];
    const batch: BurstBatch<string> = new BurstBatch((items) => {
      flushed.push(items);
      if (items.includes('a')) batch.add('b');
    });
    batch.add('a');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(flushed).toEqual([['a'], ['b']]);
  });
});

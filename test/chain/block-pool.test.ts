import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../src/chain/block-pool.js';

interface Item {
  readonly hash: string;
  readonly parent: string;
  readonly bytes: number;
  readonly tag?: string;
}

const pool = (limit: number, maxBytes: number, evictDescendants = false): BlockPool<Item> =>
  new BlockPool<Item>({
    limit,
    maxBytes,
    evictDescendants,
    hashOf: (item) => item.hash,
    parentOf: (item) => item.parent,
  });

const item = (hash: string, parent: string, bytes = 100, tag?: string): Item => ({
  hash,
  parent,
  bytes,
  tag,
});
const hashes = (items: Iterable<Item>): string[] => [...items].map((i) => i.hash);

describe('block pool', () => {
  it('evicts by count, oldest first', () => {
    const p = pool(3, 1_000_000);
    for (const h of ['a', 'b', 'c']) p.add(item(h, 'root'));
    expect(p.add(item('d', 'root'))).toBe(true);
    expect(hashes(p.values())).toEqual(['b', 'c', 'd']);
    p.add(item('e', 'other'));
    expect(hashes(p.values())).toEqual(['c', 'd', 'e']);
    expect([p.size, p.bytes]).toEqual([3, 300]);
  });

  it('evicts by bytes, oldest first, as many as it takes; a block above the bound is held alone', () => {
    const p = pool(100, 1000);
    p.add(item('a', 'root', 400));
    p.add(item('b', 'root', 400));
    p.add(item('c', 'root', 200));
    expect([hashes(p.values()), p.bytes]).toEqual([['a', 'b', 'c'], 1000]);
    // 1000 + 300 > 1000: a goes, which is enough.
    p.add(item('d', 'root', 300));
    expect([hashes(p.values()), p.bytes]).toEqual([['b', 'c', 'd'], 900]);
    // 900 + 700 > 1000: b goes, and c too, as 500 + 700 still is.
    p.add(item('e', 'root', 700));
    expect([hashes(p.values()), p.bytes]).toEqual([['d', 'e'], 1000]);
    p.add(item('big', 'root', 5000));
    expect([hashes(p.values()), p.bytes]).toEqual([['big'], 5000]);
  });

  it('keeps the children index consistent through eviction and deletion', () => {
    const p = pool(3, 1_000_000);
    p.add(item('a', 'root'));
    p.add(item('b', 'root'));
    p.add(item('c', 'a'));
    expect(hashes(p.children('root'))).toEqual(['a', 'b']);
    // Evicting a (the oldest) takes it out of root's children; its own child stays.
    p.add(item('d', 'b'));
    expect(hashes(p.children('root'))).toEqual(['b']);
    expect(hashes(p.children('a'))).toEqual(['c']);
    expect(p.branch('c').map((i) => i.hash)).toEqual(['c']);
    p.delete('b');
    expect(p.children('root')).toEqual([]);
    expect(hashes(p.children('b'))).toEqual(['d']);
    p.delete('c');
    p.delete('d');
    expect([p.children('a'), p.children('b'), p.size, p.bytes]).toEqual([[], [], 0, 0]);
    // A hash deleted and added again is filed under its parent once.
    p.add(item('b', 'root'));
    p.add(item('a', 'root'));
    expect(hashes(p.children('root'))).toEqual(['b', 'a']);
    p.delete('nothing');
    expect(p.size).toBe(2);
  });

  it('with evictDescendants, eviction takes the blocks built on the evicted one, transitively', () => {
    const p = pool(4, 1_000_000, true);
    p.add(item('a', 'root'));
    p.add(item('x', 'other'));
    p.add(item('b', 'a'));
    p.add(item('c', 'b'));
    expect(p.add(item('y', 'other'))).toBe(true);
    expect(hashes(p.values())).toEqual(['x', 'y']);
    expect([p.children('root'), p.children('a'), p.children('b'), p.bytes]).toEqual([[], [], [], 200]);
    expect(hashes(p.children('other'))).toEqual(['x', 'y']);
  });

  it('with evictDescendants, a block whose pooled parent is evicted to make room is refused', () => {
    const p = pool(2, 1_000_000, true);
    p.add(item('a', 'root'));
    p.add(item('z', 'root'));
    expect(p.add(item('b', 'a'))).toBe(false);
    expect([hashes(p.values()), p.children('a')]).toEqual([['z'], []]);
    // Without it, the same block is held though its parent went.
    const q = pool(2, 1_000_000);
    q.add(item('a', 'root'));
    q.add(item('z', 'root'));
    expect(q.add(item('b', 'a'))).toBe(true);
    expect(hashes(q.values())).toEqual(['z', 'b']);
    expect(q.branch('b').map((i) => i.parent)).toEqual(['a']);
  });

  it('re-adding a held hash changes nothing: not its content, size or age', () => {
    const p = pool(2, 1_000_000);
    p.add(item('a', 'root', 100, 'first'));
    p.add(item('b', 'root'));
    expect(p.add(item('a', 'elsewhere', 999, 'second'))).toBe(true);
    expect([p.get('a')?.tag, p.size, p.bytes, p.children('elsewhere')]).toEqual(['first', 2, 200, []]);
    // Still the oldest: it is the one evicted next.
    p.add(item('c', 'root'));
    expect(hashes(p.values())).toEqual(['b', 'c']);
  });

  it('walks a branch down to the first block whose parent is not pooled', () => {
    const p = pool(10, 1_000_000);
    p.add(item('a2', 'a1'));
    p.add(item('a3', 'a2'));
    p.add(item('b3', 'a2'));
    expect(p.branch('a3').map((i) => i.hash)).toEqual(['a2', 'a3']);
    expect(p.branch('b3').map((i) => i.hash)).toEqual(['a2', 'b3']);
    expect(p.branch('a1')).toEqual([]);
    // Parent links that loop (impossible with real hashes) end the walk after one pass.
    p.add(item('x', 'y'));
    p.add(item('y', 'x'));
    expect(p.branch('x').length).toBeLessThanOrEqual(p.size);
  });
});

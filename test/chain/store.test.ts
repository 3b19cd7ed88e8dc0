import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Chain } from '../../src/chain/index.js';
import { decodeUndo, encodeUndo } from '../../src/chain/undo.js';
import {
  decodeCoin,
  decodeIndexEntry,
  encodeCoin,
  encodeIndexEntry,
  STORE_FORMAT,
} from '../../src/chain/store.js';
import { LowWorkBlocks, type HeldBlock } from '../../src/chain/low-work.js';
import { OrphanPool } from '../../src/chain/orphans.js';
import { isValidationError, REJECT_CODES } from '../../src/core/errors.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import type { Block, Coin } from '../../src/core/primitives/types.js';
import { tempDataDir } from '../helpers/chain-builder.js';

const coinArb: fc.Arbitrary<Coin> = fc.record({
  value: fc.bigInt({ min: 0n, max: 21_000_000n * 100_000_000n }),
  scriptPubKey: fc.uint8Array({ maxLength: 80 }),
  height: fc.integer({ min: 0, max: 0xffffffff }),
  coinbase: fc.boolean(),
});

describe('chain store encodings', () => {
  it('undo data round-trips', () => {
    fc.assert(
      fc.property(fc.array(coinArb, { maxLength: 20 }), (coins) => {
        expect(decodeUndo(encodeUndo(coins))).toEqual(coins);
      }),
    );
  });

  it('corrupt undo data fails with a typed error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeUndo(bytes);
        } catch (err) {
          expect(isValidationError(err)).toBe(true);
        }
      }),
    );
  });

  it('coins round-trip', () => {
    fc.assert(
      fc.property(coinArb, (coin) => {
        expect(decodeCoin(encodeCoin(coin))).toEqual(coin);
      }),
    );
  });

  it('index entries round-trip, with any chain work and an optional reject code', () => {
    const header = NETWORKS.regtest.genesis.header;
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom('header-valid', 'valid', 'invalid', 'failed-child' as const),
        fc.constantFrom(undefined, ...REJECT_CODES),
        (chainWork, seq, status, reason) => {
          const hash = new Uint8Array(32).fill(seq & 0xff);
          const raw = encodeIndexEntry({ header, height: seq >>> 1, status, seq, chainWork, reason });
          expect(decodeIndexEntry(hash, raw)).toEqual({
            hash,
            header,
            height: seq >>> 1,
            status,
            seq,
            chainWork,
            reason,
          });
        },
      ),
    );
  });
});

describe('stored reject codes', () => {
  const header = NETWORKS.regtest.genesis.header;
  const entry = { header, height: 7, status: 'invalid' as const, seq: 3, chainWork: 12345n };

  it('are kept as their text, so the order of REJECT_CODES does not matter', () => {
    const raw = encodeIndexEntry({ ...entry, reason: 'bad-blk-cb-amount' });
    expect(new TextDecoder().decode(raw)).toContain('bad-blk-cb-amount');
    // Pinned layout: header, height, status, seq, then the code as length + ASCII, then chain work.
    expect(raw[89]).toBe('bad-blk-cb-amount'.length);
    expect(raw.length).toBe(90 + 'bad-blk-cb-amount'.length + 2);
    expect(encodeIndexEntry({ ...entry, reason: undefined })[89]).toBe(0);
  });

  it('an unknown code is reported as corruption, never read as some other code', () => {
    const raw = encodeIndexEntry({ ...entry, reason: 'bad-blk-cb-amount' });
    const forged = raw.slice();
    forged.set(new TextEncoder().encode('bad-blk-cb-amoun!'), 90);
    expect(() => decodeIndexEntry(new Uint8Array(32), forged)).toThrow(
      /unknown reject code 'bad-blk-cb-amoun!'/,
    );
  });
});

describe('store format', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('a store written in another layout is refused at open with a clear error; this one reopens', async () => {
    const dir = await tempDataDir();
    dirs.push(dir);
    const chain = await Chain.open({ dataDir: dir, params: NETWORKS.regtest, scriptThreads: 0 });
    await chain.close();
    // This layout reopens.
    await (await Chain.open({ dataDir: dir, params: NETWORKS.regtest, scriptThreads: 0 })).close();

    // A store from before the format marker (reject codes stored by position) has no 'format' key.
    const formatKey = Uint8Array.of(0x6d, ...new TextEncoder().encode('format'));
    const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'chain'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    expect([...((await db.get(formatKey)) ?? [])]).toEqual([STORE_FORMAT, 0, 0, 0]);
    await db.del(formatKey);
    await db.close();
    await expect(Chain.open({ dataDir: dir, params: NETWORKS.regtest, scriptThreads: 0 })).rejects.toThrow(
      /chain store format 1 is not the supported format 2/,
    );
  });
});

describe('orphan pool', () => {
  const block = (n: number): Block => ({ header: { ...NETWORKS.regtest.genesis.header, nonce: n }, txs: [] });

  it('finds the missing root of an orphan chain and hands children over once', () => {
    const pool = new OrphanPool(10);
    pool.add('c', 'b', block(3), 100);
    pool.add('b', 'a', block(2), 100);
    pool.add('b2', 'a', block(22), 100);
    expect(pool.rootOf('c')).toBe('a');
    expect(pool.rootOf('b2')).toBe('a');
    expect(pool.takeChildren('a').map((o) => o.hash)).toEqual(['b', 'b2']);
    expect(pool.takeChildren('a')).toEqual([]);
    expect(pool.has('b')).toBe(false);
    expect(pool.rootOf('c')).toBe('b');
    expect(pool.size).toBe(1);
  });

  it('evicts the oldest orphan when full', () => {
    const pool = new OrphanPool(2);
    pool.add('x', 'p', block(1), 100);
    pool.add('y', 'p', block(2), 100);
    pool.add('z', 'q', block(3), 100);
    expect(pool.has('x')).toBe(false);
    expect(pool.size).toBe(2);
    expect(pool.takeChildren('p').map((o) => o.hash)).toEqual(['y']);
    expect(pool.bytes).toBe(100);
  });

  it('evicts the oldest orphans when their total size would exceed the byte bound', () => {
    const pool = new OrphanPool(100, 1000);
    pool.add('x', 'p', block(1), 400);
    pool.add('y', 'p', block(2), 400);
    pool.add('z', 'q', block(3), 400);
    expect(pool.has('x')).toBe(false);
    expect(pool.bytes).toBe(800);
    // A single block above the bound is still kept (alone), so a large orphan can connect later.
    pool.add('big', 'r', block(4), 5000);
    expect([pool.size, pool.bytes, pool.has('big')]).toEqual([1, 5000, true]);
  });
});

describe('low-work block pool', () => {
  const header = NETWORKS.regtest.genesis.header;
  const held = (hash: string, prevHash: string, height: number, bytes = 100): HeldBlock => ({
    entry: { hash, prevHash, header, height, chainWork: BigInt(height), seq: 0, status: 'header-valid' },
    block: { header, txs: [] },
    bytes,
  });

  it('walks a held branch down to the block whose parent is stored', () => {
    const pool = new LowWorkBlocks(10, 10_000);
    for (const [h, p, n] of [
      ['a1', 'root', 1],
      ['a2', 'a1', 2],
      ['a3', 'a2', 3],
      ['b2', 'a1', 2],
    ] as const) {
      expect(pool.add(held(h, p, n))).toBe(true);
    }
    expect(pool.branch('a3').map((x) => x.entry.hash)).toEqual(['a1', 'a2', 'a3']);
    expect(pool.branch('b2').map((x) => x.entry.hash)).toEqual(['a1', 'b2']);
    // Storing a1 takes it out; the blocks on top of it stay, now rooted at a stored parent.
    pool.delete('a1');
    expect(pool.branch('a3').map((x) => x.entry.hash)).toEqual(['a2', 'a3']);
    expect([pool.size, pool.bytes]).toEqual([3, 300]);
  });

  it('is bounded by count and bytes; an evicted block takes the blocks held on it along', () => {
    const pool = new LowWorkBlocks(3, 10_000);
    pool.add(held('a1', 'root', 1));
    pool.add(held('a2', 'a1', 2));
    pool.add(held('x1', 'other', 1));
    // Full: the oldest (a1) goes, and a2 with it, which could never be stored without it.
    expect(pool.add(held('y1', 'other', 1))).toBe(true);
    expect(['a1', 'a2', 'x1', 'y1'].map((h) => pool.has(h))).toEqual([false, false, true, true]);
    expect(pool.bytes).toBe(200);

    const small = new LowWorkBlocks(100, 250);
    small.add(held('p', 'root', 1));
    small.add(held('q', 'root', 1));
    // Room is made from the oldest, which here is the new block's own parent: it is not held either.
    expect(small.add(held('p2', 'p', 2))).toBe(false);
    expect([small.has('p'), small.has('p2'), small.has('q'), small.bytes]).toEqual([false, false, true, 100]);
  });
});

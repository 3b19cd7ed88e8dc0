import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUndo, encodeUndo } from '../src/chain/undo.js';
import { decodeCoin, decodeIndexEntry, encodeCoin, encodeIndexEntry } from '../src/chain/store.js';
import { OrphanPool } from '../src/chain/orphans.js';
import { isValidationError } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/params.js';
import type { Block, Coin } from '../src/core/types.js';

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
        fc.constantFrom(undefined, 'bad-blk-cb-amount' as const, 'bad-txns-script-verify-failed' as const),
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

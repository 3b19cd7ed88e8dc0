import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { decodeBlock, encodeHeader, headerHash } from '../../src/core/primitives/block.js';
import { fromHex, toDisplayHex, toHex } from '../../src/core/primitives/bytes.js';
import {
  completeBlock,
  decodeBlockTxn,
  decodeBlockTxnRequest,
  decodeCompactBlock,
  encodeBlockTxn,
  encodeBlockTxnRequest,
  encodeCompactBlock,
  fillFromPool,
  matchesHeader,
  MAX_COMPACT_TXS,
  missingIndexes,
  shortIdKey,
  shortTxId,
  toCompactBlock,
  type CompactBlock,
  type PoolLookup,
} from '../../src/core/primitives/compact-block.js';
import { computeMerkleRoot } from '../../src/core/primitives/merkle.js';
import { decodeTx, encodeTx, txHash, txid } from '../../src/core/primitives/tx.js';
import type { Block, Transaction } from '../../src/core/primitives/types.js';
import { codeOf } from '../helpers/errors.js';
import { loadVectors } from '../helpers/vectors.js';

interface ShortIdVector {
  tx: string;
  txid: string;
  header: string;
  blockHash: string;
  nonce: string;
  shortId: string;
}
const shortIdVectors = loadVectors<{ vectors: ShortIdVector[] }>('bip152-short-ids.json').vectors;
const blocks = loadVectors<{
  fullBlocks: Array<{ name: string; hex: string }>;
  realTxSource: { hex: string };
}>('blocks.json');
const block170 = decodeBlock(fromHex(blocks.fullBlocks.find((b) => b.name.includes('170'))!.hex));

/** Ten real testnet transactions (a coinbase first) under a header whose merkle root commits to them. */
function realBlock(): Block {
  const source = decodeBlock(fromHex(blocks.realTxSource.hex));
  const merkleRoot = computeMerkleRoot(source.txs.map(txHash)).root;
  return { header: { ...source.header, merkleRoot }, txs: source.txs };
}

/** The mempool port over a list: each transaction keyed once; a key two of them share is ambiguous (null). */
function poolOf(txs: readonly Transaction[]): PoolLookup {
  return (keyOf, wanted) => {
    const found = new Map<number, Transaction | null>();
    for (const tx of txs) {
      const key = keyOf(txHash(tx));
      if (!wanted.has(key)) continue;
      found.set(key, found.has(key) ? null : tx);
    }
    return found;
  };
}

const le6 = (n: number) => {
  const b = Buffer.alloc(6);
  b.writeUIntLE(n, 0, 6);
  return b.toString('hex');
};

describe('BIP152 short transaction ids', () => {
  it.each(shortIdVectors.map((v) => [v.txid, v] as const))('mainnet transaction %s', (_id, v) => {
    const tx = decodeTx(fromHex(v.tx));
    expect(txid(tx)).toBe(v.txid);
    const header = decodeBlock(fromHex(`${v.header}00`)).header;
    expect(toDisplayHex(headerHash(header))).toBe(v.blockHash);
    expect(le6(shortTxId(shortIdKey(header, BigInt(v.nonce)), txHash(tx)))).toBe(v.shortId);
  });

  it('depend on the nonce and on the header: another key, other ids', () => {
    const tx = block170.txs[1]!;
    const a = shortTxId(shortIdKey(block170.header, 1n), txHash(tx));
    expect(shortTxId(shortIdKey(block170.header, 2n), txHash(tx))).not.toBe(a);
    const other = { ...block170.header, nonce: block170.header.nonce + 1 };
    expect(shortTxId(shortIdKey(other, 1n), txHash(tx))).not.toBe(a);
    expect(a).toBeLessThan(2 ** 48);
  });
});

describe('compact block encoding', () => {
  it('mainnet block 170: header, nonce, one short id, the coinbase prefilled at index 0', () => {
    const nonce = 0x0102030405060708n;
    const c = toCompactBlock(block170, nonce);
    const id = shortTxId(shortIdKey(block170.header, nonce), txHash(block170.txs[1]!));
    expect(c.shortIds).toEqual([id]);
    const expected =
      toHex(encodeHeader(block170.header)) +
      '0807060504030201' + // nonce, little-endian
      '01' +
      le6(id) +
      '01' + // one prefilled transaction
      '00' + // at index 0 (differential: 0 - (-1) - 1)
      toHex(encodeTx(block170.txs[0]!));
    expect(toHex(encodeCompactBlock(c))).toBe(expected);
    const back = decodeCompactBlock(fromHex(expected));
    expect(back.nonce).toBe(nonce);
    expect(back.shortIds).toEqual([id]);
    expect(back.prefilled.map((p) => [p.index, txid(p.tx)])).toEqual([[0, txid(block170.txs[0]!)]]);
    expect(toHex(encodeHeader(back.header))).toBe(toHex(encodeHeader(block170.header)));
  });

  it('prefilled indexes travel as differences (0, 3, 9 -> 00 02 05) and come back absolute', () => {
    const block = realBlock();
    const key = shortIdKey(block.header, 7n);
    const prefilledAt = [0, 3, 9];
    const c: CompactBlock = {
      header: block.header,
      nonce: 7n,
      shortIds: block.txs.filter((_, i) => !prefilledAt.includes(i)).map((tx) => shortTxId(key, txHash(tx))),
      prefilled: prefilledAt.map((index) => ({ index, tx: block.txs[index]! })),
    };
    const raw = encodeCompactBlock(c);
    const afterIds = 80 + 8 + 1 + 7 * 6;
    expect(raw[afterIds]).toBe(3);
    expect(raw[afterIds + 1]).toBe(0);
    const back = decodeCompactBlock(raw);
    expect(back.prefilled.map((p) => p.index)).toEqual(prefilledAt);
    expect(toHex(encodeCompactBlock(back))).toBe(toHex(raw));
  });

  it('a compact block of real transactions is 6 bytes per transaction plus the header, nonce and coinbase', () => {
    const block = realBlock();
    const raw = encodeCompactBlock(toCompactBlock(block, 1n));
    expect(raw.length).toBe(80 + 8 + 1 + 9 * 6 + 1 + 1 + encodeTx(block.txs[0]!).length);
  });

  it('getblocktxn and blocktxn round-trip, indexes differential', () => {
    const block = realBlock();
    const blockHash = headerHash(block.header);
    const req = { blockHash, indexes: [1, 2, 5, 300] };
    const raw = encodeBlockTxnRequest(req);
    expect(toHex(raw)).toBe(toHex(blockHash) + '04' + '01' + '00' + '02' + 'fd2601');
    expect(decodeBlockTxnRequest(raw).indexes).toEqual(req.indexes);
    const answer = encodeBlockTxn({ blockHash, txs: [block.txs[1]!, block.txs[2]!] });
    const back = decodeBlockTxn(answer);
    expect(toHex(back.blockHash)).toBe(toHex(blockHash));
    expect(back.txs.map(txid)).toEqual([txid(block.txs[1]!), txid(block.txs[2]!)]);
  });
});

describe('compact block decoding refuses malformed input with a code per field', () => {
  const good = encodeCompactBlock(toCompactBlock(realBlock(), 5n));
  const header = toHex(good.subarray(0, 80));
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'bad-encoding-truncated'],
    ['half a header', header.slice(0, 80), 'bad-encoding-truncated'],
    ['no nonce', header, 'bad-encoding-truncated'],
    ['no short id count', header + '00'.repeat(8), 'bad-encoding-truncated'],
    ['more short ids than bytes', header + '00'.repeat(8) + '05' + 'ab'.repeat(12), 'bad-encoding-oversize'],
    [
      'one short id announced, five bytes present',
      header + '00'.repeat(8) + '01' + 'ab'.repeat(5),
      'bad-encoding-oversize',
    ],
    ['non-minimal count', header + '00'.repeat(8) + 'fd0100', 'bad-encoding'],
    ['no transaction at all', header + '00'.repeat(8) + '00' + '00', 'bad-cmpct-empty'],
    [
      'prefilled index beyond the block',
      header + '00'.repeat(8) + '01' + 'ab'.repeat(6) + '01' + '02' + toHex(encodeTx(block170.txs[0]!)),
      'bad-cmpct-prefilled-index',
    ],
    [
      'prefilled index overflowing past the block by a huge gap',
      header + '00'.repeat(8) + '00' + '01' + 'feffffffff' + toHex(encodeTx(block170.txs[0]!)),
      'bad-cmpct-prefilled-index',
    ],
    [
      'a prefilled transaction cut short',
      header + '00'.repeat(8) + '00' + '01' + '00' + toHex(encodeTx(block170.txs[0]!)).slice(0, -4),
      'bad-encoding-truncated',
    ],
    ['trailing bytes', toHex(good) + '00', 'bad-encoding-trailing'],
  ];
  it.each(cases)('%s', (_name, hex, code) => {
    expect(codeOf(() => decodeCompactBlock(fromHex(hex)))).toBe(code);
  });

  it('more short ids than the largest block holds', () => {
    const n = MAX_COMPACT_TXS + 1;
    const count = Buffer.alloc(5);
    count[0] = 0xfe;
    count.writeUInt32LE(n, 1);
    const raw = Buffer.concat([good.subarray(0, 88), count, Buffer.alloc(n * 6), Buffer.from([0])]);
    expect(codeOf(() => decodeCompactBlock(raw))).toBe('bad-cmpct-toomany');
  });

  it('getblocktxn: no index, an index beyond any block, trailing bytes, a truncated hash', () => {
    const h = '11'.repeat(32);
    expect(codeOf(() => decodeBlockTxnRequest(fromHex(h + '00')))).toBe('bad-blocktxn-index');
    expect(codeOf(() => decodeBlockTxnRequest(fromHex(h + '01' + 'fe40420f00')))).toBe('bad-blocktxn-index');
    expect(codeOf(() => decodeBlockTxnRequest(fromHex(h + '0100' + '00')))).toBe('bad-encoding-trailing');
    expect(codeOf(() => decodeBlockTxnRequest(fromHex(h.slice(0, 40))))).toBe('bad-encoding-truncated');
    expect(codeOf(() => decodeBlockTxnRequest(fromHex(h + '05' + '00')))).toBe('bad-encoding-oversize');
  });

  it('blocktxn: a count beyond its bytes, a truncated transaction', () => {
    const h = '11'.repeat(32);
    expect(codeOf(() => decodeBlockTxn(fromHex(h + '09' + '00')))).toBe('bad-encoding-oversize');
    const tx = toHex(encodeTx(block170.txs[1]!));
    expect(codeOf(() => decodeBlockTxn(fromHex(h + '01' + tx.slice(0, -2))))).toBe('bad-encoding-truncated');
  });

  it('never throws anything but a ValidationError on mutated or random bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(good.length),
        (flips, cut) => {
          const raw = Uint8Array.from(good.subarray(0, cut));
          for (const [at, byte] of flips) if (at < raw.length) raw[at] = byte;
          for (const decode of [decodeCompactBlock, decodeBlockTxnRequest, decodeBlockTxn]) {
            try {
              decode(raw);
            } catch (err) {
              if (!(err instanceof ValidationError)) throw err;
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('rebuilding a block from a compact block and a pool', () => {
  const block = realBlock();
  const compact = decodeCompactBlock(encodeCompactBlock(toCompactBlock(block, 99n)));

  it('every transaction in the pool: the block, with its merkle root', () => {
    const pool = [...block.txs.slice(1)].reverse();
    const partial = fillFromPool(compact, poolOf(pool))!;
    expect(partial.fromPool).toBe(9);
    expect(missingIndexes(partial)).toEqual([]);
    const rebuilt = completeBlock(partial, []);
    expect(rebuilt.txs.map(txid)).toEqual(block.txs.map(txid));
    expect(matchesHeader(rebuilt)).toBe(true);
  });

  it('missing transactions are named by index and filled from the answer in order', () => {
    const pool = block.txs.filter((_, i) => i !== 0 && i !== 4 && i !== 7);
    const partial = fillFromPool(compact, poolOf(pool))!;
    expect(partial.fromPool).toBe(7);
    expect(missingIndexes(partial)).toEqual([4, 7]);
    const rebuilt = completeBlock(partial, [block.txs[4]!, block.txs[7]!]);
    expect(matchesHeader(rebuilt)).toBe(true);
    expect(codeOf(() => completeBlock(partial, [block.txs[4]!]))).toBe('bad-blocktxn-count');
  });

  it('the wrong transaction in a slot is caught by the merkle root', () => {
    const pool = block.txs.filter((_, i) => i !== 4);
    const partial = fillFromPool(compact, poolOf(pool))!;
    expect(matchesHeader(completeBlock(partial, [block.txs[5]!]))).toBe(false);
  });

  it('a short id two pool transactions share is left missing, to be fetched', () => {
    const pool = block.txs.slice(1);
    const target = compact.shortIds[2]!;
    const ambiguous: PoolLookup = (keyOf, wanted) => {
      const found = new Map(poolOf(pool)(keyOf, wanted));
      found.set(target, null);
      return found;
    };
    const partial = fillFromPool(compact, ambiguous)!;
    expect(missingIndexes(partial)).toEqual([3]);
  });

  it('two equal short ids in the block cannot be rebuilt: undefined, the whole block is fetched', () => {
    const collided: CompactBlock = {
      ...compact,
      shortIds: [compact.shortIds[0]!, ...compact.shortIds.slice(0, -1)],
    };
    expect(fillFromPool(collided, poolOf(block.txs))).toBeUndefined();
  });
});

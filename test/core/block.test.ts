import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  blockHashOf,
  blockSize,
  headerHash,
} from '../../src/core/primitives/block.js';
import { fromHex, toDisplayHex, toHex } from '../../src/core/primitives/bytes.js';
import { ValidationError } from '../../src/core/errors.js';
import { computeMerkleRoot } from '../../src/core/primitives/merkle.js';
import { txHash, txid } from '../../src/core/primitives/tx.js';
import { loadVectors } from '../helpers/vectors.js';
import { rebuildBlock } from '../helpers/chain-builder.js';
import { codeOf } from '../helpers/errors.js';

interface FullBlock {
  name: string;
  hex: string;
  hash?: string;
  prevHash?: string;
  merkleRoot?: string;
  txids?: string[];
}
interface HeaderVector {
  name: string;
  hex: string;
  hash?: string;
  merkleRoot?: string;
  bits?: number;
  time?: number;
  nonce?: number;
}
interface BlockVectors {
  fullBlocks: FullBlock[];
  headers: HeaderVector[];
  merkle: Array<{ name: string; root: string; txids: string[] }>;
  realTxSource: { hex: string };
}
const v = loadVectors<BlockVectors>('blocks.json');

describe('blocks: real Bitcoin data', () => {
  it.each(v.fullBlocks.map((b) => [b.name, b] as const))('%s', (_name, b) => {
    const raw = fromHex(b.hex);
    const block = decodeBlock(raw);
    expect(toHex(encodeBlock(block))).toBe(b.hex);
    // The encoder itself, on a copy without the bytes decoding kept, and the hashes computed afresh.
    const rebuilt = rebuildBlock(block);
    expect(toHex(encodeBlock(rebuilt))).toBe(b.hex);
    expect(blockSize(rebuilt)).toBe(raw.length);
    expect(rebuilt.txs.map(txid)).toEqual(block.txs.map(txid));
    expect(blockSize(block)).toBe(raw.length);
    if (b.hash) expect(blockHashOf(block.header)).toBe(b.hash);
    if (b.prevHash) expect(toDisplayHex(block.header.prevHash)).toBe(b.prevHash);
    if (b.txids) expect(block.txs.map(txid)).toEqual(b.txids);
    const { root, mutated } = computeMerkleRoot(block.txs.map(txHash));
    expect(toHex(root)).toBe(toHex(block.header.merkleRoot));
    expect(mutated).toBe(false);
    if (b.merkleRoot) expect(toDisplayHex(root)).toBe(b.merkleRoot);
  });

  it('real blocks link by prevHash (0 <- ... 2 <- 3, 169 <- 170)', () => {
    const byName = new Map(v.fullBlocks.map((b) => [b.name, decodeBlock(fromHex(b.hex))]));
    const get = (prefix: string) => [...byName].find(([n]) => n.startsWith(prefix))?.[1];
    const b2 = get('mainnet block 2');
    const b3 = get('mainnet block 3');
    const b169 = get('mainnet block 169');
    const b170 = get('mainnet block 170');
    expect(b2 && b3 && b169 && b170).toBeTruthy();
    expect(toHex(b3!.header.prevHash)).toBe(toHex(headerHash(b2!.header)));
    expect(toHex(b170!.header.prevHash)).toBe(toHex(headerHash(b169!.header)));
  });

  it.each(v.headers.map((h) => [h.name, h] as const))('header %s', (_name, h) => {
    const header = decodeHeader(fromHex(h.hex));
    expect(toHex(encodeHeader(header))).toBe(h.hex);
    if (h.hash) expect(blockHashOf(header)).toBe(h.hash);
    if (h.merkleRoot) expect(toDisplayHex(header.merkleRoot)).toBe(h.merkleRoot);
    if (h.bits !== undefined) expect(header.bits).toBe(h.bits);
    if (h.time !== undefined) expect(header.time).toBe(h.time);
    if (h.nonce !== undefined) expect(header.nonce).toBe(h.nonce);
  });

  it('decodes the block holding real testnet transactions', () => {
    const block = decodeBlock(fromHex(v.realTxSource.hex));
    expect(block.txs.length).toBe(10);
    expect(toHex(encodeBlock(block))).toBe(v.realTxSource.hex);
  });
});

describe('merkle', () => {
  it.each(v.merkle.map((m) => [m.name, m] as const))('%s root from published txids', (_name, m) => {
    const hashes = m.txids.map((t) => fromHex(t).reverse());
    const { root, mutated } = computeMerkleRoot(hashes);
    expect(toDisplayHex(root)).toBe(m.root);
    expect(mutated).toBe(false);
  });

  it('flags the CVE-2012-2459 mutation: duplicating the odd last txid keeps the root but sets mutated', () => {
    const b170 = v.fullBlocks.find((b) => b.name.startsWith('mainnet block 170'))!;
    const ids = decodeBlock(fromHex(b170.hex)).txs.map(txHash);
    const three = [...ids, fromHex('11'.repeat(32))];
    const honest = computeMerkleRoot(three.slice(0, 3));
    const forged = computeMerkleRoot([...three.slice(0, 3), three[2]!]);
    expect(toHex(forged.root)).toBe(toHex(honest.root));
    expect(honest.mutated).toBe(false);
    expect(forged.mutated).toBe(true);
  });

  it('single leaf is the root; empty list gives zero hash', () => {
    const h = fromHex('ab'.repeat(32));
    expect(toHex(computeMerkleRoot([h]).root)).toBe(toHex(h));
    expect(toHex(computeMerkleRoot([]).root)).toBe('00'.repeat(32));
  });

  it('distinct leaves are never reported as mutated (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 40 }), (ns) => {
        const leaves = ns.map((n) => {
          const b = new Uint8Array(32);
          new DataView(b.buffer).setUint32(0, n);
          return b;
        });
        expect(computeMerkleRoot(leaves).mutated).toBe(false);
      }),
    );
  });
});

describe('blocks: malformed input', () => {
  const genesis = fromHex(v.fullBlocks[0]!.hex);

  it('rejects truncations, trailing bytes and wrong header sizes with typed errors', () => {
    for (let n = 0; n < genesis.length; n += 7) {
      expect(codeOf(() => decodeBlock(genesis.subarray(0, n)))).toMatch(/^bad-encoding/);
    }
    const extra = new Uint8Array(genesis.length + 1);
    extra.set(genesis);
    expect(codeOf(() => decodeBlock(extra))).toBe('bad-encoding-trailing');
    expect(codeOf(() => decodeHeader(genesis.subarray(0, 79)))).toBe('bad-encoding-truncated');
    expect(codeOf(() => decodeHeader(genesis.subarray(0, 81)))).toBe('bad-encoding-trailing');
  });

  it('fails fast on a forged tx count', () => {
    const raw = new Uint8Array(80 + 9 + 100);
    raw.set(genesis.subarray(0, 80));
    raw.set(fromHex('ff0000000000000010'), 80);
    expect(codeOf(() => decodeBlock(raw))).toBe('bad-encoding-oversize');
  });

  it('random bytes after a real header only ever throw ValidationError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const raw = new Uint8Array(80 + tail.length);
        raw.set(genesis.subarray(0, 80));
        raw.set(tail, 80);
        let block;
        try {
          block = decodeBlock(raw);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          return;
        }
        // Both paths: the decoded block (transactions keep the bytes they were read from) and a rebuild.
        expect(toHex(encodeBlock(block))).toBe(toHex(raw));
        expect(toHex(encodeBlock(rebuildBlock(block)))).toBe(toHex(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it('random transaction lists round-trip through the encoder (property)', () => {
    const tx = fc.record({
      version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      inputs: fc.array(
        fc.record({
          prevTxid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          prevVout: fc.nat({ max: 0xffffffff }),
          scriptSig: fc.uint8Array({ maxLength: 120 }),
          sequence: fc.nat({ max: 0xffffffff }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      outputs: fc.array(
        fc.record({
          value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          scriptPubKey: fc.uint8Array({ maxLength: 60 }),
        }),
        { maxLength: 3 },
      ),
      locktime: fc.nat({ max: 0xffffffff }),
    });
    const header = decodeHeader(genesis.subarray(0, 80));
    fc.assert(
      fc.property(fc.array(tx, { maxLength: 6 }), fc.nat({ max: 0xffffffff }), (txs, nonce) => {
        const block = { header: { ...header, nonce }, txs };
        const raw = encodeBlock(block);
        expect(blockSize(block)).toBe(raw.length);
        const back = decodeBlock(raw);
        expect(back).toEqual(block);
        expect(toHex(encodeBlock(rebuildBlock(back)))).toBe(toHex(raw));
        expect(toHex(encodeBlock(back))).toBe(toHex(raw));
      }),
      { numRuns: 300 },
    );
  });
});

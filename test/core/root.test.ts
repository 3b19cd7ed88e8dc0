import { describe, expect, it } from 'vitest';
import {
  blockHash,
  checkProofOfWork,
  decodeTx,
  fromHex,
  legacySighash,
  merkleRoot,
  toDisplayHex,
  ValidationError,
  verifyP2pkhInput,
} from '../../src/index.js';
import { loadVectors } from '../helpers/vectors.js';

interface BlockVectors {
  headers: Array<{ name: string; hex: string; hash?: string }>;
  merkle: Array<{ root: string; txids: string[] }>;
  fullBlocks: Array<{ name: string; txids?: string[]; hex: string }>;
}
const blocks = loadVectors<BlockVectors>('blocks.json');
const p2pkh = loadVectors<{ prevTx: string; tx: string }>('p2pkh-txs.json');
const sighash =
  loadVectors<Array<[string, string, number, number, string] | [string]>>('sighash-legacy.json');

describe('package root API (required signatures)', () => {
  it('blockHash and checkProofOfWork on real mainnet headers', () => {
    for (const h of blocks.headers) {
      const raw = fromHex(h.hex);
      if (h.hash) expect(blockHash(raw)).toBe(h.hash);
      expect(checkProofOfWork(raw)).toBe(true);
      const tampered = raw.slice();
      tampered[76] = tampered[76]! ^ 0x01; // nonce
      expect(checkProofOfWork(tampered)).toBe(false);
    }
    expect(() => blockHash(new Uint8Array(79))).toThrow(ValidationError);
  });

  it('merkleRoot from display txids', () => {
    for (const m of blocks.merkle) expect(merkleRoot(m.txids)).toBe(m.root);
    const b170 = blocks.fullBlocks.find((b) => b.txids && b.txids.length === 2)!;
    const header = fromHex(b170.hex).subarray(36, 68);
    expect(merkleRoot(b170.txids!)).toBe(toDisplayHex(header));
    expect(merkleRoot([b170.txids![0]!])).toBe(b170.txids![0]);
    expect(() => merkleRoot(['abcd'])).toThrow(ValidationError);
  });

  it('legacySighash matches Bitcoin Core', () => {
    const c = sighash.find((row): row is [string, string, number, number, string] => row.length === 5)!;
    expect(toDisplayHex(legacySighash(fromHex(c[0]), c[2], fromHex(c[1]), c[3]))).toBe(c[4]);
  });

  it('verifyP2pkhInput on a real mainnet spend', () => {
    const script = decodeTx(fromHex(p2pkh.prevTx)).outputs[0]!.scriptPubKey;
    expect(verifyP2pkhInput(fromHex(p2pkh.tx), 0, script)).toBe(true);
    expect(verifyP2pkhInput(fromHex(p2pkh.prevTx), 0, script)).toBe(false);
    expect(verifyP2pkhInput(new Uint8Array([1, 2, 3]), 0, script)).toBe(false);
  });
});

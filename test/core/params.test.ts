import { describe, expect, it } from 'vitest';
import { blockHash, encodeBlock, encodeHeader, decodeBlock } from '../../src/core/primitives/block.js';
import { checkProofOfWork } from '../../src/core/consensus/pow.js';
import { toHex } from '../../src/core/primitives/bytes.js';
import { blockSubsidy, coinbaseHeight, createCoinbaseTx } from '../../src/core/consensus/coinbase.js';
import { computeMerkleRoot } from '../../src/core/primitives/merkle.js';
import { getNetwork, NETWORKS } from '../../src/core/consensus/params.js';
import { bitsToTarget } from '../../src/core/consensus/pow.js';
import { p2pkhScript } from '../../src/core/script/script.js';
import { txHash } from '../../src/core/primitives/tx.js';
import { checkBlock } from '../../src/core/consensus/validation.js';

describe('networks', () => {
  // Pinned: the genesis hash is the network id peers compare; changing it forks every deployment.
  const expected = {
    regtest: '01902bc7a5ab8759dd6b2bc8db2757db48d99d73415d0a85bed1bf18af92022c',
    demo: '0007343510fb74d2c8c977d67d0fd2fc8b5808834a2cd4016e9cd4ec836750d0',
  } as const;

  it.each(Object.values(NETWORKS).map((p) => [p.name, p] as const))(
    '%s genesis is fixed, valid and self-consistent',
    (name, p) => {
      expect(p.genesisHash).toBe(expected[name]);
      const raw = encodeHeader(p.genesis.header);
      expect(blockHash(raw)).toBe(p.genesisHash);
      expect(checkProofOfWork(raw)).toBe(true);
      expect(p.genesis.header.bits).toBe(p.powLimitBits);
      expect(toHex(computeMerkleRoot(p.genesis.txs.map(txHash)).root)).toBe(
        toHex(p.genesis.header.merkleRoot),
      );
      expect(coinbaseHeight(p.genesis.txs[0]!)).toBe(0);
      expect(() => checkBlock(p.genesis, p)).not.toThrow();
      // survives a wire round trip
      expect(toHex(encodeBlock(decodeBlock(encodeBlock(p.genesis))))).toBe(toHex(encodeBlock(p.genesis)));
    },
  );

  it('the two networks have distinct ids and address versions', () => {
    expect(NETWORKS.regtest.genesisHash).not.toBe(NETWORKS.demo.genesisHash);
    expect(NETWORKS.regtest.addressVersion).not.toBe(NETWORKS.demo.addressVersion);
  });

  it('parameters as specified', () => {
    const r = getNetwork('regtest');
    expect(r).toMatchObject({
      powLimitBits: 0x207fffff,
      noRetarget: true,
      halvingInterval: 150,
      coinbaseMaturity: 10,
    });
    const d = getNetwork('demo');
    expect(d).toMatchObject({
      powLimitBits: 0x1f0fffff,
      targetSpacingSec: 10,
      retargetInterval: 20,
      noRetarget: false,
      coinbaseMaturity: 10,
      halvingInterval: 210_000,
      initialSubsidy: 5_000_000_000n,
      maxBlockBytes: 1_000_000,
      maxFutureBlockTimeSec: 7200,
      medianTimeSpan: 11,
    });
    // ~4096 expected hashes per block at the demo limit
    const expectedHashes = 2n ** 256n / (bitsToTarget(d.powLimitBits) + 1n);
    expect(expectedHashes).toBeGreaterThan(4000n);
    expect(expectedHashes).toBeLessThan(4200n);
    expect(() => getNetwork('mainnet')).toThrow(RangeError);
  });
});

describe('coinbase', () => {
  const params = NETWORKS.regtest;

  it('subsidy halves every halvingInterval blocks and ends after 64 halvings', () => {
    expect(blockSubsidy(0, params)).toBe(5_000_000_000n);
    expect(blockSubsidy(149, params)).toBe(5_000_000_000n);
    expect(blockSubsidy(150, params)).toBe(2_500_000_000n);
    expect(blockSubsidy(300, params)).toBe(1_250_000_000n);
    expect(blockSubsidy(150 * 33, params)).toBe(0n);
    expect(blockSubsidy(150 * 64, params)).toBe(0n);
    expect(blockSubsidy(210_000, NETWORKS.demo)).toBe(2_500_000_000n);
  });

  it('encodes the height as Bitcoin does (CScript() << height) and reads it back', () => {
    const out = [{ value: 1n, scriptPubKey: p2pkhScript(new Uint8Array(20)) }];
    const prefixes: Array<[number, string]> = [
      [0, '00'],
      [1, '51'],
      [16, '60'],
      [17, '0111'],
      [127, '017f'],
      [128, '028000'],
      [255, '02ff00'],
      [256, '020001'],
      [100000, '03a08601'],
      [8388608, '0400008000'],
    ];
    for (const [h, hex] of prefixes) {
      const tx = createCoinbaseTx(h, out);
      expect(toHex(tx.inputs[0]!.scriptSig).startsWith(hex)).toBe(true);
      expect(tx.inputs[0]!.scriptSig.length).toBeGreaterThanOrEqual(2);
      expect(coinbaseHeight(tx)).toBe(h);
      expect(coinbaseHeight(createCoinbaseTx(h, out, new Uint8Array([1, 2, 3])))).toBe(h);
    }
  });

  it('rejects a non-minimal height encoding', () => {
    const tx = createCoinbaseTx(1000, []);
    const nonMinimal = {
      ...tx,
      inputs: [{ ...tx.inputs[0]!, scriptSig: Uint8Array.from([3, 0xe8, 0x03, 0x00]) }],
    };
    expect(coinbaseHeight(nonMinimal)).toBeUndefined();
  });

  it('different extra nonces give different coinbase txids', () => {
    const a = createCoinbaseTx(5, [], new Uint8Array([1]));
    const b = createCoinbaseTx(5, [], new Uint8Array([2]));
    expect(toHex(txHash(a))).not.toBe(toHex(txHash(b)));
    expect(() => createCoinbaseTx(5, [], new Uint8Array(100))).toThrow(RangeError);
  });
});

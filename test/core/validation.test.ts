import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock, headerHash } from '../../src/core/primitives/block.js';
import { fromHex } from '../../src/core/primitives/bytes.js';
import { createCoinbaseTx } from '../../src/core/consensus/coinbase.js';
import { ValidationError } from '../../src/core/errors.js';
import { hash160 } from '../../src/core/crypto/hash.js';
import { privateKeyFromSeed, publicKeyOf } from '../../src/core/crypto/keys.js';
import { computeMerkleRoot } from '../../src/core/primitives/merkle.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { hashMeetsTarget } from '../../src/core/consensus/pow.js';
import { p2pkhScript } from '../../src/core/script/script.js';
import { varintSize } from '../../src/core/primitives/encoding.js';
import { legacySighash, signP2pkhInput, verifyP2pkhInput } from '../../src/core/script/sighash.js';
import { decodeTx, encodeTx, txHash } from '../../src/core/primitives/tx.js';
import type { Block, Coin, Transaction } from '../../src/core/primitives/types.js';
import {
  checkBlock,
  checkInputCoins,
  checkBlockContext,
  checkBlockHeaderContext,
  checkCoinbaseAmount,
  checkTransaction,
  checkTxInputs,
  isBlockMutation,
  MAX_MONEY,
  MAX_TX_BYTES,
} from '../../src/core/consensus/validation.js';
import { loadVectors } from '../helpers/vectors.js';
import { codeOf } from '../helpers/errors.js';
import { mutatedCopies } from '../helpers/mutations.js';

const params = NETWORKS.regtest;
const priv = privateKeyFromSeed(new TextEncoder().encode('validation'));
const script = p2pkhScript(hash160(publicKeyOf(priv)));

function spend(prevTxid: Uint8Array, vout: number, value: bigint): Transaction {
  const tx: Transaction = {
    version: 1,
    inputs: [{ prevTxid, prevVout: vout, scriptSig: new Uint8Array(0), sequence: 0xffffffff }],
    outputs: [{ value, scriptPubKey: script }],
    locktime: 0,
  };
  return signP2pkhInput(tx, 0, script, priv);
}

/** A regtest block on top of genesis, mined on the spot (a couple of hashes at the pow limit). */
function makeBlock(
  txs: Transaction[],
  opts: { merkleRoot?: Uint8Array; bits?: number; mine?: boolean } = {},
): Block {
  const base = {
    version: 1,
    prevHash: headerHash(params.genesis.header),
    merkleRoot: opts.merkleRoot ?? computeMerkleRoot(txs.map(txHash)).root,
    time: params.genesis.header.time + 600,
    bits: opts.bits ?? params.powLimitBits,
    nonce: 0,
  };
  let nonce = 0;
  while (opts.mine !== false && !hashMeetsTarget(headerHash({ ...base, nonce }), base.bits)) nonce++;
  return { header: { ...base, nonce }, txs };
}

/** `tx` with its input's scriptSig replaced by filler (checkTransaction checks no scripts), exactly `bytes` long. */
function padTo(tx: Transaction, bytes: number): Transaction {
  const input = tx.inputs[0]!;
  const base = encodeTx({ ...tx, inputs: [{ ...input, scriptSig: new Uint8Array(0) }] }).length;
  // The scriptSig's length prefix grows from 1 to 3 (0xfd) or 5 (0xfe) bytes with its size.
  let len = bytes - base;
  while (base + len - 1 + varintSize(len) > bytes) len--;
  return { ...tx, inputs: [{ ...input, scriptSig: new Uint8Array(len).fill(0x51) }] };
}

const coinbase = createCoinbaseTx(1, [{ value: 50n * 100_000_000n, scriptPubKey: script }]);
const funding = fromHex('aa'.repeat(32));

describe('checkTransaction', () => {
  it('accepts a signed P2PKH spend and a coinbase', () => {
    expect(() => checkTransaction(spend(funding, 0, 1000n))).not.toThrow();
    expect(() => checkTransaction(coinbase)).not.toThrow();
  });

  it('accepts real mainnet transactions (format and amounts)', () => {
    const v = loadVectors<{ tx: string }>('p2pkh-txs.json');
    expect(() => checkTransaction(decodeTx(fromHex(v.tx)))).not.toThrow();
  });

  it.each([
    ['bad-txns-vin-empty', (t: Transaction): Transaction => ({ ...t, inputs: [] })],
    ['bad-txns-vout-empty', (t: Transaction): Transaction => ({ ...t, outputs: [] })],
    [
      'bad-txns-vout-negative',
      (t: Transaction): Transaction => ({ ...t, outputs: [{ value: -1n, scriptPubKey: script }] }),
    ],
    [
      'bad-txns-vout-toolarge',
      (t: Transaction): Transaction => ({ ...t, outputs: [{ value: MAX_MONEY + 1n, scriptPubKey: script }] }),
    ],
    [
      'bad-txns-txouttotal-toolarge',
      (t: Transaction): Transaction => ({
        ...t,
        outputs: [
          { value: MAX_MONEY, scriptPubKey: script },
          { value: 1n, scriptPubKey: script },
        ],
      }),
    ],
    [
      'bad-txns-inputs-duplicate',
      (t: Transaction): Transaction => ({ ...t, inputs: [t.inputs[0]!, t.inputs[0]!] }),
    ],
    [
      'bad-txns-prevout-null',
      (t: Transaction): Transaction => ({
        ...t,
        inputs: [t.inputs[0]!, { ...coinbase.inputs[0]! }],
      }),
    ],
    [
      'bad-txns-nonstandard-script',
      (t: Transaction): Transaction => ({
        ...t,
        outputs: [{ value: 1n, scriptPubKey: Uint8Array.of(0x51) }],
      }),
    ],
  ] as const)('%s', (code, mutate) => {
    expect(codeOf(() => checkTransaction(mutate(spend(funding, 0, 1000n))))).toBe(code);
  });

  describe(`size limit: ${MAX_TX_BYTES} bytes`, () => {
    it("is 100,000 bytes, Bitcoin Core's standardness size", () => {
      expect(MAX_TX_BYTES).toBe(100_000);
    });

    it('accepts a transaction of exactly the limit and rejects one byte more, alone and in a block', () => {
      const atLimit = padTo(spend(funding, 0, 1000n), MAX_TX_BYTES);
      const over = padTo(spend(funding, 0, 1000n), MAX_TX_BYTES + 1);
      expect(encodeTx(atLimit).length).toBe(MAX_TX_BYTES);
      expect(encodeTx(over).length).toBe(100_001);
      expect(codeOf(() => checkTransaction(atLimit))).toBeUndefined();
      expect(codeOf(() => checkTransaction(over))).toBe('bad-txns-oversize');
      // The block itself is far below maxBlockBytes: the transaction rule alone rejects it.
      const block = makeBlock([coinbase, over]);
      expect(encodeBlock(block).length).toBeLessThan(params.maxBlockBytes);
      expect(codeOf(() => checkBlock(makeBlock([coinbase, atLimit]), params))).toBeUndefined();
      expect(codeOf(() => checkBlock(block, params))).toBe('bad-txns-oversize');
    });

    it('is network policy, not part of the root APIs: a bigger transaction still verifies', () => {
      // Input 1 is a 100 kB spend of someone else's coin; input 0 is ours, signed over all of it.
      const big: Transaction = {
        version: 1,
        inputs: [
          { prevTxid: funding, prevVout: 0, scriptSig: new Uint8Array(0), sequence: 0xffffffff },
          { prevTxid: funding, prevVout: 1, scriptSig: new Uint8Array(MAX_TX_BYTES), sequence: 0xffffffff },
        ],
        outputs: [{ value: 1000n, scriptPubKey: script }],
        locktime: 0,
      };
      const raw = encodeTx(signP2pkhInput(big, 0, script, priv));
      expect(raw.length).toBeGreaterThan(MAX_TX_BYTES);
      expect(codeOf(() => checkTransaction(decodeTx(raw)))).toBe('bad-txns-oversize');
      expect(verifyP2pkhInput(raw, 0, script)).toBe(true);
      expect(legacySighash(raw, 0, script, 1)).toHaveLength(32);
    });
  });

  it('coinbase scriptSig must be 2-100 bytes', () => {
    const long = { ...coinbase, inputs: [{ ...coinbase.inputs[0]!, scriptSig: new Uint8Array(101) }] };
    const short = { ...coinbase, inputs: [{ ...coinbase.inputs[0]!, scriptSig: new Uint8Array(1) }] };
    expect(codeOf(() => checkTransaction(long))).toBe('bad-blk-cb-length');
    expect(codeOf(() => checkTransaction(short))).toBe('bad-blk-cb-length');
  });
});

describe('checkBlock', () => {
  const tx = spend(funding, 0, 1000n);

  it('accepts a well-formed block', () => {
    expect(() => checkBlock(makeBlock([coinbase, tx]), params)).not.toThrow();
  });

  it('real mainnet genesis passes PoW, size, merkle and coinbase checks, then meets the P2PKH-only output policy', () => {
    const v = loadVectors<{ fullBlocks: Array<{ name: string; hex: string }> }>('blocks.json');
    const mainnetLike = { ...NETWORKS.regtest, powLimitBits: 0x1d00ffff };
    // Early mainnet coinbases pay to bare public keys, which chainmesh's output policy rejects.
    const b = decodeBlock(fromHex(v.fullBlocks[0]!.hex));
    expect(codeOf(() => checkBlock(b, mainnetLike))).toBe('bad-txns-nonstandard-script');
    // a network whose easiest target is harder than the block's bits refuses it
    expect(codeOf(() => checkBlock(b, { ...mainnetLike, powLimitBits: 0x1c00ffff }))).toBe('bad-blk-bits');
  });

  it('rejects a bad merkle root', () => {
    expect(
      codeOf(() => checkBlock(makeBlock([coinbase, tx], { merkleRoot: new Uint8Array(32) }), params)),
    ).toBe('bad-blk-merkle');
  });

  it('rejects the CVE-2012-2459 mutation (duplicated last transaction, same merkle root)', () => {
    const third = spend(funding, 1, 500n);
    const honest = makeBlock([coinbase, tx, third]);
    const mutated: Block = { header: honest.header, txs: [coinbase, tx, third, third] };
    expect(codeOf(() => checkBlock(honest, params))).toBeUndefined();
    expect(codeOf(() => checkBlock(mutated, params))).toBe('bad-blk-duplicate-tx');
  });

  it('checks that the body matches the header before anything else about it, as Core does', () => {
    const third = spend(funding, 1, 500n);
    const honest = makeBlock([coinbase, tx, third]);
    const mutated: Block = { header: honest.header, txs: [coinbase, tx, third, third] };
    const tight = { ...params, maxBlockBytes: encodeBlock(honest).length };
    expect(codeOf(() => checkBlock(honest, tight))).toBeUndefined();
    // Over the size limit too, but what matters for the header's block is that this copy is mutated.
    expect(codeOf(() => checkBlock(mutated, tight))).toBe('bad-blk-duplicate-tx');
    const emptied: Block = { header: honest.header, txs: [] };
    expect(codeOf(() => checkBlock(emptied, params))).toBe('bad-blk-merkle');
    expect(isBlockMutation('bad-blk-merkle')).toBe(true);
    expect(isBlockMutation('bad-blk-duplicate-tx')).toBe(true);
    expect(isBlockMutation('bad-blk-length')).toBe(false);
    expect(isBlockMutation('bad-txns-vout-negative')).toBe(false);
  });

  it('rejects duplicate transactions anywhere', () => {
    expect(codeOf(() => checkBlock(makeBlock([coinbase, tx, spend(funding, 1, 7n), tx]), params))).toBe(
      'bad-blk-duplicate-tx',
    );
  });

  it('rejects insufficient proof of work and targets easier than the limit', () => {
    const b = makeBlock([coinbase, tx]);
    let nonce = b.header.nonce + 1;
    while (hashMeetsTarget(headerHash({ ...b.header, nonce }), b.header.bits)) nonce++;
    expect(codeOf(() => checkBlock({ ...b, header: { ...b.header, nonce } }, params))).toBe('bad-blk-pow');
    expect(codeOf(() => checkBlock(makeBlock([coinbase, tx]), NETWORKS.demo))).toBe('bad-blk-bits');
    expect(
      codeOf(() => checkBlock(makeBlock([coinbase, tx], { bits: 0x20800000, mine: false }), params)),
    ).toBe('bad-blk-bits');
  });

  it('coinbase must be first and unique', () => {
    expect(codeOf(() => checkBlock(makeBlock([tx]), params))).toBe('bad-blk-cb-missing');
    const cb2 = createCoinbaseTx(1, [{ value: 1n, scriptPubKey: script }], new Uint8Array([9]));
    expect(codeOf(() => checkBlock(makeBlock([coinbase, cb2]), params))).toBe('bad-blk-cb-multiple');
    expect(codeOf(() => checkBlock(makeBlock([]), params))).toBe('bad-blk-length');
  });

  it('rejects a double spend inside the block', () => {
    expect(codeOf(() => checkBlock(makeBlock([coinbase, tx, spend(funding, 0, 999n)]), params))).toBe(
      'bad-blk-txns-double-spend',
    );
  });

  it('rejects blocks over maxBlockBytes', () => {
    const small = { ...params, maxBlockBytes: 300 };
    expect(codeOf(() => checkBlock(makeBlock([coinbase, tx]), small))).toBe('bad-blk-length');
  });

  it('runs transaction checks on every transaction', () => {
    const bad = { ...tx, outputs: [{ value: -5n, scriptPubKey: script }] };
    expect(codeOf(() => checkBlock(makeBlock([coinbase, bad]), params))).toBe('bad-txns-vout-negative');
  });
});

describe('contextual checks', () => {
  const b = makeBlock([coinbase]);
  const ctx = {
    prevHeight: 0,
    expectedBits: params.powLimitBits,
    medianTimePast: b.header.time - 1,
    nowSec: b.header.time,
  };

  it('header: bits, median time past, future limit', () => {
    expect(() => checkBlockHeaderContext(b.header, ctx, params)).not.toThrow();
    expect(
      codeOf(() => checkBlockHeaderContext(b.header, { ...ctx, expectedBits: 0x1f0fffff }, params)),
    ).toBe('bad-blk-bits');
    expect(
      codeOf(() => checkBlockHeaderContext(b.header, { ...ctx, medianTimePast: b.header.time }, params)),
    ).toBe('bad-blk-time-too-old');
    expect(() =>
      checkBlockHeaderContext(b.header, { ...ctx, nowSec: b.header.time - 7200 }, params),
    ).not.toThrow();
    expect(
      codeOf(() => checkBlockHeaderContext(b.header, { ...ctx, nowSec: b.header.time - 7201 }, params)),
    ).toBe('bad-blk-time-too-new');
  });

  it('BIP34 height and coinbase amount', () => {
    expect(() => checkBlockContext(b, 1, ctx, params)).not.toThrow();
    expect(codeOf(() => checkBlockContext(b, 2, ctx, params))).toBe('bad-blk-cb-height');
    expect(() => checkCoinbaseAmount(b, 1, 0n, params)).not.toThrow();
    const greedy = makeBlock([
      createCoinbaseTx(1, [{ value: 50n * 100_000_000n + 1n, scriptPubKey: script }]),
    ]);
    expect(codeOf(() => checkCoinbaseAmount(greedy, 1, 0n, params))).toBe('bad-blk-cb-amount');
    expect(() => checkCoinbaseAmount(greedy, 1, 1n, params)).not.toThrow();
  });
});

describe('checkTxInputs', () => {
  const coins = new Map<string, Coin>([
    ['aa:0', { value: 5000n, scriptPubKey: script, height: 1, coinbase: false }],
    ['aa:1', { value: 5000n, scriptPubKey: script, height: 100, coinbase: true }],
    ['aa:2', { value: MAX_MONEY + 1n, scriptPubKey: script, height: 1, coinbase: false }],
  ]);
  const lookup = (txid: Uint8Array, vout: number) => coins.get(`${txid[0]!.toString(16)}:${vout}`);

  it('returns the fee', () => {
    expect(checkTxInputs(spend(funding, 0, 4000n), lookup, 200, params)).toBe(1000n);
  });

  it('missing, immature, out of range, overspent', () => {
    expect(codeOf(() => checkTxInputs(spend(funding, 9, 1n), lookup, 200, params))).toBe(
      'bad-txns-inputs-missingorspent',
    );
    expect(codeOf(() => checkTxInputs(spend(funding, 1, 1n), lookup, 109, params))).toBe(
      'bad-txns-premature-spend-of-coinbase',
    );
    expect(checkTxInputs(spend(funding, 1, 1n), lookup, 110, params)).toBe(4999n);
    expect(codeOf(() => checkTxInputs(spend(funding, 2, 1n), lookup, 200, params))).toBe(
      'bad-txns-inputvalues-outofrange',
    );
    expect(codeOf(() => checkTxInputs(spend(funding, 0, 5001n), lookup, 200, params))).toBe(
      'bad-txns-in-belowout',
    );
  });

  it('checkInputCoins takes the coins looked up already, one per input', () => {
    const tx = spend(funding, 1, 1n);
    const [coin] = tx.inputs.map((input) => lookup(input.prevTxid, input.prevVout));
    expect(checkInputCoins(tx, [coin], 110, params)).toBe(4999n);
    expect(codeOf(() => checkInputCoins(tx, [coin], 109, params))).toBe(
      'bad-txns-premature-spend-of-coinbase',
    );
    expect(codeOf(() => checkInputCoins(tx, [undefined], 200, params))).toBe(
      'bad-txns-inputs-missingorspent',
    );
    expect(() => checkInputCoins(tx, [], 200, params)).toThrow(RangeError);
    expect(() => checkInputCoins(tx, [coin, coin], 200, params)).toThrow(RangeError);
  });
});

describe('validation never throws anything but ValidationError', () => {
  it('on mutations of a real transaction (property)', () => {
    const good = fromHex(loadVectors<{ tx: string }>('p2pkh-txs.json').tx);
    fc.assert(
      fc.property(mutatedCopies(good, 6), (raw) => {
        try {
          const tx = decodeTx(raw);
          checkTransaction(tx);
          checkTxInputs(tx, () => undefined, 100, params);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency, type Chain } from '../../src/chain/index.js';
import { isValidationError } from '../../src/core/errors.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import type { Coin, Transaction } from '../../src/core/primitives/types.js';
import {
  coinbaseInput,
  payTo,
  spendTx,
  testKey,
  type BlockOptions,
  type ChainBuilder,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { openFundedChain, type FundedChain } from '../helpers/funded-chain.js';

const params = NETWORKS.regtest;
const COIN = 100_000_000n;
const alice = testKey(1);
const bob = testKey(2);
const NOW_MS = (params.genesis.header.time + 100_000) * 1000;

let funded: FundedChain;
let chain: Chain;
let b: ChainBuilder;
let blocks: readonly TestBlock[];
let tip: TestBlock;
const rejected: string[] = [];

beforeAll(async () => {
  // Block 1 pays alice; blocks 2..11 (paying bob) make it mature for a block at height 12.
  funded = await openFundedChain();
  ({ chain, builder: b, blocks, tip } = funded);
  chain.on('rejected', (e) => rejected.push(e.code));
});

afterAll(() => funded.close());

function snapshot(): { tip: string; coins: Array<[string, Coin]> } {
  return { tip: chain.tip.hash, coins: [...chain.utxoEntries()].sort(([x], [y]) => (x < y ? -1 : 1)) };
}

/** Submits a block that must be rejected with `code`, leaving tip and UTXO set untouched. */
async function expectRejected(block: TestBlock, code: string): Promise<void> {
  const before = snapshot();
  const seen = rejected.length;
  let caught: unknown;
  try {
    caught = await chain.processBlock(block);
  } catch (err) {
    caught = err;
  }
  expect(isValidationError(caught) ? caught.code : caught).toBe(code);
  expect(rejected.slice(seen)).toEqual([code]);
  expect(snapshot()).toEqual(before);
}

const aliceCoin = (): ReturnType<typeof coinbaseInput> => coinbaseInput(blocks[0] as TestBlock, alice);
const onTip = (opts: BlockOptions): TestBlock => b.block(tip, opts);

describe('chain: invalid blocks are rejected with a reason code and change nothing', () => {
  it('bad proof of work is not stored', async () => {
    const blk = onTip({ badPow: true });
    await expectRejected(blk, 'bad-blk-pow');
    expect(chain.hasBlock(blk.hash)).toBe(false);
  });

  it('bad merkle root is not stored', async () => {
    const blk = onTip({ merkleRoot: new Uint8Array(32).fill(1) });
    await expectRejected(blk, 'bad-blk-merkle');
    expect(chain.hasBlock(blk.hash)).toBe(false);
  });

  it('bits other than the required difficulty', async () => {
    await expectRejected(onTip({ bits: 0x207ffffe }), 'bad-blk-bits');
  });

  it('time not after the median of the last 11 blocks', async () => {
    await expectRejected(onTip({ time: chain.medianTimePast() }), 'bad-blk-time-too-old');
  });

  it('time more than two hours after now (injected clock)', async () => {
    await expectRejected(onTip({ time: NOW_MS / 1000 + 7201 }), 'bad-blk-time-too-new');
    // Exactly two hours ahead is still fine: build it on a side branch so the tip stays.
    const ok = b.block(blocks.at(-2) as TestBlock, { time: NOW_MS / 1000 + 7200, tag: 1 });
    expect((await chain.processBlock(ok)).status).toBe('side-chain');
  });

  it('coinbase committing to the wrong height (BIP34)', async () => {
    await expectRejected(onTip({ coinbaseHeight: tip.height }), 'bad-blk-cb-height');
  });

  it('coinbase claiming more than subsidy plus fees (inflation)', async () => {
    await expectRejected(onTip({ coinbaseValue: 50n * COIN + 1n }), 'bad-blk-cb-amount');
    // With a 1-coin fee in the block, 51 coins are allowed but not a unit more.
    const pay = spendTx([aliceCoin()], [payTo(bob, 49n * COIN)]);
    await expectRejected(onTip({ txs: [pay], coinbaseValue: 51n * COIN + 1n }), 'bad-blk-cb-amount');
  });

  it('double spend inside one block', async () => {
    const t1 = spendTx([aliceCoin()], [payTo(bob, 10n * COIN)]);
    const t2 = spendTx([aliceCoin()], [payTo(alice, 20n * COIN)]);
    await expectRejected(onTip({ txs: [t1, t2] }), 'bad-blk-txns-double-spend');
  });

  it('spending a coin that does not exist', async () => {
    const fake = { ...aliceCoin(), vout: 1 };
    await expectRejected(
      onTip({ txs: [spendTx([fake], [payTo(bob, 1n)])] }),
      'bad-txns-inputs-missingorspent',
    );
  });

  it('immature coinbase spend', async () => {
    // Spent at height 12, the coinbase of block 3 has 9 confirmations: one short of maturity.
    const young = coinbaseInput(blocks[2] as TestBlock, bob);
    await expectRejected(
      onTip({ txs: [spendTx([young], [payTo(alice, 1n)])] }),
      'bad-txns-premature-spend-of-coinbase',
    );
  });

  it('outputs worth more than the inputs', async () => {
    await expectRejected(
      onTip({ txs: [spendTx([aliceCoin()], [payTo(bob, 50n * COIN + 1n)])] }),
      'bad-txns-in-belowout',
    );
  });

  it('a signature by the wrong key, and a valid signature over other data', async () => {
    const good = spendTx([aliceCoin()], [payTo(bob, 10n * COIN)]);
    const other = spendTx([aliceCoin()], [payTo(bob, 11n * COIN)]);
    // Keep good's outputs but other's scriptSig: a real signature that does not sign this transaction.
    const forged: Transaction = { ...good, inputs: other.inputs };
    await expectRejected(onTip({ txs: [forged] }), 'bad-txns-script-verify-failed');
    // Right signature shape, but the pubkey is bob's: does not match alice's script.
    const bobSigned = spendTx([{ ...aliceCoin(), scriptPubKey: bob.script, key: bob }], [payTo(bob, 1n)]);
    await expectRejected(onTip({ txs: [bobSigned] }), 'bad-txns-script-verify-failed');
  });

  it('a block failing in connect is remembered as invalid, and so are its children', async () => {
    const bad = onTip({ coinbaseValue: 60n * COIN, tag: 5 });
    await expectRejected(bad, 'bad-blk-cb-amount');
    expect(chain.getEntry(bad.hash)?.status).toBe('invalid');
    await expectRejected(bad, 'bad-blk-cb-amount');
    await expectRejected(b.block(bad), 'bad-blk-prev-invalid');
  });

  it('then spends against the UTXO set: a coin spent in an earlier block cannot be spent again', async () => {
    const pay = spendTx([aliceCoin()], [payTo(bob, 49n * COIN)]);
    const ok = onTip({ txs: [pay] });
    expect((await chain.processBlock(ok)).status).toBe('connected');
    tip = ok;
    const again = spendTx([aliceCoin()], [payTo(alice, 48n * COIN)]);
    await expectRejected(onTip({ txs: [again] }), 'bad-txns-inputs-missingorspent');
    expect(await checkConsistency(chain)).toEqual([]);
  });
});

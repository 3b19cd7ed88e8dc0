import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signP2pkhInput } from '../../src/core/script/sighash.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { isFinalTx, LOCKTIME_THRESHOLD } from '../../src/core/consensus/validation.js';
import { coinbaseInput, payTo, spendTx, testKey } from '../helpers/chain-builder.js';
import { openFundedChain, type FundedChain } from '../helpers/funded-chain.js';

const alice = testKey(1);
const bob = testKey(2);

function withLock(tx: Transaction, locktime: number, sequence: number): Transaction {
  return { ...tx, locktime, inputs: tx.inputs.map((i) => ({ ...i, sequence })) };
}

describe('isFinalTx (Bitcoin IsFinalTx with BIP113 time)', () => {
  const tx = spendTx(
    [{ txid: new Uint8Array(32).fill(1), vout: 0, scriptPubKey: alice.script, key: alice }],
    [payTo(bob, 1n)],
  );
  it.each([
    [0, 0, 10, 0, true],
    [10, 0, 10, 0, false],
    [10, 0, 11, 0, true],
    [10, 0xffffffff, 5, 0, true],
    [LOCKTIME_THRESHOLD + 100, 0, 1_000_000, LOCKTIME_THRESHOLD + 100, false],
    [LOCKTIME_THRESHOLD + 100, 0, 1, LOCKTIME_THRESHOLD + 101, true],
  ])('locktime %i, sequence %i at height %i, time %i -> %s', (locktime, sequence, height, time, final) => {
    expect(isFinalTx(withLock(tx, locktime, sequence), height, time)).toBe(final);
  });
});

describe('time-locked transactions in blocks and the mempool', () => {
  let f: FundedChain;
  beforeAll(async () => {
    f = await openFundedChain();
  });
  afterAll(() => f.close());

  function lockedSpend(locktime: number): Transaction {
    const input = coinbaseInput(f.funding, alice);
    const unsigned = withLock(spendTx([input], [payTo(bob, 1000n)]), locktime, 0xfffffffe);
    return signP2pkhInput(unsigned, 0, input.scriptPubKey, alice.priv);
  }

  it('a block may not contain a transaction locked to a later height', async () => {
    const nextHeight = f.chain.height + 1;
    await expect(
      f.chain.processBlock(f.builder.block(f.tip, { txs: [lockedSpend(nextHeight)], tag: 1 })),
    ).rejects.toMatchObject({
      code: 'bad-txns-nonfinal',
    });
    await expect(f.mempool.accept(lockedSpend(nextHeight + 1))).rejects.toMatchObject({
      code: 'bad-txns-nonfinal',
    });
  });

  it('once the height is past the locktime it is accepted', async () => {
    const tx = lockedSpend(f.chain.height);
    await f.mempool.accept(tx);
    expect((await f.chain.processBlock(f.builder.block(f.tip, { txs: [tx], tag: 2 }))).status).toBe(
      'connected',
    );
  });
});

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chain } from '../src/chain/index.js';
import { NETWORKS } from '../src/core/params.js';
import { signP2pkhInput } from '../src/core/sighash.js';
import type { Transaction } from '../src/core/types.js';
import { isFinalTx, LOCKTIME_THRESHOLD } from '../src/core/validation.js';
import { Mempool } from '../src/mempool/index.js';
import {
  ChainBuilder,
  coinbaseInput,
  payTo,
  spendTx,
  tempDataDir,
  testKey,
  type TestBlock,
} from './helpers/chain-builder.js';

const params = NETWORKS.regtest;
const alice = testKey(1);
const bob = testKey(2);
const NOW_MS = (params.genesis.header.time + 100_000) * 1000;

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
  let dir: string;
  let chain: Chain;
  let mempool: Mempool;
  const b = new ChainBuilder(params);
  let funding: TestBlock;
  let tip: TestBlock;

  beforeAll(async () => {
    dir = await tempDataDir();
    chain = await Chain.open({ dataDir: dir, params, now: () => NOW_MS });
    mempool = new Mempool(chain, { maxBytes: 1_000_000 });
    funding = b.block(b.genesis, { payTo: alice.script });
    const rest = b.chain(funding, params.coinbaseMaturity, { payTo: bob.script });
    for (const blk of [funding, ...rest]) await chain.processBlock(blk);
    tip = rest.at(-1) as TestBlock;
  });

  afterAll(async () => {
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  });

  function lockedSpend(locktime: number): Transaction {
    const input = coinbaseInput(funding, alice);
    const unsigned = withLock(spendTx([input], [payTo(bob, 1000n)]), locktime, 0xfffffffe);
    return signP2pkhInput(unsigned, 0, input.scriptPubKey, alice.priv);
  }

  it('a block may not contain a transaction locked to a later height', async () => {
    const nextHeight = chain.height + 1;
    await expect(
      chain.processBlock(b.block(tip, { txs: [lockedSpend(nextHeight)], tag: 1 })),
    ).rejects.toMatchObject({
      code: 'bad-txns-nonfinal',
    });
    await expect(mempool.accept(lockedSpend(nextHeight + 1))).rejects.toMatchObject({
      code: 'bad-txns-nonfinal',
    });
  });

  it('once the height is past the locktime it is accepted', async () => {
    const tx = lockedSpend(chain.height);
    await mempool.accept(tx);
    expect((await chain.processBlock(b.block(tip, { txs: [tx], tag: 2 }))).status).toBe('connected');
  });
});

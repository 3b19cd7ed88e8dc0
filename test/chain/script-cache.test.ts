import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Chain } from '../../src/chain/index.js';
import { VerifiedScripts } from '../../src/chain/script-cache.js';
import { ScriptVerifier } from '../../src/chain/script-verifier.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { txid } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { Mempool } from '../../src/mempool/index.js';
import {
  ChainBuilder,
  coinbaseInput,
  payTo,
  spendTx,
  tempDataDir,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { openFundedChain, type FundedChain } from '../helpers/funded-chain.js';

const params = NETWORKS.regtest;
const COIN = 100_000_000n;
const alice = testKey(1);
const bob = testKey(2);
const NOW_MS = (params.genesis.header.time + 100_000) * 1000;

describe('VerifiedScripts', () => {
  it('is bounded, forgetting the oldest first', () => {
    const cache = new VerifiedScripts(2);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) cache.add(id);
    expect(cache.size).toBe(2);
    expect(ids.map((id) => cache.has(id))).toEqual([false, true, true]);
  });
});

describe('signatures checked once', () => {
  let f: FundedChain;
  beforeAll(async () => {
    f = await openFundedChain();
  });
  afterAll(() => f.close());

  it('the mempool records transactions whose signatures verified, and only those', async () => {
    const good = spendTx([coinbaseInput(f.funding, alice)], [payTo(bob, 10n * COIN)]);
    const other = spendTx([coinbaseInput(f.funding, alice)], [payTo(bob, 11n * COIN)]);
    const forged: Transaction = { ...good, inputs: other.inputs };
    await expect(f.mempool.accept(forged)).rejects.toMatchObject({ code: 'bad-txns-script-verify-failed' });
    expect(f.chain.verifiedScripts.has(txid(forged))).toBe(false);
    await f.mempool.accept(good);
    expect(f.chain.verifiedScripts.has(txid(good))).toBe(true);
  });

  it('block connection trusts the record instead of verifying again', async () => {
    // Proven with a transaction whose signature is wrong: only a skipped check lets its block connect.
    const good = spendTx([coinbaseInput(f.funding, alice)], [payTo(bob, 12n * COIN)]);
    const other = spendTx([coinbaseInput(f.funding, alice)], [payTo(bob, 13n * COIN)]);
    const forged: Transaction = { ...good, inputs: other.inputs };
    const rejectedBlock = f.builder.block(f.tip, { txs: [forged], tag: 1 });
    await expect(f.chain.processBlock(rejectedBlock)).rejects.toMatchObject({
      code: 'bad-txns-script-verify-failed',
    });
    f.chain.verifiedScripts.add(txid(forged));
    const trusted = f.builder.block(f.tip, { txs: [forged], tag: 2 });
    expect((await f.chain.processBlock(trusted)).status).toBe('connected');
  });
});

describe('batch pre-verification', () => {
  let dir: string;
  let chain: Chain;
  let mempool: Mempool;
  const b = new ChainBuilder(params);
  let coinbases: TestBlock[];

  beforeAll(async () => {
    dir = await tempDataDir();
    chain = await Chain.open({ dataDir: dir, params, now: () => NOW_MS });
    mempool = new Mempool(chain, { maxBytes: 1_000_000 });
    coinbases = b.chain(b.genesis, 3, { payTo: alice.script });
    const rest = b.chain(coinbases.at(-1) as TestBlock, params.coinbaseMaturity, { payTo: bob.script });
    for (const blk of [...coinbases, ...rest]) await chain.processBlock(blk);
  });

  afterAll(async () => {
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a batch whose signatures all verify over the workers', async () => {
    const txs = coinbases.slice(0, 2).map((blk) => spendTx([coinbaseInput(blk, alice)], [payTo(bob, COIN)]));
    await mempool.preverify(txs);
    expect(txs.map((tx) => chain.verifiedScripts.has(txid(tx)))).toEqual([true, true]);
  });

  it('sends even a single transaction to the worker threads, keeping the request thread free', async () => {
    // A spy that calls through: the real workers still verify.
    const verifyAll = vi.spyOn(ScriptVerifier.prototype, 'verifyAll');
    try {
      const tx = spendTx([coinbaseInput(coinbases[1] as TestBlock, alice)], [payTo(bob, 5n * COIN)]);
      await mempool.preverify([tx]);
      expect(verifyAll).toHaveBeenCalledTimes(1);
      expect(verifyAll.mock.calls[0]?.[0]).toHaveLength(1);
      // Below the pool's inline threshold (8), only an explicit 0 sends it to the workers.
      expect(verifyAll.mock.calls[0]?.[1]).toBe(0);
      expect(chain.verifiedScripts.has(txid(tx))).toBe(true);
    } finally {
      verifyAll.mockRestore();
    }
  });

  it('records nothing when one signature fails, leaving the culprit to admission', async () => {
    const good = spendTx([coinbaseInput(coinbases[2] as TestBlock, alice)], [payTo(bob, 2n * COIN)]);
    const other = spendTx([coinbaseInput(coinbases[2] as TestBlock, alice)], [payTo(bob, 3n * COIN)]);
    const forged: Transaction = { ...good, inputs: other.inputs };
    const fresh = spendTx([coinbaseInput(coinbases[2] as TestBlock, alice)], [payTo(bob, 4n * COIN)]);
    await mempool.preverify([fresh, forged]);
    expect(chain.verifiedScripts.has(txid(fresh))).toBe(false);
    expect(chain.verifiedScripts.has(txid(forged))).toBe(false);
    await expect(mempool.accept(forged)).rejects.toMatchObject({ code: 'bad-txns-script-verify-failed' });
  });
});

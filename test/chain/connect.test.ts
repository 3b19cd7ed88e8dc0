import { describe, expect, it } from 'vitest';
import { checkConsistency } from '../../src/chain/index.js';
import { txHash, txid } from '../../src/core/primitives/tx.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { toDisplayHex } from '../../src/core/primitives/bytes.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { balance, chainsClosedAfterEach } from '../helpers/chains.js';

const params = NETWORKS.regtest;
const { openChain, reopen } = chainsClosedAfterEach(params);

const alice = testKey(1);
const bob = testKey(2);

describe('chain: connect and disconnect', () => {
  it('starts at genesis and connects a chain of blocks', async () => {
    const { chain } = await openChain();
    expect(chain.height).toBe(0);
    expect(chain.tip.hash).toBe(params.genesisHash);
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 5, { payTo: alice.script });
    const events: string[] = [];
    chain.on('connect', (e) => events.push(`connect ${e.height}`));
    chain.on('tip', (e) => events.push(`tip ${e.height}`));
    for (const block of blocks) {
      const res = await chain.processBlock(block);
      expect(res).toMatchObject({ status: 'connected', hash: block.hash, height: block.height });
      expect(res.reorg).toBeUndefined();
    }
    expect(chain.height).toBe(5);
    expect(chain.tip.hash).toBe(blocks[4]?.hash);
    expect(chain.getHashAtHeight(3)).toBe(blocks[2]?.hash);
    expect(events.slice(0, 4)).toEqual(['connect 1', 'tip 1', 'connect 2', 'tip 2']);
    expect(balance(chain, alice.script)).toBe(5n * 50n * 100_000_000n);
    expect(await chain.processBlock(blocks[2] as TestBlock)).toMatchObject({ status: 'duplicate' });
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('spends mature coins, indexes transactions, tracks balances by script', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const first = b.block(b.genesis, { payTo: alice.script });
    await chain.processBlock(first);
    let tip: TestBlock = first;
    for (const blk of b.chain(first, params.coinbaseMaturity, { payTo: bob.script })) {
      await chain.processBlock(blk);
      tip = blk;
    }
    const input = coinbaseInput(first, alice);
    const pay = spendTx([input], [payTo(bob, 30n * 100_000_000n), payTo(alice, 19n * 100_000_000n)]);
    const spendBlock = b.block(tip, { txs: [pay], fees: 100_000_000n, payTo: bob.script });
    const res = await chain.processBlock(spendBlock);
    expect(res.status).toBe('connected');

    expect(chain.getCoin(input.txid, 0)).toBeUndefined();
    expect(chain.getCoin(txHash(pay), 0)?.value).toBe(30n * 100_000_000n);
    expect(balance(chain, alice.script)).toBe(19n * 100_000_000n);
    // bob: 10 coinbases + block reward with fee + 30 received
    expect(balance(chain, bob.script)).toBe((10n * 50n + 51n + 30n) * 100_000_000n);
    const found = await chain.findTx(txid(pay));
    expect(found).toMatchObject({ blockHash: spendBlock.hash, height: spendBlock.height });
    expect(found && txid(found.tx)).toBe(txid(pay));
    const byScript = chain.getCoinsByScript(alice.script);
    expect(byScript).toEqual([
      { txid: txid(pay), vout: 1, coin: expect.objectContaining({ value: 19n * 100_000_000n }) },
    ]);

    // A chained spend inside one block: the second tx spends the first's output.
    const a2 = spendTx([outputInput(pay, 1, alice)], [payTo(bob, 18n * 100_000_000n)]);
    const b2 = spendTx([outputInput(a2, 0, bob)], [payTo(alice, 17n * 100_000_000n)]);
    const chained = b.block(spendBlock, { txs: [a2, b2] });
    expect((await chain.processBlock(chained)).status).toBe('connected');
    expect(balance(chain, alice.script)).toBe(17n * 100_000_000n);
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('verifies a block with many inputs over the worker pool, naming the failure', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 30, { payTo: alice.script });
    for (const blk of blocks) await chain.processBlock(blk);
    const inputs = blocks.slice(0, 20).map((blk) => coinbaseInput(blk, alice));
    const big = spendTx(inputs, [payTo(bob, 20n * 50n * 100_000_000n)]);
    // Input 4 carries input 3's signature: right key, wrong digest.
    const swapped = big.inputs.map((input, i) =>
      i === 4 ? { ...input, scriptSig: big.inputs[3]!.scriptSig } : input,
    );
    const bad = b.block(blocks[29] as TestBlock, { txs: [{ ...big, inputs: swapped }], tag: 1 });
    await expect(chain.processBlock(bad)).rejects.toMatchObject({ code: 'bad-txns-script-verify-failed' });
    const good = b.block(blocks[29] as TestBlock, { txs: [big] });
    expect((await chain.processBlock(good)).status).toBe('connected');
    expect(balance(chain, bob.script)).toBe(20n * 50n * 100_000_000n);
  });

  it('restores the exact state after reopening the store', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 12, { payTo: alice.script });
    for (const blk of blocks) await chain.processBlock(blk);
    const pay = spendTx([coinbaseInput(blocks[0] as TestBlock, alice)], [payTo(bob, 10n)]);
    const last = b.block(blocks[11] as TestBlock, { txs: [pay] });
    await chain.processBlock(last);
    // As much work as the tip: stored (a lighter side block would only be held in memory).
    const side = b.block(blocks[11] as TestBlock, { tag: 7 });
    expect((await chain.processBlock(side)).status).toBe('side-chain');
    const utxoBefore = [...chain.utxoEntries()].sort();
    const tipBefore = chain.tip;
    const again = await reopen(chain, dir);
    expect(again.tip.hash).toBe(tipBefore.hash);
    expect(again.tip.chainWork).toBe(tipBefore.chainWork);
    expect(again.height).toBe(13);
    expect([...again.utxoEntries()].sort()).toEqual(utxoBefore);
    expect(again.getEntry(side.hash)).toMatchObject({ height: 13, status: 'header-valid' });
    expect(balance(again, bob.script)).toBe(10n);
    expect(await again.getBlock(last.hash)).toEqual({ header: last.header, txs: last.txs });
    expect((await again.findTx(txid(pay)))?.blockHash).toBe(last.hash);
    expect(await again.processBlock(last)).toMatchObject({ status: 'duplicate' });
    expect(await checkConsistency(again)).toEqual([]);
  });

  it('builds a locator and answers it with the blocks after the fork point', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 40);
    for (const blk of blocks) await chain.processBlock(blk);
    const locator = chain.getLocator();
    const heights = locator.map((h) => chain.getEntry(h)?.height);
    expect(heights).toEqual([40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 29, 25, 17, 1, 0]);
    expect(locator.at(-1)).toBe(params.genesisHash);

    expect(chain.getHashesAfterLocator([blocks[9]?.hash as string], 3)).toEqual(
      blocks.slice(10, 13).map((x) => x.hash),
    );
    // Unknown hashes are skipped; the first known best-chain hash wins.
    const unknown = toDisplayHex(new Uint8Array(32).fill(7));
    expect(
      chain.getHashesAfterLocator([unknown, blocks[37]?.hash as string, blocks[2]?.hash as string], 10),
    ).toEqual(blocks.slice(38).map((x) => x.hash));
    // A peer that shares nothing gets the chain from genesis.
    expect(chain.getHashesAfterLocator([unknown], 2)).toEqual(blocks.slice(0, 2).map((x) => x.hash));
    // A side-chain hash is not a fork point on our best chain: fall through to the next entry.
    const side = b.block(blocks[4] as TestBlock, { tag: 1 });
    await chain.processBlock(side);
    expect(chain.getHashesAfterLocator([side.hash, blocks[3]?.hash as string], 1)).toEqual([blocks[4]?.hash]);
    expect(chain.getHashesAfterLocator([chain.tip.hash], 10)).toEqual([]);

    const small = await openChain();
    expect(small.chain.getLocator()).toEqual([params.genesisHash]);
  });

  it('reports the next block context and median time past', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params, 10);
    const blocks = b.chain(b.genesis, 12);
    for (const blk of blocks) await chain.processBlock(blk);
    // Times are genesis + 10*h; median of heights 2..12 is height 7.
    expect(chain.medianTimePast()).toBe(params.genesis.header.time + 70);
    expect(chain.medianTimePast(blocks[0]?.hash)).toBe(params.genesis.header.time + 10);
    const ctx = chain.nextBlockContext(0);
    expect(ctx).toMatchObject({
      height: 13,
      bits: params.powLimitBits,
      minTime: params.genesis.header.time + 71,
    });
    expect(toDisplayHex(ctx.prevHash)).toBe(chain.tip.hash);
  });
});

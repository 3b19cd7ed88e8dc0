import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { Chain, checkConsistency, type AddressTxEntry } from '../../src/chain/index.js';
import { addressEntriesOf } from '../../src/chain/address-index.js';
import { NETWORKS, toDisplayHex, toHex, txid } from '../../src/core/index.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  tempDataDir,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';

const params = NETWORKS.regtest;
const COIN = 100_000_000n;
const alice = testKey(1);
const bob = testKey(2);
const carol = testKey(3);
const dirs: string[] = [];
const chains: Chain[] = [];

async function openChain(dir?: string): Promise<{ chain: Chain; dir: string }> {
  const d = dir ?? (await tempDataDir());
  if (!dir) dirs.push(d);
  const chain = await Chain.open({ dataDir: d, params });
  chains.push(chain);
  return { chain, dir: d };
}

afterEach(async () => {
  for (const c of chains.splice(0)) await c.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Rows as readable tuples: [height, txid, received, sent]. */
async function history(chain: Chain, key: { hash160: Uint8Array }, limit = 100, offset = 0) {
  const rows = await chain.getAddressTxs(key.hash160, limit, offset);
  return rows.map((r: AddressTxEntry) => [r.height, toDisplayHex(r.txid), r.received, r.sent]);
}

/** Alice mines maturity + 1 blocks, then pays bob 20 (change 29) at the next height; bob pays carol 5 in the block after. */
async function setup(chain: Chain, b: ChainBuilder) {
  const base = b.chain(b.genesis, params.coinbaseMaturity + 1, { payTo: alice.script });
  for (const blk of base) await chain.processBlock(blk);
  const pay = spendTx(
    [coinbaseInput(base[0] as TestBlock, alice)],
    [payTo(bob, 20n * COIN), payTo(alice, 29n * COIN)],
  );
  const b1 = b.block(base.at(-1) as TestBlock, { txs: [pay], payTo: carol.script });
  await chain.processBlock(b1);
  const onward = spendTx([outputInput(pay, 0, bob)], [payTo(carol, 5n * COIN), payTo(bob, 14n * COIN)]);
  const b2 = b.block(b1, { txs: [onward], payTo: carol.script });
  await chain.processBlock(b2);
  return { base, pay, onward, b1, b2 };
}

describe('chain: address index', () => {
  it('lists the transactions of an address newest first with what each moved, paginated', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const { base, pay, onward, b1, b2 } = await setup(chain, b);
    const aliceRows = await history(chain, alice);
    expect(aliceRows).toHaveLength(base.length + 1);
    expect(aliceRows[0]).toEqual([b1.height, txid(pay), 29n * COIN, 50n * COIN]);
    expect(aliceRows.slice(1).map((r) => r[0])).toEqual(base.map((x) => x.height).reverse());
    expect(aliceRows.at(-1)).toEqual([1, txid(base[0]?.txs[0] as never), 50n * COIN, 0n]);
    expect(await history(chain, bob)).toEqual([
      [b2.height, txid(onward), 14n * COIN, 20n * COIN],
      [b1.height, txid(pay), 20n * COIN, 0n],
    ]);
    // carol: the two coinbases and the payment in b2, which comes after b2's coinbase in the block.
    expect((await history(chain, carol)).map((r) => r[1])).toEqual([
      txid(onward),
      txid(b2.txs[0] as never),
      txid(b1.txs[0] as never),
    ]);
    expect(await history(chain, alice, 3, 1)).toEqual(aliceRows.slice(1, 4));
    expect(await history(chain, alice, 5, aliceRows.length)).toEqual([]);
    expect(await history(chain, testKey(99))).toEqual([]);
  });

  it('follows reorgs: rows of disconnected blocks go, rows of the new branch come', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const { base } = await setup(chain, b);
    const fork = base.at(-1) as TestBlock;
    const branch = b.chain(fork, 3, { tag: 1, payTo: bob.script });
    for (const blk of branch) await chain.processBlock(blk);
    expect(chain.tip.hash).toBe(branch.at(-1)?.hash);
    expect(await history(chain, bob)).toEqual(
      branch.map((blk) => [blk.height, txid(blk.txs[0] as never), 50n * COIN, 0n]).reverse(),
    );
    expect(await history(chain, carol)).toEqual([]);
    expect(await history(chain, alice)).toHaveLength(base.length);
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('is built at open for a store written before the index existed', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    await setup(chain, b);
    const before = await Promise.all([alice, bob, carol].map((k) => history(chain, k)));
    await chain.close();
    chains.splice(chains.indexOf(chain), 1);

    // Remove the index and its mark, as a store of the earlier layout has neither.
    const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'chain'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    const keys: Uint8Array[] = [];
    for await (const k of db.keys({ gte: Uint8Array.of(0x61), lt: Uint8Array.of(0x62) })) keys.push(k);
    expect(keys.length).toBeGreaterThan(10);
    await db.batch([
      ...keys.map((key) => ({ type: 'del' as const, key })),
      { type: 'del' as const, key: new TextEncoder().encode('maddr') },
    ]);
    await db.close();

    const { chain: reopened } = await openChain(dir);
    expect(await Promise.all([alice, bob, carol].map((k) => history(reopened, k)))).toEqual(before);
  });
});

describe('addressEntriesOf', () => {
  it('gives one row per key hash and transaction, summing what it received and sent', () => {
    const b = new ChainBuilder(params);
    const [first] = b.chain(b.genesis, 1, { payTo: alice.script });
    const tx = spendTx(
      [coinbaseInput(first as TestBlock, alice)],
      [payTo(alice, 10n * COIN), payTo(bob, 15n * COIN), payTo(alice, 20n * COIN)],
    );
    const block = b.block(first as TestBlock, { txs: [tx], payTo: bob.script });
    const spent = [{ value: 50n * COIN, scriptPubKey: alice.script, height: 1, coinbase: true }];
    const rows = addressEntriesOf(block, 2, spent).map((r) => [
      r.position,
      toHex(r.hash160),
      r.received,
      r.sent,
    ]);
    expect(rows).toEqual([
      [0, toHex(bob.hash160), 50n * COIN, 0n],
      [1, toHex(alice.hash160), 30n * COIN, 50n * COIN],
      [1, toHex(bob.hash160), 15n * COIN, 0n],
    ]);
    expect(() => addressEntriesOf(block, 2, [])).toThrow(/short/);
    expect(() => addressEntriesOf(block, 2, [...spent, ...spent])).toThrow(/does not match/);
  });
});

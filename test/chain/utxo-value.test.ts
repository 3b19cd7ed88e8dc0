import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Chain } from '../../src/chain/index.js';
import { blockSubsidy, NETWORKS } from '../../src/core/index.js';
import {
  ChainBuilder,
  coinbaseInput,
  payTo,
  spendTx,
  tempDataDir,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';

const params = NETWORKS.regtest;
const dirs: string[] = [];
const chains: Chain[] = [];
const alice = testKey(1);
const bob = testKey(2);
const COIN = 100_000_000n;

afterEach(async () => {
  for (const c of chains.splice(0)) await c.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(dir: string): Promise<Chain> {
  const chain = await Chain.open({ dataDir: dir, params });
  chains.push(chain);
  return chain;
}

/** The same total, recomputed the slow way: what utxoValue must always equal. */
function scanned(chain: Chain): bigint {
  let sum = 0n;
  for (const [, coin] of chain.utxoEntries()) sum += coin.value;
  return sum;
}

function subsidies(height: number): bigint {
  let sum = 0n;
  for (let h = 1; h <= height; h++) sum += blockSubsidy(h, params);
  return sum;
}

describe('chain: UTXO value', () => {
  it('is kept in step on connect, reorg (disconnect) and reopen, and equals the subsidies minus burnt fees', async () => {
    const dir = await tempDataDir();
    dirs.push(dir);
    let chain = await open(dir);
    expect(chain.utxoValue).toBe(0n);

    const b = new ChainBuilder(params);
    const base = b.chain(b.genesis, params.coinbaseMaturity + 1, { payTo: alice.script });
    for (const blk of base) await chain.processBlock(blk);
    expect(chain.utxoValue).toBe(subsidies(chain.height));

    // A spend paying a fee of 1 coin that the next coinbase claims: no money created or lost.
    const fork = base.at(-1) as TestBlock;
    const spend = spendTx([coinbaseInput(base[0] as TestBlock, alice)], [payTo(bob, 49n * COIN)]);
    const a1 = b.block(fork, { txs: [spend], fees: COIN });
    await chain.processBlock(a1);
    expect(chain.utxoValue).toBe(subsidies(chain.height));
    expect(chain.utxoValue).toBe(scanned(chain));

    // A heavier branch without the spend: a1 is disconnected and the total follows.
    const b1 = b.block(fork, { tag: 1, payTo: bob.script });
    const b2 = b.block(b1, { tag: 1 });
    await chain.processBlock(b1);
    await chain.processBlock(b2);
    expect(chain.height).toBe(fork.height + 2);
    expect(chain.utxoValue).toBe(subsidies(chain.height));
    expect(chain.utxoValue).toBe(scanned(chain));

    // A spend whose fee no coinbase claims burns it: the total is the subsidies minus that fee.
    const burn = spendTx([coinbaseInput(base[1] as TestBlock, alice)], [payTo(bob, 48n * COIN)]);
    const b3 = b.block(b2, { tag: 1, txs: [burn] });
    await chain.processBlock(b3);
    expect(chain.utxoValue).toBe(subsidies(chain.height) - 2n * COIN);

    // After a restart the total is rebuilt from the stored coins.
    const before = chain.utxoValue;
    await chain.close();
    chains.splice(chains.indexOf(chain), 1);
    chain = await open(dir);
    expect(chain.utxoValue).toBe(before);
    expect(chain.utxoValue).toBe(scanned(chain));
  });
});

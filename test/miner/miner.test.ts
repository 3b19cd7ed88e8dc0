import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Chain } from '../../src/chain/chain.js';
import { blockHashOf, encodeHeader } from '../../src/core/primitives/block.js';
import { toDisplayHex } from '../../src/core/primitives/bytes.js';
import { blockSubsidy, coinbaseHeight } from '../../src/core/consensus/coinbase.js';
import { NETWORKS, type NetworkParams } from '../../src/core/consensus/params.js';
import { targetToBytes } from '../../src/core/consensus/pow.js';
import { headerMidstate } from '../../src/miner/sha256-fast.js';
import { txHash, txid } from '../../src/core/primitives/tx.js';
import type { Block, Transaction } from '../../src/core/primitives/types.js';
import { checkBlock } from '../../src/core/consensus/validation.js';
import { Mempool } from '../../src/mempool/mempool.js';
import { Miner, TipMovingError, type MinerEvents } from '../../src/miner/miner.js';
import { searchNonces } from '../../src/miner/pow-search.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  testKey,
} from '../helpers/chain-builder.js';

const [alice, bob, miner] = [testKey(0), testKey(1), testKey(5)];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(params: NetworkParams, premine: number, intensityPercent = 100) {
  const dir = await mkdtemp(join(tmpdir(), 'chainmesh-miner-'));
  const chain = await Chain.open({ dataDir: dir, params });
  const mempool = new Mempool(chain, { maxBytes: 1_000_000 });
  const m = new Miner(chain, mempool, { payoutScript: miner.script, intensityPercent });
  cleanups.push(async () => {
    await m.stop();
    mempool.close();
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  });
  const builder = new ChainBuilder(params);
  // The builder grinds with the reference hash; the miner's midstate search is far faster at harder targets.
  const hashes = await m.generate(premine, alice.script);
  const blocks = await Promise.all(hashes.map(async (h) => (await chain.getBlock(h)) as Block));
  return { chain, mempool, miner: m, builder, blocks };
}

function record<K extends keyof MinerEvents>(m: Miner, event: K): MinerEvents[K][0][] {
  const seen: MinerEvents[K][0][] = [];
  (m.on as (e: K, l: (ev: MinerEvents[K][0]) => void) => Miner)(event, (ev) => seen.push(ev));
  return seen;
}

/**
 * Regtest at a harder difficulty (0x1f00ffff: about 65,536 hashes a block;
 * 0x1e0fffff: about a million), so a miner at 1 % intensity is still
 * searching its first template seconds later.
 */
function hardParams(bits = 0x1f00ffff, overrides: Partial<NetworkParams> = {}): NetworkParams {
  const base = NETWORKS.regtest;
  const h76 = encodeHeader({ ...base.genesis.header, bits }).subarray(0, 76);
  const { nonce } = searchNonces(headerMidstate(h76), h76.subarray(64), targetToBytes(bits), 0, 2 ** 32);
  const header = { ...base.genesis.header, bits, nonce: nonce as number };
  return {
    ...base,
    ...overrides,
    powLimitBits: bits,
    genesis: { header, txs: base.genesis.txs },
    genesisHash: blockHashOf(header),
  };
}

describe('generate', () => {
  it('gives up with a TipMovingError when other blocks keep taking the tip first', async () => {
    const { chain, mempool, miner: m } = await setup(NETWORKS.regtest, 0);
    const rival = new Miner(chain, mempool, { payoutScript: alice.script, intensityPercent: 100 });
    cleanups.push(() => rival.stop());
    const processBlock = chain.processBlock.bind(chain);
    let racing = false;
    // Before each of our blocks is processed, a rival block at the same height connects.
    chain.processBlock = async (block) => {
      if (!racing) {
        racing = true;
        try {
          await rival.generate(1, alice.script);
        } finally {
          racing = false;
        }
      }
      return processBlock(block);
    };
    const lost = m.generate(1, bob.script);
    await expect(lost).rejects.toBeInstanceOf(TipMovingError);
    await expect(lost).rejects.toMatchObject({ mined: [] });
    expect(chain.height).toBe(10);
  });

  it('mines blocks on demand, each connected before the next, paying the given script', async () => {
    const { chain, miner: m } = await setup(NETWORKS.regtest, 0);
    const hashes = await m.generate(3, bob.script);
    expect(hashes).toHaveLength(3);
    expect(chain.height).toBe(3);
    for (const [i, hash] of hashes.entries()) {
      expect(chain.getHashAtHeight(i + 1)).toBe(hash);
      const block = (await chain.getBlock(hash)) as Block;
      checkBlock(block, chain.params);
      const cb = block.txs[0] as Transaction;
      expect(coinbaseHeight(cb)).toBe(i + 1);
      expect(cb.outputs).toEqual([{ value: blockSubsidy(i + 1, chain.params), scriptPubKey: bob.script }]);
    }
    expect(m.hashesTotal).toBeGreaterThan(0);
  });

  it('includes pool transactions in fee-rate order and claims their fees', async () => {
    const { chain, mempool, miner: m, blocks } = await setup(NETWORKS.regtest, 12);
    const c1 = coinbaseInput(blocks[0] as Block, alice);
    const c2 = coinbaseInput(blocks[1] as Block, alice);
    const parent = spendTx([c1], [payTo(bob, c1.value - 1000n)]);
    const child = spendTx([outputInput(parent, 0, bob)], [payTo(alice, c1.value - 1000n - 90_000n)]);
    const other = spendTx([c2], [payTo(bob, c2.value - 20_000n)]);
    for (const tx of [parent, child, other]) await mempool.accept(tx);

    const [hash] = await m.generate(1, miner.script);
    const block = (await chain.getBlock(hash as string)) as Block;
    expect(block.txs.slice(1).map(txid)).toEqual([other, parent, child].map(txid));
    const fees = 1000n + 90_000n + 20_000n;
    expect(block.txs[0]?.outputs[0]?.value).toBe(blockSubsidy(13, chain.params) + fees);
    expect(mempool.count).toBe(0);
    expect(chain.getCoin(txHash(block.txs[0] as Transaction), 0)?.scriptPubKey).toEqual(miner.script);
  });
});

describe('continuous mining', () => {
  it('emits found blocks without connecting them, and builds on a competing block that took the tip', async () => {
    const { chain, miner: m, builder } = await setup(NETWORKS.regtest, 1);
    const mined = record(m, 'mined');
    const tipBefore = chain.tip;
    m.start();
    await expect.poll(() => mined.length, { timeout: 30_000, interval: 10 }).toBeGreaterThan(0);
    const first = mined[0] as MinerEvents['mined'][0];
    expect(toDisplayHex(first.block.header.prevHash)).toBe(tipBefore.hash);
    expect(first.hash).toBe(blockHashOf(first.block.header));
    checkBlock(first.block, chain.params);
    expect(chain.tip.hash).toBe(tipBefore.hash); // the node connects mined blocks, not the miner

    const competitor = builder.block(tipBefore, { payTo: alice.script, tag: 1 });
    expect((await chain.processBlock(competitor)).status).toBe('connected');
    const seenBefore = mined.length;
    await expect.poll(() => mined.length, { timeout: 30_000, interval: 10 }).toBeGreaterThan(seenBefore);
    for (const ev of mined.slice(seenBefore)) {
      expect(toDisplayHex(ev.block.header.prevHash)).toBe(competitor.hash);
    }
    const next = mined[seenBefore] as MinerEvents['mined'][0];
    expect((await chain.processBlock(next.block)).status).toBe('connected');
    expect(chain.height).toBe(3);
    await m.stop();
    expect(m.mining).toBe(false);
  });

  it('abandons the template it is working on as soon as another block becomes the tip', async () => {
    const params = hardParams();
    // 1% of a core: a block takes seconds here, so the first template is still being searched.
    const { chain, mempool, miner: m } = await setup(params, 0, 1);
    const templates = record(m, 'template');
    m.start();
    await expect.poll(() => m.hashesTotal, { timeout: 30_000, interval: 10 }).toBeGreaterThan(0);
    expect(templates[0]).toMatchObject({ height: 1, prevHash: params.genesisHash, txs: 0 });

    // Another miner (as on another node) finds block 1 and it is connected.
    const other = new Miner(chain, mempool, { payoutScript: alice.script, intensityPercent: 100 });
    cleanups.push(() => other.stop());
    const [competitorHash] = await other.generate(1, alice.script);
    const competitor = { hash: competitorHash as string };
    // Within moments, not after the old template's search would have run its course.
    await expect
      .poll(() => templates.some((t) => t.prevHash === competitor.hash), { timeout: 1000, interval: 5 })
      .toBe(true);
    expect(templates.find((t) => t.prevHash === competitor.hash)).toMatchObject({ height: 2 });
  });

  it('folds newly accepted transactions into a fresh template', async () => {
    // One premined block is spendable at once; a find by the 1 % miner within the test is unlikely.
    const params = hardParams(0x1e0fffff, { coinbaseMaturity: 1 });
    const { chain, mempool, miner: m, blocks } = await setup(params, 1, 1);
    const templates = record(m, 'template');
    // Behave as the node does, so an unlikely find cannot stall the miner.
    m.on('mined', ({ block }) => void chain.processBlock(block));
    m.start();
    await expect.poll(() => templates.length, { timeout: 30_000, interval: 10 }).toBeGreaterThan(0);
    expect(templates.at(-1)?.txs).toBe(0);
    const c1 = coinbaseInput(blocks[0] as Block, alice);
    await mempool.accept(spendTx([c1], [payTo(bob, c1.value - 5000n)]));
    // The refresh comes about a second after the template started; the old one would run for 30 s.
    await expect.poll(() => templates.at(-1)?.txs, { timeout: 8_000, interval: 20 }).toBe(1);
    expect(templates.at(-1)?.reward).toBe(blockSubsidy(chain.height + 1, params) + 5000n);
  });
});

/**
 * Chain state throughput on a 10,000-block regtest chain of small blocks
 * (coinbase plus one or two P2PKH spends): connect rate, disconnect rate
 * (invalidating the last 1,000 blocks), and — in a fresh process, so the
 * numbers are those of a node starting up — the time to reopen the store
 * and be ready, and the RSS once loaded.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Chain } from '../src/chain/index.js';
import { NETWORKS } from '../src/core/consensus/params.js';
import type { Transaction } from '../src/core/primitives/types.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  tempDataDir,
  testKey,
  type TestBlock,
} from '../test/helpers/chain-builder.js';
import { report, round } from './lib.js';

const params = NETWORKS.regtest;
const BLOCKS = 10_000;
const DISCONNECT = 1_000;
const alice = testKey(1);
const bob = testKey(2);

/** Each block pays alice; once mature, it also spends the coinbase of `maturity` blocks ago, then re-spends that output. */
function buildChain(): TestBlock[] {
  const b = new ChainBuilder(params);
  const blocks: TestBlock[] = [];
  let parent: TestBlock = b.genesis;
  for (let h = 1; h <= BLOCKS; h++) {
    const txs: Transaction[] = [];
    const old = blocks[h - 1 - params.coinbaseMaturity];
    if (old) {
      const input = coinbaseInput(old, alice);
      const first = spendTx(
        [input],
        [payTo(bob, input.value / 2n), payTo(alice, input.value - input.value / 2n)],
      );
      txs.push(first);
      if (h % 2 === 0) {
        const out = outputInput(first, 0, bob);
        txs.push(spendTx([out], [payTo(alice, out.value)]));
      }
    }
    parent = b.block(parent, { txs, payTo: alice.script });
    blocks.push(parent);
  }
  return blocks;
}

async function reopenChild(dir: string): Promise<void> {
  const baseline = process.memoryUsage().rss / (1024 * 1024);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const chain = await Chain.open({ dataDir: dir, params });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss / (1024 * 1024);
  report('reopen to ready (10k blocks)', round(ms, 0), 'ms', {
    max: 2000,
    // CPU time shows the real cost when other processes share the cores.
    note: `height ${chain.height}, ${chain.utxoCount} coins, ${round((cpu.user + cpu.system) / 1000, 0)} ms CPU`,
  });
  report('RSS after loading (10k blocks)', round(rss, 1), 'MiB', {
    note: `${round(baseline, 1)} MiB before opening (runtime + modules)`,
  });
  await chain.close();
}

async function main(): Promise<void> {
  let t0 = performance.now();
  const blocks = buildChain();
  console.log(`built ${BLOCKS} blocks in ${round((performance.now() - t0) / 1000, 1)} s`);

  const dir = await tempDataDir('chainmesh-bench-');
  try {
    let chain = await Chain.open({ dataDir: dir, params });
    t0 = performance.now();
    for (const block of blocks) await chain.processBlock(block);
    const connectSec = (performance.now() - t0) / 1000;
    report('connect (small blocks)', round(BLOCKS / connectSec, 0), 'blocks/s', {
      note: `${BLOCKS} blocks in ${round(connectSec, 1)} s`,
    });
    await chain.close();

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--reopen', dir],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`reopen child exited with ${code}`);

    chain = await Chain.open({ dataDir: dir, params });
    const target = chain.getHashAtHeight(BLOCKS - DISCONNECT + 1) as string;
    t0 = performance.now();
    await chain.invalidateBlock(target);
    const disconnectSec = (performance.now() - t0) / 1000;
    if (chain.height !== BLOCKS - DISCONNECT) throw new Error(`unexpected height ${chain.height}`);
    report('disconnect (small blocks)', round(DISCONNECT / disconnectSec, 0), 'blocks/s', {
      note: `${DISCONNECT} blocks in ${round(disconnectSec, 2)} s`,
    });
    await chain.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const reopenAt = process.argv.indexOf('--reopen');
if (reopenAt >= 0) await reopenChild(process.argv[reopenAt + 1] as string);
else await main();

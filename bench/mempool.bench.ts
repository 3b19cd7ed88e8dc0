/**
 * Mempool admission throughput on a real Chain (LevelDB in a temp dir):
 * independent one-input P2PKH spends accepted one after another (the cost of
 * one `POST /transactions` minus HTTP), the same with the pool at its byte cap
 * (every admission evicts), block selection over the full pool, and the cost
 * of one transaction's signature check inline, through the chain's
 * ScriptVerifier worker pool one at a time, and in one shared batch — which is
 * why concurrent admissions pre-verify together and a lone one stays inline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Chain } from '../src/chain/chain.js';
import { ScriptVerifier } from '../src/chain/script-verifier.js';
import { NETWORKS } from '../src/core/consensus/params.js';
import { verifyTxScripts } from '../src/core/script/sighash.js';
import { decodeTx, encodeTx, txSize } from '../src/core/primitives/tx.js';
import type { Transaction } from '../src/core/primitives/types.js';
import { Mempool } from '../src/mempool/mempool.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  testKey,
  type TestBlock,
} from '../test/helpers/chain-builder.js';
import { medianMs, report, round } from './lib.js';

const N = 4000;

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Live memory after full collections, once array buffers freed by the GC's sweeper are gone too. */
async function settledMemory(): Promise<{ heap: number; buffers: number; total: number }> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, buffers: arrayBuffers, total: heapUsed + arrayBuffers };
}
const FAN_OUT = 2000;
const params = NETWORKS.regtest;
const alice = testKey(0);
const bob = testKey(1);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'chainmesh-mempool-bench-'));
  const chain = await Chain.open({ dataDir: dir, params });
  try {
    // Mature coinbases split into FAN_OUT outputs each (transactions stay under 100 kB), confirmed: N independent coins.
    const builder = new ChainBuilder(params);
    const premine = builder.chain(builder.genesis, params.coinbaseMaturity + N / FAN_OUT, {
      payTo: alice.script,
    });
    for (const b of premine) await chain.processBlock(b);
    const each = (coinbaseInput(premine[0] as TestBlock, alice).value - 1_000_000n) / BigInt(FAN_OUT);
    const fanOuts = Array.from({ length: N / FAN_OUT }, (_, i) =>
      spendTx(
        [coinbaseInput(premine[i] as TestBlock, alice)],
        Array.from({ length: FAN_OUT }, () => payTo(alice, each)),
      ),
    );
    const tip = premine.at(-1) as TestBlock;
    await chain.processBlock(builder.block(tip, { txs: fanOuts, payTo: alice.script }));
    const spends: Transaction[] = [];
    for (let i = 0; i < N; i++) {
      const fanOut = fanOuts[Math.floor(i / FAN_OUT)] as Transaction;
      // Fees vary so the pool has a real fee-rate order to keep.
      spends.push(
        spendTx(
          [outputInput(fanOut, i % FAN_OUT, alice)],
          [payTo(bob, each - 500n - BigInt((i * 7919) % 5000))],
        ),
      );
    }

    const pool = new Mempool(chain, { maxBytes: 64 << 20 });
    let t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const tx of spends) await pool.accept(tx);
    const cpu = process.cpuUsage(cpu0);
    const acceptRate = (N * 1000) / (performance.now() - t0);
    // CPU time per admission is what a loaded machine does not distort.
    const cpuRate = (N * 1e6) / (cpu.user + cpu.system);
    report('mempool accept, one-input P2PKH (sequential)', round(acceptRate, 0), 'tx/s', {
      min: 3000,
      note: `${N} txs, pool ${pool.bytes} bytes; includes signature check; ${round(cpuRate, 0)} tx per CPU-second`,
    });

    const selectMs = await medianMs(() => pool.selectForBlock(params.maxBlockBytes), 5);
    report(`selectForBlock over ${N} txs`, round(selectMs, 1), 'ms', { max: 100 });
    pool.close();

    // What the pool holds per transaction, with transactions decoded from bytes as the API and relay receive them.
    const received = spends.map((tx) => decodeTx(encodeTx(tx)));
    const before = await settledMemory();
    const held = new Mempool(chain, { maxBytes: 64 << 20 });
    for (const tx of received) await held.accept(tx);
    received.length = 0;
    const after = await settledMemory();
    const perTx = (bytes: number) => round(bytes / N, 0);
    report('memory per mempool transaction', perTx(after.total - before.total), 'bytes', {
      note: `after full GCs: ${perTx(after.heap - before.heap)} of JS heap, ${perTx(after.buffers - before.buffers)} of array buffers; ${N} one-input transactions of ${txSize(spends[0] as Transaction)} bytes, decoded: the transaction, its entry and indexes`,
    });
    held.close();

    // A cap of half the set: from then on every admission evicts the lowest fee rate.
    const capped = new Mempool(chain, { maxBytes: Math.floor((N / 2) * txSize(spends[0] as Transaction)) });
    let evicted = 0;
    let full = 0;
    capped.on('removed', () => evicted++);
    t0 = performance.now();
    for (const tx of spends) {
      try {
        await capped.accept(tx);
      } catch {
        full++;
      }
    }
    const cappedRate = (N * 1000) / (performance.now() - t0);
    report('mempool accept at the byte cap (evicting)', round(cappedRate, 0), 'tx/s', {
      note: `${evicted} evicted, ${full} refused as mempool-full`,
    });
    capped.close();

    // One transaction's scripts: inline vs a round trip through the worker pool.
    const sample = spends.slice(0, 200);
    const prev = [fanOuts[0]?.outputs[0]?.scriptPubKey as Uint8Array];
    const inlineMs = await medianMs(() => {
      for (const tx of sample) verifyTxScripts(tx, prev);
    }, 5);
    const verifier = ScriptVerifier.create({ threads: 2, inlineBelow: 0 });
    try {
      const pooledMs = await medianMs(async () => {
        for (const tx of sample) {
          await verifier.verifyAll([
            { rawTx: encodeTx(tx), inputIndex: 0, prevScriptPubKey: prev[0] as Uint8Array },
          ]);
        }
      }, 5);
      // As concurrent requests do: every transaction submitted in one turn, one batch over the workers.
      const sharedMs = await medianMs(
        () =>
          verifier.verifyAll(
            sample.map((tx) => ({
              rawTx: encodeTx(tx),
              inputIndex: 0,
              prevScriptPubKey: prev[0] as Uint8Array,
            })),
          ),
        5,
      );
      report('script check of one tx, inline', round((inlineMs * 1000) / sample.length, 1), 'µs');
      report(
        'script check of one tx, via ScriptVerifier workers',
        round((pooledMs * 1000) / sample.length, 1),
        'µs',
      );
      report(
        `script check of one tx, in a shared batch of ${sample.length} over the workers`,
        round((sharedMs * 1000) / sample.length, 1),
        'µs',
        { note: 'wall time per tx; the main thread only packs and awaits' },
      );
    } finally {
      await verifier.close();
    }
  } finally {
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * Validation time of a block with 2,000 signed P2PKH transactions (each
 * spending a distinct coin): decoding, context-free block checks and script
 * verification, on the calling thread alone and with ScriptVerifier's two
 * worker threads. Coins are looked up in a Map, standing in for the UTXO set.
 */
import { ScriptVerifier, type ScriptJob } from '../src/chain/script-verifier.js';
import { toHex } from '../src/core/primitives/bytes.js';
import { createCoinbaseTx } from '../src/core/consensus/coinbase.js';
import { decodeBlock, encodeBlock, encodeHeader } from '../src/core/primitives/block.js';
import { hash160, sha256 } from '../src/core/crypto/hash.js';
import { privateKeyFromSeed, publicKeyOf } from '../src/core/crypto/keys.js';
import { computeMerkleRoot } from '../src/core/primitives/merkle.js';
import { NETWORKS } from '../src/core/consensus/params.js';
import { hashMeetsTarget } from '../src/core/consensus/pow.js';
import { p2pkhScript } from '../src/core/script/script.js';
import { signP2pkhInput } from '../src/core/script/sighash.js';
import { encodeTx, txHash } from '../src/core/primitives/tx.js';
import type { Block, BlockHeader, Transaction } from '../src/core/primitives/types.js';
import { checkBlock } from '../src/core/consensus/validation.js';
import { bestMs, loadNote, report, round } from './lib.js';

const TXS = 2000;
// Fastest of RUNS: see bestMs.
const RUNS = 9;
const params = NETWORKS.regtest;

function buildBlock(): { raw: Uint8Array; coins: Map<string, Uint8Array> } {
  const keys = Array.from({ length: 50 }, (_, i) => {
    const priv = privateKeyFromSeed(new TextEncoder().encode(`block bench key ${i}`));
    return { priv, script: p2pkhScript(hash160(publicKeyOf(priv))) };
  });
  const coins = new Map<string, Uint8Array>();
  const txs: Transaction[] = [
    createCoinbaseTx(1, [{ value: 50n * 100_000_000n, scriptPubKey: keys[0]!.script }]),
  ];
  for (let i = 0; i < TXS; i++) {
    const key = keys[i % keys.length]!;
    const prevTxid = sha256(new TextEncoder().encode(`funding ${i}`));
    coins.set(`${toHex(prevTxid)}:0`, key.script);
    // A typical payment: one input, a payee and change.
    const tx: Transaction = {
      version: 1,
      inputs: [{ prevTxid, prevVout: 0, scriptSig: new Uint8Array(0), sequence: 0xffffffff }],
      outputs: [
        { value: 40_000n, scriptPubKey: keys[(i + 1) % keys.length]!.script },
        { value: 59_000n, scriptPubKey: key.script },
      ],
      locktime: 0,
    };
    txs.push(signP2pkhInput(tx, 0, key.script, key.priv));
  }
  let header: BlockHeader = {
    version: 1,
    prevHash: new Uint8Array(32),
    merkleRoot: computeMerkleRoot(txs.map(txHash)).root,
    time: 1_700_000_000,
    bits: params.powLimitBits,
    nonce: 0,
  };
  while (!hashMeetsTarget(sha256d(encodeHeader(header)), header.bits))
    header = { ...header, nonce: header.nonce + 1 };
  const block: Block = { header, txs };
  return { raw: encodeBlock(block), coins };
}

function sha256d(b: Uint8Array): Uint8Array {
  return sha256(sha256(b));
}

/** Decode, context-free checks, and the script jobs the chain would hand to the verifier. */
function prepare(raw: Uint8Array, coins: Map<string, Uint8Array>): ScriptJob[] {
  const block = decodeBlock(raw);
  checkBlock(block, params);
  const jobs: ScriptJob[] = [];
  for (let i = 1; i < block.txs.length; i++) {
    const tx = block.txs[i]!;
    const rawTx = encodeTx(tx);
    tx.inputs.forEach((input, n) => {
      const script = coins.get(`${toHex(input.prevTxid)}:${input.prevVout}`);
      if (!script) throw new Error('missing coin');
      jobs.push({ rawTx, inputIndex: n, prevScriptPubKey: script });
    });
  }
  return jobs;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { raw, coins } = buildBlock();
  report('block: P2PKH transactions', TXS, 'txs', {
    note: `${raw.length} bytes, built in ${Math.round(performance.now() - t0)} ms`,
  });

  const single = ScriptVerifier.create({ threads: 0 });
  const pool = ScriptVerifier.create({ threads: 2 });
  try {
    const jobs = prepare(raw, coins);
    const checkMs = await bestMs(() => prepare(raw, coins), RUNS);
    report('decode + checkBlock + job building', round(checkMs, 1), 'ms');

    const verify = async (v: ScriptVerifier): Promise<void> => {
      if (!(await v.verifyAll(jobs))) throw new Error('valid block rejected');
    };
    // process.cpuUsage covers worker threads too: equal CPU per block means the pool adds no work,
    // whatever share of the cores other processes leave to the wall-clock numbers.
    const cpuMs = async (v: ScriptVerifier): Promise<number> => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < 3; i++) await verify(v);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 3000;
    };
    const scripts1 = await bestMs(() => verify(single), RUNS);
    const scripts2 = await bestMs(() => verify(pool), RUNS);
    const note = loadNote();
    report('script validation, 1 thread', round(scripts1, 1), 'ms', { note });
    report('script validation, ScriptVerifier 2 workers', round(scripts2, 1), 'ms', { note });
    const cpu1 = await cpuMs(single);
    const cpu2 = await cpuMs(pool);
    report('script validation CPU time, 1 thread', round(cpu1, 1), 'ms', {
      note: `${round((cpu1 * 1000) / TXS, 1)} µs per input`,
    });
    report('script validation CPU time, 2 workers (all threads)', round(cpu2, 1), 'ms');

    const full = async (v: ScriptVerifier): Promise<void> => {
      if (!(await v.verifyAll(prepare(raw, coins)))) throw new Error('valid block rejected');
    };
    const full1 = await bestMs(() => full(single), RUNS);
    const full2 = await bestMs(() => full(pool), RUNS);
    report('full block validation, 1 thread', round(full1, 1), 'ms', { note: loadNote() });
    report('full block validation, 2 workers', round(full2, 1), 'ms', { max: 150, note: loadNote() });
    report('speed-up, script validation', round(scripts1 / scripts2, 2), '×', { min: 1.7 });
    report('speed-up, full block validation', round(full1 / full2, 2), '×');
  } finally {
    await Promise.all([single.close(), pool.close()]);
  }
}

await main();

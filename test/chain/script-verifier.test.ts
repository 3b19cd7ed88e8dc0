import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import {
  firstScriptFailure,
  packJobs,
  ScriptVerifier,
  verifyJobs,
  verifyPacked,
  type ScriptJob,
} from '../../src/chain/script-verifier.js';
import { sha256, hash160 } from '../../src/core/crypto/hash.js';
import { privateKeyFromSeed, publicKeyOf } from '../../src/core/crypto/keys.js';
import { p2pkhScript } from '../../src/core/script/script.js';
import { signP2pkhInput } from '../../src/core/script/sighash.js';
import { encodeTx } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { startWorker } from '../../src/chain/worker-thread.js';

const KEYS = Array.from({ length: 8 }, (_, i) => {
  const priv = privateKeyFromSeed(new TextEncoder().encode(`script-verifier key ${i}`));
  return { priv, script: p2pkhScript(hash160(publicKeyOf(priv))) };
});

/** A transaction with `inputs` signed P2PKH inputs spending distinct made-up outpoints. */
function signedTx(seed: number, inputs = 1): { raw: Uint8Array; scripts: Uint8Array[] } {
  const keys = Array.from({ length: inputs }, (_, j) => KEYS[(seed + j) % KEYS.length]!);
  let tx: Transaction = {
    version: 1,
    inputs: keys.map((_, j) => ({
      prevTxid: sha256(new TextEncoder().encode(`coin ${seed}/${j}`)),
      prevVout: j,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    })),
    outputs: [{ value: 1000n + BigInt(seed), scriptPubKey: KEYS[0]!.script }],
    locktime: 0,
  };
  keys.forEach((k, j) => {
    tx = signP2pkhInput(tx, j, k.script, k.priv);
  });
  return { raw: encodeTx(tx), scripts: keys.map((k) => k.script) };
}

function jobsFor(count: number): ScriptJob[] {
  return Array.from({ length: count }, (_, i) => {
    const { raw, scripts } = signedTx(i);
    return { rawTx: raw, inputIndex: 0, prevScriptPubKey: scripts[0]! };
  });
}

// Signing is the slow part of setting up; one valid batch is shared by the tests (never mutated).
const VALID = jobsFor(240);

function withBadJob(at: number): ScriptJob[] {
  const jobs = VALID.slice();
  const good = jobs[at]!;
  // Spending with a different key's script: the pubkey no longer matches.
  jobs[at] = { ...good, prevScriptPubKey: KEYS[(at + 1) % KEYS.length]!.script };
  return jobs;
}

function withTamperedSignature(at: number): ScriptJob[] {
  const jobs = VALID.slice();
  const raw = Uint8Array.from(jobs[at]!.rawTx);
  // Flip a bit of the output value: the signature no longer covers this transaction.
  const valueAt = raw.length - 4 - 25 - 1 - 8;
  raw[valueAt] = raw[valueAt]! ^ 1;
  jobs[at] = { ...jobs[at]!, rawTx: raw };
  return jobs;
}

const open: ScriptVerifier[] = [];
function verifier(opts?: Parameters<typeof ScriptVerifier.create>[0]): ScriptVerifier {
  const v = ScriptVerifier.create(opts);
  open.push(v);
  return v;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

describe('ScriptVerifier', () => {
  it('accepts a valid batch on worker threads and inline', async () => {
    const v = verifier({ threads: 2 });
    expect(v.threads).toBe(2);
    await expect(v.verifyAll(VALID)).resolves.toBe(true);
    await expect(v.verifyAll(VALID.slice(0, 3))).resolves.toBe(true);
    await expect(v.verifyAll([])).resolves.toBe(true);
    expect(verifyJobs(VALID)).toBe(true);
  });

  it('rejects a batch with one wrong script or one broken signature, wherever it is', async () => {
    const v = verifier({ threads: 2 });
    for (const at of [0, 119, 239]) {
      await expect(v.verifyAll(withBadJob(at))).resolves.toBe(false);
      await expect(v.verifyAll(withTamperedSignature(at))).resolves.toBe(false);
    }
    // The sanity of the tampering itself: inline verification agrees.
    expect(verifyJobs(withTamperedSignature(5))).toBe(false);
    // Small batches take the inline path and are judged the same way.
    await expect(v.verifyAll(withBadJob(1).slice(0, 4))).resolves.toBe(false);
    // The pool is still healthy after rejections.
    await expect(v.verifyAll(VALID)).resolves.toBe(true);
  });

  it('names the reject reason of the first failing input', () => {
    expect(firstScriptFailure(VALID)).toBeUndefined();
    expect(firstScriptFailure(withBadJob(7))).toMatchObject({ code: 'bad-txns-script-verify-failed' });
    expect(firstScriptFailure(withTamperedSignature(9))).toMatchObject({
      code: 'bad-txns-script-verify-failed',
      message: expect.stringMatching(/does not verify/),
    });
    const notP2pkh = { ...VALID[0]!, prevScriptPubKey: Uint8Array.of(0x51) };
    expect(firstScriptFailure([notP2pkh])).toMatchObject({ code: 'bad-txns-nonstandard-script' });
    expect(firstScriptFailure([{ ...VALID[0]!, rawTx: Uint8Array.of(0) }])).toMatchObject({
      code: 'bad-encoding',
    });
  });

  it('treats undecodable transactions and out-of-range inputs as invalid, never throwing', async () => {
    const v = verifier({ threads: 2, inlineBelow: 0 });
    const garbage = { ...VALID[0]!, rawTx: Uint8Array.of(1, 2, 3) };
    await expect(v.verifyAll([...VALID.slice(0, 50), garbage])).resolves.toBe(false);
    const outOfRange = { ...VALID[0]!, inputIndex: 7 };
    await expect(v.verifyAll([outOfRange, ...VALID.slice(0, 50)])).resolves.toBe(false);
  });

  it('verifies every input of multi-input transactions, packing each transaction once', async () => {
    const jobs: ScriptJob[] = [];
    for (let i = 0; i < 20; i++) {
      const { raw, scripts } = signedTx(1000 + i, 3);
      scripts.forEach((script, j) => jobs.push({ rawTx: raw, inputIndex: j, prevScriptPubKey: script }));
    }
    const v = verifier({ threads: 2, inlineBelow: 0 });
    await expect(v.verifyAll(jobs)).resolves.toBe(true);
    const swapped = jobs.slice();
    swapped[31] = { ...jobs[31]!, inputIndex: (jobs[31]!.inputIndex + 1) % 3 };
    await expect(v.verifyAll(swapped)).resolves.toBe(false);

    const packed = packJobs(jobs, 0, jobs.length);
    const rawBytes = new Set(jobs.map((j) => j.rawTx)).size * jobs[0]!.rawTx.length;
    expect(packed.length).toBeLessThan(4 + jobs.length * 20 + rawBytes + jobs.length * 25 + 1);
    expect(verifyPacked(packed)).toBe(true);
    expect(verifyPacked(packJobs(swapped, 0, swapped.length))).toBe(false);
  });

  it('fails the batch, instead of hanging, when a worker dies with work, and replaces it', async () => {
    let spawned = 0;
    const v = verifier({
      threads: 2,
      inlineBelow: 0,
      spawnWorker: () => {
        spawned++;
        // The first two workers crash on their first chunk; replacements are real.
        if (spawned <= 2) {
          return new Worker(
            "require('node:worker_threads').parentPort.once('message', () => process.exit(3));",
            {
              eval: true,
            },
          );
        }
        return startWorker(
          new URL('../../src/chain/script-verifier.ts', import.meta.url).href,
          'script-worker',
        );
      },
    });
    await expect(v.verifyAll(VALID)).rejects.toThrow(/exited with code 3/);
    await expect(v.verifyAll(VALID)).resolves.toBe(true);
    expect(spawned).toBe(4);
  });

  it('fails the batch when a real worker is terminated mid-batch, then recovers', async () => {
    const workers: Worker[] = [];
    const v = verifier({
      threads: 2,
      inlineBelow: 0,
      spawnWorker: () => {
        const w = startWorker(
          new URL('../../src/chain/script-verifier.ts', import.meta.url).href,
          'script-worker',
        );
        workers.push(w);
        return w;
      },
    });
    // The chunk is posted synchronously; the worker is still loading and cannot have answered.
    const pending = v.verifyAll(VALID);
    await workers[0]!.terminate();
    await expect(pending).rejects.toThrow(/exited/);
    await expect(v.verifyAll(VALID)).resolves.toBe(true);
    await expect(v.verifyAll(withBadJob(200))).resolves.toBe(false);
    expect(workers.length).toBe(3);
  });

  it('rejects pending and later batches once closed', async () => {
    const v = verifier({ threads: 2, inlineBelow: 0 });
    const pending = expect(v.verifyAll(VALID)).rejects.toThrow(/closed/);
    await v.close();
    await pending;
    await expect(v.verifyAll(VALID)).rejects.toThrow(/closed/);
  });

  it('sends even one job to the workers when a call sets inlineBelow to 0', async () => {
    // Workers that die on their first message: a batch that reaches one fails, an inline one passes.
    const v = verifier({
      threads: 1,
      spawnWorker: () =>
        new Worker("require('node:worker_threads').parentPort.once('message', () => process.exit(3));", {
          eval: true,
        }),
    });
    await expect(v.verifyAll(VALID.slice(0, 3))).resolves.toBe(true);
    await expect(v.verifyAll(VALID.slice(0, 1), 0)).rejects.toThrow(/exited with code 3/);
  });

  it('gives each worker its next chunk before it answers, idle workers first', async () => {
    // Workers that answer only once two chunks wait in their queue: without a second chunk each, this hangs.
    const pairing = `
      const { parentPort } = require('node:worker_threads');
      let waiting = 0;
      parentPort.on('message', () => {
        if (++waiting < 2) return;
        for (; waiting > 0; waiting--) parentPort.postMessage({ ok: true });
      });`;
    const paired = verifier({ threads: 2, spawnWorker: () => new Worker(pairing, { eval: true }) });
    // 32 jobs make 4 chunks of 8: two per worker.
    await expect(paired.verifyAll(VALID.slice(0, 32))).resolves.toBe(true);

    // Two chunks go to two workers, not both to the first.
    const received: number[] = [];
    const counting = verifier({
      threads: 2,
      spawnWorker: () => {
        const index = received.push(0) - 1;
        const w = new Worker(
          "const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => parentPort.postMessage({ ok: true }));",
          { eval: true },
        );
        const post = w.postMessage.bind(w);
        w.postMessage = (...args: Parameters<Worker['postMessage']>) => {
          received[index]!++;
          post(...args);
        };
        return w;
      },
    });
    await expect(counting.verifyAll(VALID.slice(0, 16))).resolves.toBe(true);
    expect(received).toEqual([1, 1]);
  });

  it('verifies everything inline with zero threads', async () => {
    const v = verifier({ threads: 0 });
    await expect(v.verifyAll(VALID)).resolves.toBe(true);
    await expect(v.verifyAll(withBadJob(100))).resolves.toBe(false);
  });
});

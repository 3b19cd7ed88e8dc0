import { describe, expect, it, afterEach } from 'vitest';
import { sha256d } from '../../src/core/crypto/hash.js';
import { hashMeetsTargetBytes, targetToBytes } from '../../src/core/consensus/pow.js';
import { headerMidstate } from '../../src/miner/sha256-fast.js';
import { startWorker } from '../../src/chain/worker-thread.js';
import { dutyCycle, FULL_SPEED } from '../../src/miner/duty-cycle.js';
import { HashRateMeter } from '../../src/miner/hash-rate.js';
import type { PowJob, PowReport } from '../../src/miner/pow-protocol.js';
import { searchNonces } from '../../src/miner/pow-search.js';
import { PowWorkers } from '../../src/miner/pow-workers.js';

const EASY_BITS = 0x207fffff; // regtest: half of all hashes qualify
const IMPOSSIBLE = new Uint8Array(32); // target 0: no hash is ≤ 0 in practice

function header76(seed: number): Uint8Array {
  const h = new Uint8Array(76);
  for (let i = 0; i < 76; i++) h[i] = (seed * 31 + i * 7) & 0xff;
  return h;
}

function withNonce(h76: Uint8Array, nonce: number): Uint8Array {
  const h = new Uint8Array(80);
  h.set(h76);
  new DataView(h.buffer).setUint32(76, nonce, true);
  return h;
}

describe('duty cycle', () => {
  it('splits the period by intensity and thread count', () => {
    expect(dutyCycle(100, 1)).toEqual({ workMs: 100, sleepMs: 0 });
    expect(dutyCycle(10, 1)).toEqual({ workMs: 10, sleepMs: 90 });
    expect(dutyCycle(50, 2)).toEqual({ workMs: 25, sleepMs: 75 });
    expect(dutyCycle(100, 4, 200)).toEqual({ workMs: 50, sleepMs: 150 });
    expect(dutyCycle(0.1, 1)).toEqual({ workMs: 1, sleepMs: 99 });
  });
  it('rejects nonsense', () => {
    expect(() => dutyCycle(0, 1)).toThrow(RangeError);
    expect(() => dutyCycle(101, 1)).toThrow(RangeError);
    expect(() => dutyCycle(10, 0)).toThrow(RangeError);
  });
});

describe('hash rate meter', () => {
  it('averages completed seconds of the window and decays when idle', () => {
    let t = 1_000_000;
    const m = new HashRateMeter(10, () => t);
    m.add(500);
    t += 1000;
    m.add(1500);
    t += 1000;
    expect(m.rate()).toBe(1000);
    expect(m.total).toBe(2000);
    t += 20_000;
    expect(m.rate()).toBe(0);
  });
});

describe('searchNonces', () => {
  it('finds a nonce whose double SHA-256 meets the target, and matches the reference hash', () => {
    const h76 = header76(1);
    const target = targetToBytes(EASY_BITS);
    const r = searchNonces(headerMidstate(h76), h76.subarray(64), target, 0, 1000);
    expect(r.nonce).toBeDefined();
    const hash = sha256d(withNonce(h76, r.nonce as number));
    expect(hashMeetsTargetBytes(hash, target)).toBe(true);
    for (let n = 0; n < (r.nonce as number); n++) {
      expect(hashMeetsTargetBytes(sha256d(withNonce(h76, n)), target)).toBe(false);
    }
  });
  it('reports the whole range as hashed when nothing qualifies', () => {
    const h76 = header76(2);
    const r = searchNonces(headerMidstate(h76), h76.subarray(64), IMPOSSIBLE, 4_294_967_000, 2 ** 32);
    expect(r).toEqual({ next: 2 ** 32, hashes: 296 });
  });
});

describe('pow workers', () => {
  let pool: PowWorkers | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('finds a valid nonce and counts hashes', async () => {
    let hashes = 0;
    pool = new PowWorkers(2, (n) => (hashes += n));
    const h76 = header76(3);
    const target = targetToBytes(EASY_BITS);
    const out = await pool.mine(h76, target, FULL_SPEED);
    expect(out.kind).toBe('found');
    if (out.kind !== 'found') return;
    expect(hashMeetsTargetBytes(sha256d(withNonce(h76, out.nonce)), target)).toBe(true);
    expect(hashes).toBeGreaterThan(0);
  });

  it('aborts a hopeless search at once and then mines the next header', async () => {
    let hashes = 0;
    pool = new PowWorkers(1, (n) => (hashes += n));
    const hopeless = pool.mine(header76(4), IMPOSSIBLE, FULL_SPEED);
    await expect.poll(() => hashes, { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    pool.abort();
    await expect(hopeless).resolves.toEqual({ kind: 'aborted' });
    // A new job supersedes the old one without a restart of the thread.
    const next = pool.mine(header76(5), IMPOSSIBLE, dutyCycle(10, 1));
    const easy = pool.mine(header76(6), targetToBytes(EASY_BITS), FULL_SPEED);
    await expect(next).resolves.toEqual({ kind: 'aborted' });
    await expect(easy).resolves.toMatchObject({ kind: 'found' });
  });

  it('a worker reports exhaustion of its nonce range', async () => {
    const parent = new URL('../../src/miner/pow-workers.ts', import.meta.url).href;
    const control = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(control), 0, 7);
    const w = startWorker(parent, 'pow-worker', { workerData: { control } });
    try {
      const reports: PowReport[] = [];
      w.on('message', (r: PowReport) => reports.push(r));
      const job: PowJob = {
        type: 'job',
        gen: 7,
        header76: header76(7),
        target: IMPOSSIBLE,
        from: 1000,
        end: 6000,
        workMs: 100,
        sleepMs: 0,
      };
      w.postMessage(job);
      await expect.poll(() => reports.at(-1)?.type, { timeout: 20_000, interval: 20 }).toBe('exhausted');
      expect(reports.reduce((s, r) => s + r.hashes, 0)).toBe(5000);
    } finally {
      await w.terminate();
    }
  });
});

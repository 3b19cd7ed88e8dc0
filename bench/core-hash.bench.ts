/**
 * Header hashes per second as the miner computes them (midstate + unrolled
 * SHA-256 + allocation-free target check), on one thread and on two worker
 * threads, against OpenSSL's 64-byte SHA-256 on one core measured in the same
 * run: a header hash with a midstate costs the same two compressions as one
 * 64-byte message, so the ratio is a fair measure of the TypeScript overhead.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { sha256d } from '../src/core/crypto/hash.js';
import { hashMeetsTargetBytes, targetToBytes } from '../src/core/consensus/pow.js';
import { hashHeaderWithNonce, headerMidstate } from '../src/miner/sha256-fast.js';
import { startWorker } from '../src/chain/worker-thread.js';
import { bestRates, loadNote, rates, report, round, type Rates } from './lib.js';

// Measurements are taken in interleaved one-second windows and the best window counts (see bestOpsPerSecond).
const WINDOWS = 3;
const WINDOW_MS = 1000;
const WORKERS = 2;
const BITS = 0x1d00ffff;

interface HashWorkerData {
  header: Uint8Array;
  nonceStart: number;
}

function makeHashLoop(header: Uint8Array, nonceStart: number): { batch: () => void; perBatch: number } {
  const midstate = headerMidstate(header);
  const tail = header.subarray(64, 76);
  const target = targetToBytes(BITS);
  const out = new Uint8Array(32);
  const perBatch = 8192;
  let nonce = nonceStart;
  let found = 0;
  return {
    perBatch,
    batch: () => {
      for (let i = 0; i < perBatch; i++) {
        hashHeaderWithNonce(midstate, tail, nonce, out);
        nonce = (nonce + 1) >>> 0;
        if (hashMeetsTargetBytes(out, target)) found++;
      }
      // Keeps the loop observable so it cannot be optimised away.
      if (found < 0) throw new Error('unreachable');
    },
  };
}

function workerMain(): void {
  const data = workerData as HashWorkerData;
  const loop = makeHashLoop(data.header, data.nonceStart);
  // Warm up until the optimising compiler has settled, then hash one window per 'go'.
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) loop.batch();
  parentPort?.on('message', (windowMs: number) => {
    let hashes = 0;
    const start = performance.now();
    let now = start;
    while (now - start < windowMs) {
      loop.batch();
      hashes += loop.perBatch;
      now = performance.now();
    }
    parentPort?.postMessage((hashes * 1000) / (now - start));
  });
  parentPort?.postMessage('ready');
}

/** Best combined rate of `workers` threads hashing distinct nonce ranges in simultaneous windows. */
async function parallelRate(header: Uint8Array, workers: number): Promise<number> {
  const started: Worker[] = [];
  const next = (w: Worker): Promise<unknown> =>
    new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  try {
    for (let i = 0; i < workers; i++) {
      // Distinct nonce ranges, as the miner splits them.
      const data: HashWorkerData = { header, nonceStart: i * 0x40000000 };
      started.push(startWorker(import.meta.url, 'core-hash.bench', { workerData: data }));
    }
    await Promise.all(started.map(next));
    let best = 0;
    for (let r = 0; r < WINDOWS; r++) {
      const rates = started.map(next) as Promise<number>[];
      for (const w of started) w.postMessage(WINDOW_MS);
      best = Math.max(
        best,
        (await Promise.all(rates)).reduce((a, b) => a + b, 0),
      );
    }
    return best;
  } finally {
    await Promise.all(started.map((w) => w.terminate()));
  }
}

/** OpenSSL's single-core SHA-256 rate on 64-byte messages, or undefined if openssl is unavailable. */
function opensslRate(seconds: number): { rate?: number; note?: string } {
  const res = spawnSync('openssl', ['speed', '-bytes', '64', '-seconds', String(seconds), 'sha256'], {
    encoding: 'utf8',
  });
  if (res.error) return { note: `openssl not available: ${res.error.message}` };
  const m = /^sha256\s+([\d.]+)k/m.exec(res.stdout);
  if (!m?.[1]) return { note: 'could not parse openssl speed output' };
  // openssl reports thousands of bytes per second.
  return { rate: (Number(m[1]) * 1000) / 64 };
}

async function main(): Promise<void> {
  const header = new Uint8Array(crypto.randomBytes(80));
  const view = new DataView(header.buffer);
  // Sanity: the fast path must agree with node:crypto before its speed means anything.
  view.setUint32(76, 7, true);
  const fast = new Uint8Array(32);
  hashHeaderWithNonce(headerMidstate(header), header.subarray(64, 76), 7, fast);
  const ref = crypto
    .createHash('sha256')
    .update(crypto.createHash('sha256').update(header).digest())
    .digest();
  if (!ref.equals(fast)) throw new Error('sha256-fast disagrees with node:crypto');

  // OpenSSL and the single-thread loop alternate, so both see the same machine conditions.
  // `openssl speed` divides by the user CPU time it got, so the ratio uses our CPU-time rate too.
  const loop = makeHashLoop(header, 0);
  let openssl: { rate?: number; note?: string } = {};
  let single = 0;
  let singleCpu = 0;
  for (let r = 0; r < WINDOWS; r++) {
    const o = opensslRate(WINDOW_MS / 1000);
    if (o.rate !== undefined) openssl = { rate: Math.max(o.rate, openssl.rate ?? 0) };
    else if (openssl.rate === undefined) openssl = o;
    const measured = rates(loop.batch, loop.perBatch, WINDOW_MS);
    single = Math.max(single, measured.wall);
    singleCpu = Math.max(singleCpu, measured.cpu);
  }
  const windows = `best of ${WINDOWS} × ${WINDOW_MS / 1000} s, ${loadNote()}`;
  if (openssl.rate !== undefined) {
    report('openssl speed sha256 64 B, 1 core', openssl.rate / 1e6, 'M/s', { note: 'per CPU-second' });
  } else {
    report('openssl speed sha256 64 B, 1 core', NaN, 'M/s', { note: openssl.note ?? '' });
  }
  report('sha256-fast header hashes, 1 thread', single / 1e6, 'M/s', { note: windows });
  report('sha256-fast header hashes, 1 thread, per CPU-second', singleCpu / 1e6, 'M/s', { note: windows });

  const parallel = await parallelRate(header, WORKERS);
  report(`sha256-fast header hashes, ${WORKERS} workers`, parallel / 1e6, 'M/s', { note: windows });

  let n = 0;
  const createHashRate = bestRates(
    () => {
      for (let i = 0; i < 1024; i++) {
        view.setUint32(76, n++, true);
        crypto.createHash('sha256').update(crypto.createHash('sha256').update(header).digest()).digest();
      }
    },
    1024,
    WINDOWS,
    WINDOW_MS,
  );
  report('crypto.createHash double SHA-256, 1 thread', createHashRate.wall / 1e6, 'M/s', { note: windows });

  const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer })
    .hash;
  let oneShotRate: Rates | undefined;
  if (oneShot) {
    oneShotRate = bestRates(
      () => {
        for (let i = 0; i < 1024; i++) {
          view.setUint32(76, n++, true);
          oneShot('sha256', oneShot('sha256', header, 'buffer'), 'buffer');
        }
      },
      1024,
      WINDOWS,
      WINDOW_MS,
    );
    report('crypto.hash double SHA-256, 1 thread', oneShotRate.wall / 1e6, 'M/s', { note: windows });
  }

  // What blocks, transactions and merkle nodes are hashed with: sha256-js for inputs of up to two blocks.
  const hashTsRate = bestRates(
    () => {
      for (let i = 0; i < 1024; i++) {
        view.setUint32(76, n++, true);
        sha256d(header);
      }
    },
    1024,
    WINDOWS,
    WINDOW_MS,
  );
  report('core/hash.ts sha256d (TypeScript for ≤ 2 blocks), 1 thread', hashTsRate.wall / 1e6, 'M/s', {
    note: windows,
  });

  if (openssl.rate !== undefined) {
    const pct = (x: number): number => round((100 * x) / (openssl.rate as number), 1);
    report('sha256-fast 1 thread / openssl 1 core (CPU time)', pct(singleCpu), '%', { min: 35 });
    report(`sha256-fast ${WORKERS} workers (wall) / openssl 1 core`, pct(parallel), '%');
    report('crypto.createHash / openssl 1 core (CPU time)', pct(createHashRate.cpu), '%');
    if (oneShotRate !== undefined)
      report('crypto.hash / openssl 1 core (CPU time)', pct(oneShotRate.cpu), '%');
    report('core/hash.ts sha256d / openssl 1 core (CPU time)', pct(hashTsRate.cpu), '%');
  }
  report(`sha256-fast ${WORKERS} workers / 1 thread`, round(parallel / single, 2), '×', { min: 1.8 });
}

if (isMainThread) await main();
else workerMain();

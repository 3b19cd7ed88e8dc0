/**
 * Proof-of-work worker thread. Hashes one job at a time in duty-cycle slices;
 * between chunks of nonces it reads the shared generation so an abort (a new
 * tip) stops it within a few milliseconds even mid-slice.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { headerMidstate } from './sha256-fast.js';
import type { PowJob, PowReport, PowWorkerData } from './pow-protocol.js';
import { searchNonces } from './pow-search.js';

// Nonces between abort and slice-end checks: under a millisecond of hashing, so 1 % intensity stays near 1 %.
const CHUNK = 1024;
// Hash counts are reported at least this often so the hash rate stays live.
const REPORT_MS = 250;

const port = parentPort;
if (!port) throw new Error('pow-worker must run in a worker thread');
const control = new Int32Array((workerData as PowWorkerData).control);
const out = new Uint8Array(32);
let current: PowJob | undefined;
// Cuts the duty-cycle pause short when a new job arrives, so a tip change never waits out a sleep.
let wake: (() => void) | undefined;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve);
    wake = () => {
      if (ms > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
      resolve();
    };
  });
}

const post = (report: PowReport): void => port.postMessage(report);
const live = (job: PowJob): boolean => current === job && Atomics.load(control, 0) === job.gen;

async function mine(job: PowJob): Promise<void> {
  const midstate = headerMidstate(job.header76);
  const tail12 = job.header76.subarray(64, 76);
  let next = job.from;
  let unreported = 0;
  let lastReport = performance.now();
  for (;;) {
    const sliceEnd = performance.now() + job.workMs;
    do {
      const r = searchNonces(midstate, tail12, job.target, next, Math.min(job.end, next + CHUNK), out);
      next = r.next;
      unreported += r.hashes;
      if (r.nonce !== undefined)
        return post({ type: 'found', gen: job.gen, hashes: unreported, nonce: r.nonce });
      if (next >= job.end) return post({ type: 'exhausted', gen: job.gen, hashes: unreported });
      if (!live(job)) return post({ type: 'progress', gen: job.gen, hashes: unreported });
    } while (performance.now() < sliceEnd);
    if (performance.now() - lastReport >= REPORT_MS) {
      post({ type: 'progress', gen: job.gen, hashes: unreported });
      unreported = 0;
      lastReport = performance.now();
    }
    // Even at full speed, yield to the event loop so a newer job message is seen.
    await pause(job.sleepMs);
    wake = undefined;
    if (!live(job)) return post({ type: 'progress', gen: job.gen, hashes: unreported });
  }
}

let running = false;
port.on('message', (job: PowJob) => {
  current = job;
  wake?.();
  if (running) return;
  running = true;
  void (async () => {
    while (current && live(current)) {
      const job: PowJob = current;
      await mine(job);
      if (current === job) current = undefined;
    }
    running = false;
  })();
});

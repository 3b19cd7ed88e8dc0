import type { Worker } from 'node:worker_threads';
import { startWorker } from '../chain/index.js';
import type { DutyCycle } from './duty-cycle.js';
import type { PowJob, PowReport, PowWorkerData } from './pow-protocol.js';
import { NONCE_SPACE } from './pow-search.js';

export type PowOutcome =
  { readonly kind: 'found'; readonly nonce: number } | { readonly kind: 'exhausted' | 'aborted' };

interface Pending {
  readonly gen: number;
  readonly resolve: (outcome: PowOutcome) => void;
  readonly reject: (err: Error) => void;
  exhausted: number;
}

/**
 * A set of proof-of-work threads searching one header at a time, the nonce
 * space split between them. Aborting moves a shared generation counter on,
 * which every worker reads between chunks of nonces — no message round trip.
 */
export class PowWorkers {
  private readonly controlBuffer = new SharedArrayBuffer(4);
  private readonly control = new Int32Array(this.controlBuffer);
  private workers: Worker[] = [];
  private gen = 0;
  private pending: Pending | undefined;

  constructor(
    private readonly threads: number,
    /** Called with every batch of hashes the workers report, for rate and total counters. */
    private readonly onHashes: (hashes: number) => void,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError('threads must be a positive integer');
  }

  /** Searches the whole nonce space of `header76`; a later `mine` or `abort` resolves this one as aborted. */
  mine(header76: Uint8Array, target: Uint8Array, duty: DutyCycle): Promise<PowOutcome> {
    this.abort();
    this.startWorkers();
    const gen = this.nextGen();
    const span = Math.ceil(NONCE_SPACE / this.workers.length);
    const promise = new Promise<PowOutcome>((resolve, reject) => {
      this.pending = { gen, resolve, reject, exhausted: 0 };
    });
    this.workers.forEach((w, i) => {
      const job: PowJob = {
        type: 'job',
        gen,
        header76,
        target,
        from: i * span,
        end: Math.min(NONCE_SPACE, (i + 1) * span),
        workMs: duty.workMs,
        sleepMs: duty.sleepMs,
      };
      w.postMessage(job);
    });
    return promise;
  }

  /** Stops the current search at once; its promise resolves as aborted. */
  abort(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.nextGen();
    p.resolve({ kind: 'aborted' });
  }

  async close(): Promise<void> {
    this.abort();
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private nextGen(): number {
    this.gen = (this.gen + 1) | 0;
    Atomics.store(this.control, 0, this.gen);
    return this.gen;
  }

  private startWorkers(): void {
    if (this.workers.length > 0) return;
    const workerData: PowWorkerData = { control: this.controlBuffer };
    for (let i = 0; i < this.threads; i++) {
      const w = startWorker(import.meta.url, 'pow-worker', { workerData });
      w.on('message', (r: PowReport) => this.onReport(r));
      w.on('error', (err) => this.onFailure(err));
      this.workers.push(w);
    }
  }

  private onReport(r: PowReport): void {
    if (r.hashes > 0) this.onHashes(r.hashes);
    const p = this.pending;
    if (!p || r.gen !== p.gen) return;
    if (r.type === 'found') {
      this.pending = undefined;
      this.nextGen(); // the other workers stop searching this header
      p.resolve({ kind: 'found', nonce: r.nonce });
    } else if (r.type === 'exhausted' && ++p.exhausted === this.workers.length) {
      this.pending = undefined;
      p.resolve({ kind: 'exhausted' });
    }
  }

  // A crashed worker leaves the set incomplete: drop them all so the next search starts fresh ones.
  private onFailure(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.nextGen();
    const workers = this.workers;
    this.workers = [];
    for (const w of workers) void w.terminate();
    p?.reject(err);
  }
}

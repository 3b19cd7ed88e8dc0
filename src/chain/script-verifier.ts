/**
 * Script (signature) verification for block connection, spread over a small
 * pool of worker threads. ECDSA verification is ~90% of the cost of
 * validating a block of P2PKH spends, so a 2-core machine nearly halves
 * block validation time by giving each core a share of the inputs.
 *
 * Jobs travel as one packed buffer per chunk (transferred, not copied) rather
 * than one structured-clone message per input, and a transaction shared by
 * several inputs is packed and decoded once. Batches of fewer than 8 inputs
 * are checked inline, where a message round trip would cost about as much as
 * the verification; from 8 on, the workers share them, so the calling thread
 * is free for other work meanwhile. A caller whose thread serves requests (the
 * mempool) sends even one input to the workers (`verifyAll`'s `inlineBelow`).
 *
 * Each worker holds up to two chunks: the one it verifies and the next, already
 * in its message queue. With one, a worker that finished a chunk waited idle
 * until the calling thread, busy admitting transactions, got round to handing
 * it another (make ab: cores kept busy under batched load about 1.65 of 2
 * with one chunk, 1.78 with two).
 *
 * A worker that dies (crash, out of memory, terminate) fails the batch it was
 * working on with an error instead of leaving it pending, and is replaced
 * when work next arrives.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import {
  ValidationError,
  prepareP2pkhInput,
  verifyP2pkhCheck,
  verifyTxInput,
  decodeTx,
  type Transaction,
} from '../core/index.js';
import { startWorker } from './worker-thread.js';

/** One input to check: input `inputIndex` of `rawTx` spends an output locked by `prevScriptPubKey`. */
export interface ScriptJob {
  readonly rawTx: Uint8Array;
  readonly inputIndex: number;
  readonly prevScriptPubKey: Uint8Array;
}

export interface ScriptVerifierOptions {
  /** Worker threads; default min(2, available cores). 0 verifies everything inline. */
  threads?: number;
  /** Batches with fewer jobs than this are verified on the calling thread; default 8. */
  inlineBelow?: number;
  /** Starts one worker running script-worker; replaceable to inject faults in tests. */
  spawnWorker?: () => Worker;
}

/** Reply of script-worker for one chunk. */
export type ScriptWorkerReply = { ok: boolean } | { error: string };

const DEFAULT_INLINE_BELOW = 8;
// Chunks per thread per batch: enough to even out uneven chunks, few enough that messaging stays negligible.
const CHUNKS_PER_THREAD = 4;
const MIN_CHUNK = 8;
const CHUNKS_PER_WORKER = 2;
const ENTRY_BYTES = 20;

interface Batch {
  settled: boolean;
  remaining: number;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

interface Chunk {
  readonly batch: Batch;
  readonly packed: Uint8Array;
}

interface Slot {
  readonly worker: Worker;
  /** Chunks posted to the worker and not answered yet, in the order it answers them. */
  readonly posted: Chunk[];
}

export class ScriptVerifier {
  private readonly slots: Array<Slot | undefined>;
  private readonly queue: Chunk[] = [];
  private closed = false;

  private constructor(
    threads: number,
    private readonly inlineBelow: number,
    private readonly spawnWorker: () => Worker,
  ) {
    this.slots = new Array<Slot | undefined>(threads).fill(undefined);
    // Start the threads now so the first block does not pay their start-up time.
    for (let i = 0; i < threads; i++) this.slots[i] = this.spawn(i);
  }

  static create(opts: ScriptVerifierOptions = {}): ScriptVerifier {
    const threads = opts.threads ?? Math.min(2, os.availableParallelism());
    if (!Number.isInteger(threads) || threads < 0)
      throw new RangeError('threads must be a non-negative integer');
    return new ScriptVerifier(
      threads,
      opts.inlineBelow ?? DEFAULT_INLINE_BELOW,
      opts.spawnWorker ?? (() => startWorker(import.meta.url, 'script-worker')),
    );
  }

  get threads(): number {
    return this.slots.length;
  }

  /**
   * True iff every job's input is a valid P2PKH spend. Rejects only if a
   * worker dies or the pool is closed. `inlineBelow` overrides the pool's
   * threshold for one call (0: always on the workers, if there are any).
   */
  verifyAll(jobs: readonly ScriptJob[], inlineBelow = this.inlineBelow): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('script verifier is closed'));
    if (jobs.length === 0) return Promise.resolve(true);
    if (this.slots.length === 0 || jobs.length < inlineBelow) {
      try {
        return Promise.resolve(verifyJobs(jobs));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const size = Math.max(MIN_CHUNK, Math.ceil(jobs.length / (this.slots.length * CHUNKS_PER_THREAD)));
    return new Promise<boolean>((resolve, reject) => {
      const batch: Batch = { settled: false, remaining: 0, resolve, reject };
      for (let from = 0; from < jobs.length; from += size) {
        this.queue.push({ batch, packed: packJobs(jobs, from, Math.min(jobs.length, from + size)) });
        batch.remaining++;
      }
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('script verifier closed');
    for (const chunk of this.queue.splice(0)) settle(chunk.batch, err);
    const exits: Promise<number>[] = [];
    for (const slot of this.slots) {
      if (!slot) continue;
      for (const chunk of slot.posted) settle(chunk.batch, err);
      exits.push(slot.worker.terminate());
    }
    this.slots.fill(undefined);
    await Promise.all(exits);
  }

  private spawn(index: number): Slot {
    const worker = this.spawnWorker();
    const slot: Slot = { worker, posted: [] };
    // An idle pool must not keep the process alive; a busy one is referenced while it works.
    worker.unref();
    worker.on('message', (reply: ScriptWorkerReply) => this.onReply(slot, reply));
    // 'error' is always followed by 'exit', which does the bookkeeping; listening keeps it from being thrown.
    worker.on('error', () => undefined);
    worker.on('exit', (code) => this.onExit(index, slot, code));
    return slot;
  }

  private onReply(slot: Slot, reply: ScriptWorkerReply): void {
    const chunk = slot.posted.shift();
    if (!chunk) return;
    const { batch } = chunk;
    if ('error' in reply) settle(batch, new Error(`script worker failed: ${reply.error}`));
    else if (!reply.ok) settle(batch, false);
    else if (--batch.remaining === 0) settle(batch, true);
    this.dispatch();
  }

  private onExit(index: number, slot: Slot, code: number): void {
    if (this.slots[index] === slot) this.slots[index] = undefined;
    for (const chunk of slot.posted.splice(0)) {
      settle(chunk.batch, new Error(`script worker exited with code ${code} during verification`));
    }
    if (!this.closed) this.dispatch();
  }

  private dispatch(): void {
    // Idle workers first, then each one's next chunk.
    fill: for (let depth = 1; depth <= CHUNKS_PER_WORKER; depth++) {
      for (let i = 0; i < this.slots.length; i++) {
        if ((this.slots[i]?.posted.length ?? 0) >= depth) continue;
        const chunk = this.nextLiveChunk();
        if (!chunk) break fill;
        // A worker that died is replaced only when there is work for it, so a worker that cannot start
        // fails the batches given to it rather than respawning in a loop.
        const slot = (this.slots[i] ??= this.spawn(i));
        slot.posted.push(chunk);
        slot.worker.ref();
        const buf = chunk.packed.buffer as ArrayBuffer;
        slot.worker.postMessage(buf, [buf]);
      }
    }
    for (const slot of this.slots) if (slot?.posted.length === 0) slot.worker.unref();
  }

  private nextLiveChunk(): Chunk | undefined {
    let chunk = this.queue.shift();
    // Chunks of a batch already decided (an invalid input found, a worker died) are dropped unchecked.
    while (chunk?.batch.settled) chunk = this.queue.shift();
    return chunk;
  }
}

function settle(batch: Batch, outcome: boolean | Error): void {
  if (batch.settled) return;
  batch.settled = true;
  if (outcome instanceof Error) batch.reject(outcome);
  else batch.resolve(outcome);
}

/** Verifies jobs on this thread, decoding each distinct transaction once. */
export function verifyJobs(jobs: readonly ScriptJob[]): boolean {
  const decoded = new Map<Uint8Array, Transaction | null>();
  for (const job of jobs) {
    let tx = decoded.get(job.rawTx);
    if (tx === undefined) {
      tx = tryDecode(job.rawTx);
      decoded.set(job.rawTx, tx);
    }
    if (tx === null || !verifyTxInput(tx, job.inputIndex, job.prevScriptPubKey)) return false;
  }
  return true;
}

/**
 * The reject reason of the first invalid job, or undefined if all are valid.
 * verifyAll only answers yes or no, which keeps the fast path cheap; a block
 * that fails is rare, so its reason is worked out here on the calling thread.
 */
export function firstScriptFailure(jobs: readonly ScriptJob[]): ValidationError | undefined {
  const decoded = new Map<Uint8Array, Transaction | null>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as ScriptJob;
    let tx = decoded.get(job.rawTx);
    if (tx === undefined) {
      tx = tryDecode(job.rawTx);
      decoded.set(job.rawTx, tx);
    }
    if (tx === null) return new ValidationError('bad-encoding', `job ${i}: transaction does not decode`);
    const check = prepareP2pkhInput(tx, job.inputIndex, job.prevScriptPubKey);
    if (check instanceof ValidationError) return check;
    if (!verifyP2pkhCheck(check)) {
      return new ValidationError(
        'bad-txns-script-verify-failed',
        `input ${job.inputIndex} signature does not verify`,
      );
    }
  }
  return undefined;
}

/**
 * Packs jobs[from, to) into one buffer: a count, then per job (inputIndex,
 * tx offset, tx length, script offset, script length) as little-endian u32,
 * then the bytes. Identical tx or script objects are stored once.
 */
export function packJobs(jobs: readonly ScriptJob[], from: number, to: number): Uint8Array {
  const offsets = new Map<Uint8Array, number>();
  let dataBytes = 0;
  for (let i = from; i < to; i++) {
    const job = jobs[i] as ScriptJob;
    for (const part of [job.rawTx, job.prevScriptPubKey]) {
      if (!offsets.has(part)) {
        offsets.set(part, -1);
        dataBytes += part.length;
      }
    }
  }
  const count = to - from;
  const tableEnd = 4 + count * ENTRY_BYTES;
  const packed = new Uint8Array(tableEnd + dataBytes);
  const view = new DataView(packed.buffer);
  view.setUint32(0, count, true);
  let data = tableEnd;
  const place = (part: Uint8Array): number => {
    let at = offsets.get(part) as number;
    if (at < 0) {
      at = data;
      packed.set(part, at);
      data += part.length;
      offsets.set(part, at);
    }
    return at;
  };
  for (let i = from; i < to; i++) {
    const job = jobs[i] as ScriptJob;
    const entry = 4 + (i - from) * ENTRY_BYTES;
    view.setUint32(entry, job.inputIndex, true);
    view.setUint32(entry + 4, place(job.rawTx), true);
    view.setUint32(entry + 8, job.rawTx.length, true);
    view.setUint32(entry + 12, place(job.prevScriptPubKey), true);
    view.setUint32(entry + 16, job.prevScriptPubKey.length, true);
  }
  return packed;
}

/** The worker side of `packJobs`: true iff every packed job verifies. */
export function verifyPacked(packed: Uint8Array): boolean {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const count = view.getUint32(0, true);
  const decoded = new Map<number, Transaction | null>();
  for (let i = 0; i < count; i++) {
    const entry = 4 + i * ENTRY_BYTES;
    const txOff = view.getUint32(entry + 4, true);
    let tx = decoded.get(txOff);
    if (tx === undefined) {
      tx = tryDecode(packed.subarray(txOff, txOff + view.getUint32(entry + 8, true)));
      decoded.set(txOff, tx);
    }
    if (tx === null) return false;
    const scriptOff = view.getUint32(entry + 12, true);
    const script = packed.subarray(scriptOff, scriptOff + view.getUint32(entry + 16, true));
    if (!verifyTxInput(tx, view.getUint32(entry, true), script)) return false;
  }
  return true;
}

function tryDecode(raw: Uint8Array): Transaction | null {
  try {
    return decodeTx(raw);
  } catch {
    return null;
  }
}

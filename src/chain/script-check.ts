import { availableParallelism } from 'node:os';
import { ValidationError, prepareP2pkhInput, verifyP2pkhCheck, type Transaction } from '../core/index.js';
import { ScriptVerifier } from './script-verifier.js';

/** One input whose script (signature) must verify. */
export interface ScriptJob {
  readonly tx: Transaction;
  readonly rawTx: Uint8Array;
  readonly inputIndex: number;
  readonly prevScriptPubKey: Uint8Array;
}

/**
 * Signature checks of a block, all or nothing, batched over the worker pool.
 * The pool only answers yes or no; on "no" the failing input is looked up
 * again on this thread (a rare path) to throw its precise reject code (DER,
 * high-S, wrong key...). The pool starts with the first block that has
 * inputs, so opening the chain does not compete with thread start-up.
 */
export class ScriptChecker {
  private verifier: ScriptVerifier | undefined;
  private closed = false;

  /** `threads` undefined: up to two workers, as many as there are cores. */
  constructor(private readonly threads = Math.min(2, availableParallelism())) {}

  /** True iff every job verifies; says nothing about which failed. `inlineBelow`: see ScriptVerifier.verifyAll. */
  async allValid(jobs: readonly ScriptJob[], inlineBelow?: number): Promise<boolean> {
    if (jobs.length === 0) return true;
    if (this.closed) throw new Error('script checker is closed');
    this.verifier ??= ScriptVerifier.create({ threads: this.threads });
    return this.verifier.verifyAll(jobs, inlineBelow);
  }

  async verifyAll(jobs: readonly ScriptJob[]): Promise<void> {
    if (await this.allValid(jobs)) return;
    for (const job of jobs) {
      const check = prepareP2pkhInput(job.tx, job.inputIndex, job.prevScriptPubKey);
      if (check instanceof ValidationError) throw check;
      if (!verifyP2pkhCheck(check)) {
        throw new ValidationError(
          'bad-txns-script-verify-failed',
          `input ${job.inputIndex} signature does not verify`,
        );
      }
    }
    throw new ValidationError('bad-txns-script-verify-failed', 'script verification failed');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.verifier?.close();
  }
}

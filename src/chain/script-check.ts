import { ValidationError } from '../core/errors.js';
import { prepareP2pkhInput, verifyP2pkhCheck } from '../core/sighash.js';
import type { Transaction } from '../core/types.js';

/** One input whose script (signature) must verify. */
export interface ScriptJob {
  readonly tx: Transaction;
  readonly rawTx: Uint8Array;
  readonly inputIndex: number;
  readonly prevScriptPubKey: Uint8Array;
}

/**
 * Signature checks of a block, all or nothing. On failure the reject code of
 * the first failing input is thrown (DER, high-S, wrong key...), so the
 * expensive path only needs a yes/no answer.
 */
export class ScriptChecker {
  private constructor() {}

  static async create(_threads: number): Promise<ScriptChecker> {
    return new ScriptChecker();
  }

  async verifyAll(jobs: readonly ScriptJob[]): Promise<void> {
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
  }

  async close(): Promise<void> {}
}

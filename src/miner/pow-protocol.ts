/** Messages between the miner and its proof-of-work workers. */

export interface PowJob {
  readonly type: 'job';
  /** Generation this job belongs to; the miner aborts it by moving the shared generation on. */
  readonly gen: number;
  readonly header76: Uint8Array;
  /** Target as 32 little-endian bytes (core/pow targetToBytes). */
  readonly target: Uint8Array;
  readonly from: number;
  readonly end: number;
  readonly workMs: number;
  readonly sleepMs: number;
}

export type PowReport =
  | { readonly type: 'progress'; readonly gen: number; readonly hashes: number }
  | { readonly type: 'found'; readonly gen: number; readonly hashes: number; readonly nonce: number }
  | { readonly type: 'exhausted'; readonly gen: number; readonly hashes: number };

/** Data every worker starts with: a shared Int32Array whose slot 0 is the live generation. */
export interface PowWorkerData {
  readonly control: SharedArrayBuffer;
}

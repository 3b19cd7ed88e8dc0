import type { ProcessBlockResult } from '../chain/index.js';
import type { Block, NetworkParams, Transaction } from '../core/index.js';

export type { ProcessBlockResult } from '../chain/index.js';

/**
 * What the peer layer needs from the chain and the mempool: the contract's
 * Chain and Mempool satisfy these structurally.
 */
export interface ChainPort {
  readonly tip: { readonly hash: string; readonly height: number; readonly chainWork: bigint };
  processBlock(block: Block): Promise<ProcessBlockResult>;
  hasBlock(hash: string): boolean;
  getEntry(hash: string): { readonly chainWork: bigint } | undefined;
  getLocator(): string[];
  getHashesAfterLocator(locator: string[], limit: number): string[];
  getRawBlock(hash: string): Promise<Uint8Array | undefined>;
  readonly params: NetworkParams;
  /** What a block on the tip must carry now (bits, earliest time): early relay checks a header against it. */
  nextBlockContext(nowSec: number): { bits: number; minTime: number };
}

export interface MempoolPort {
  accept(tx: Transaction): Promise<{ txid: string }>;
  /** Batch signature checks over worker threads before the one-by-one admission. */
  preverify(txs: readonly Transaction[]): Promise<void>;
  has(txid: string): boolean;
  /** Pool transactions by a key of their hash, for the keys wanted (null: two share it); compact blocks are rebuilt from it. */
  transactionsByKey<K>(
    keyOf: (hash: Uint8Array) => K,
    wanted: ReadonlySet<K>,
  ): ReadonlyMap<K, Transaction | null>;
}

/** A block this layer handed to the chain that connected or was stored on a side chain. */
export interface AcceptedBlock {
  hash: string;
  height?: number;
  status: 'connected' | 'side-chain';
  source: 'peer' | 'api' | 'sync';
  /** The node id of the peer that relayed or served it. */
  peer?: string;
}

/**
 * Where `block accepted` lines go. The node passes the limiter of its
 * `block connected` lines, so that a catch-up of thousands of blocks is
 * summarised instead of logging two info lines per block.
 */
export interface BlockLogPort {
  accepted(block: AcceptedBlock): void;
}

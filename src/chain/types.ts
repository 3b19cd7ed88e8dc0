import type { Block, NetworkParams, RejectCode } from '../core/index.js';
import type { BlockIndexEntry } from './block-index.js';
import type { StoreWriteError } from './store.js';

export interface ChainOptions {
  /** Node data directory; the chain keeps its LevelDB under `<dataDir>/chain`. */
  dataDir: string;
  params: NetworkParams;
  /** Clock in milliseconds (Date.now by default); injected by tests. */
  now?: () => number;
  orphanLimit?: number;
  /** Worker threads for signature checks; default up to 2 (one per core); 0 verifies on the calling thread. */
  scriptThreads?: number;
}

export interface ReorgSummary {
  depth: number;
  /** Blocks removed from the best chain, old tip first. */
  disconnected: Block[];
  /** Blocks added to the best chain, lowest first. */
  connected: Block[];
}

export interface ProcessBlockResult {
  /**
   * 'stale': valid so far, but on a side branch with less work than the tip:
   * held in memory only (see low-work.ts), stored if its branch catches up.
   */
  status: 'connected' | 'side-chain' | 'orphan' | 'duplicate' | 'stale';
  hash: string;
  height?: number;
  reorg?: ReorgSummary;
  /** For an orphan: the unknown ancestor block to fetch. */
  missingParent?: string;
  /** Orphans that were waiting for this block (directly or transitively) and are now in the block index. */
  connectedOrphans?: string[];
}

export interface ChainEvents {
  connect: [{ block: Block; hash: string; height: number }];
  disconnect: [{ block: Block; hash: string; height: number }];
  tip: [BlockIndexEntry];
  reorg: [{ depth: number; oldTip: BlockIndexEntry; newTip: BlockIndexEntry }];
  rejected: [{ hash: string; code: RejectCode }];
  /** A store write failed after the last one succeeded (e.g. the disk is full): blocks are not accepted. */
  storeFailed: [{ error: StoreWriteError }];
  /** A write succeeded again after storeFailed. */
  storeRecovered: [];
}

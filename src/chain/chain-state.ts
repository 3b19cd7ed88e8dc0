import type { EventEmitter } from 'node:events';
import { isBlockMutation, type Block, type NetworkParams, type RejectCode } from '../core/index.js';
import type { BlockIndex } from './block-index.js';
import type { LowWorkBlocks } from './low-work.js';
import type { OrphanPool } from './orphans.js';
import type { ChainStore } from './store.js';
import type { ChainEvents } from './types.js';
import type { UtxoSet } from './utxo-set.js';

/**
 * The state the chain's parts share (chain.ts builds it once): the store and
 * what is kept of it in memory, the pools of blocks not (yet) in the index,
 * and where events go. Only the part that owns a job changes its piece.
 */
export interface ChainState {
  readonly params: NetworkParams;
  readonly store: ChainStore;
  readonly index: BlockIndex;
  readonly utxo: UtxoSet;
  readonly orphans: OrphanPool;
  readonly lowWork: LowWorkBlocks;
  /** Accepted blocks extending the tip, written together with their connect batch. */
  readonly unsaved: Map<string, Block>;
  readonly events: EventEmitter<ChainEvents>;
}

/**
 * Reports a rejected block and forgets orphans that were waiting for it:
 * they cannot connect. Not after a mutated copy (a body that does not match
 * its header): the real block may still come, and its orphans connect then.
 */
export function rejectBlock(state: ChainState, hash: string, code: RejectCode): void {
  if (!isBlockMutation(code)) {
    const dropped = [hash];
    for (let h = dropped.pop(); h !== undefined; h = dropped.pop()) {
      for (const child of state.orphans.takeChildren(h)) dropped.push(child.hash);
    }
  }
  state.events.emit('rejected', { hash, code });
}

export { Chain, StoreNetworkError } from './chain.js';
export type { ChainEvents, ChainOptions, ProcessBlockResult, ReorgSummary } from './types.js';
export type { BlockIndexEntry, BlockStatus } from './block-index.js';
export { checkConsistency } from './consistency.js';
export { StoreWriteError } from './store.js';
export { startWorker } from './worker-thread.js';
export type { ScriptJob } from './script-check.js';
export { outpointKey } from './utxo-set.js';
export type { AddressTxEntry } from './address-index.js';

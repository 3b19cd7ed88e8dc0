export { Chain, StoreNetworkError } from './chain.js';
export type { ChainEvents, ChainOptions, ProcessBlockResult, ReorgSummary } from './chain.js';
export type { BlockIndexEntry, BlockStatus } from './block-index.js';
export { checkConsistency } from './consistency.js';

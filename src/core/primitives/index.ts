/** Bitcoin-format data and its encoding: bytes and hex, CompactSize, transactions, blocks, merkle trees. */
export * from './block.js';
export * from './bytes.js';
export * from './compact-block.js';
export * from './encoding.js';
export * from './merkle.js';
export * from './tx.js';
export type * from './types.js';

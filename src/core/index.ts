/** The consensus core's public API: pure functions over Bitcoin-format bytes. */
export * from './address.js';
export * from './block.js';
export * from './bytes.js';
export * from './coinbase.js';
export * from './encoding.js';
export * from './errors.js';
export * from './hash.js';
export * from './keys.js';
export * from './merkle.js';
export * from './params.js';
export * from './pow.js';
export * from './script.js';
export * from './sha256-fast.js';
export * from './sighash.js';
export * from './tx.js';
export type * from './types.js';
export * from './validation.js';

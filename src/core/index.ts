/**
 * The consensus core's public API: pure functions over Bitcoin-format bytes,
 * in layers that import downward only: errors <- crypto <- primitives <- script <- consensus.
 */
export * from './consensus/index.js';
export * from './crypto/index.js';
export * from './errors.js';
export * from './primitives/index.js';
export * from './script/index.js';

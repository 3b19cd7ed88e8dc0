/** Package root: the consensus core as a library (see src/core/index.ts). */
export * from './core/index.js';

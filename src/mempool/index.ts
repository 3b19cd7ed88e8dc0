export { Mempool } from './mempool.js';
export type { MempoolChain, MempoolEvents, MempoolOptions, RemovalReason } from './mempool.js';
export { DEFAULT_MIN_FEE_RATE, minimumFee } from './policy.js';

export { Miner, TipMovingError } from './miner.js';
export type { MinerChain, MinerEvents, MinerMempool, MinerOptions } from './miner.js';
export { dutyCycle } from './duty-cycle.js';
export type { DutyCycle } from './duty-cycle.js';
export { assembleBlock, createTemplate } from './template.js';
export type { BlockTemplate } from './template.js';

/** The rules: network parameters and genesis, amounts in coins, proof of work, coinbase and subsidy, addresses, block and transaction validation. */
export * from './address.js';
export * from './amount.js';
export * from './coinbase.js';
export * from './params.js';
export * from './pow.js';
export * from './validation.js';

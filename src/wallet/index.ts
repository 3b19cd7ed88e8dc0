/** The wallet: key files, exact coin amounts, coin selection and local signing of payments. */
export * from './address.js';
export * from './amount.js';
export * from './coin-selection.js';
export * from './demo-wallets.js';
export * from './errors.js';
export * from './fetch-failure.js';
export * from './keystore.js';
export * from './payment.js';
export * from './node-client.js';

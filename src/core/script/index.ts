/** Scripts: the P2PKH templates and their parsing, signature hashes and input verification. */
export * from './script.js';
export * from './sighash.js';

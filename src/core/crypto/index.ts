/** Hashes (SHA-256 in TypeScript and node:crypto, RIPEMD-160, SipHash-2-4) and secp256k1 keys and signatures. */
export * from './hash.js';
export * from './keys.js';
export * from './sha256-js.js';
export * from './siphash.js';

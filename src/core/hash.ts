import { createHash } from 'node:crypto';

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** Bitcoin's double SHA-256, used for txids, block hashes, merkle nodes and checksums. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(createHash('sha256').update(data).digest());
}

export function ripemd160(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('ripemd160').update(data).digest());
}

/** RIPEMD-160(SHA-256(x)): the 20-byte key hash inside P2PKH scripts and addresses. */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(createHash('sha256').update(data).digest());
}

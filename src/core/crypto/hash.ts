import * as crypto from 'node:crypto';
import { sha256Js } from './sha256-js.js';

type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;

// crypto.hash (Node ≥ 20.12) skips the Hash object and is ~3× faster for small
// inputs than createHash; older Node 20 releases fall back.
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/**
 * Inputs up to this length take at most two compressions with their padding,
 * which sha256-js.ts does in less time than one call into node:crypto costs;
 * from three on the two are about even, so longer inputs go to node:crypto.
 */
const TYPESCRIPT_MAX_BYTES = 119;

function digest(algorithm: 'sha256' | 'ripemd160', data: Uint8Array): Buffer {
  return oneShot ? oneShot(algorithm, data, 'buffer') : crypto.createHash(algorithm).update(data).digest();
}

function firstPass(data: Uint8Array): Uint8Array {
  return data.length <= TYPESCRIPT_MAX_BYTES ? sha256Js(data) : digest('sha256', data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return data.length <= TYPESCRIPT_MAX_BYTES ? sha256Js(data) : new Uint8Array(digest('sha256', data));
}

/** Bitcoin's double SHA-256, used for txids, block hashes, merkle nodes and checksums. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256Js(firstPass(data));
}

export function ripemd160(data: Uint8Array): Uint8Array {
  return new Uint8Array(digest('ripemd160', data));
}

/** RIPEMD-160(SHA-256(x)): the 20-byte key hash inside P2PKH scripts and addresses. */
export function hash160(data: Uint8Array): Uint8Array {
  return new Uint8Array(digest('ripemd160', firstPass(data)));
}

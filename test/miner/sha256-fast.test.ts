import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { hashHeaderWithNonce, headerMidstate } from '../../src/miner/sha256-fast.js';
import { hashMeetsTarget, hashMeetsTargetBytes, targetToBytes } from '../../src/core/consensus/pow.js';

const sha256d = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(createHash('sha256').update(b).digest()).digest());

function fastHash(header: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  const nonce = new DataView(header.buffer, header.byteOffset).getUint32(76, true);
  hashHeaderWithNonce(headerMidstate(header.subarray(0, 76)), header.subarray(64, 76), nonce, out);
  return out;
}

// Real mainnet headers: genesis, block 1, block 125552 (a 2011 block at high difficulty).
const REAL = [
  [
    '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
    '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  ],
  [
    '010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299',
    '00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048',
  ],
  [
    '0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695',
    '00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d',
  ],
] as const;

describe('sha256-fast', () => {
  it.each(REAL)('hashes real mainnet header to its explorer hash %#', (hex, hash) => {
    const h = fastHash(new Uint8Array(Buffer.from(hex, 'hex')));
    expect(Buffer.from(h).reverse().toString('hex')).toBe(hash);
  });

  it('equals node:crypto double SHA-256 on random headers and nonces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), (header) => {
        expect(Buffer.from(fastHash(header))).toEqual(Buffer.from(sha256d(header)));
      }),
      { numRuns: 500 },
    );
  });

  it('covers nonce edge values with one midstate, as the mining loop uses it', () => {
    const header = new Uint8Array(Buffer.from(REAL[2][0], 'hex'));
    const mid = headerMidstate(header.subarray(0, 76));
    const tail = header.subarray(64, 76);
    const out = new Uint8Array(32);
    const view = new DataView(header.buffer);
    for (const nonce of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
      view.setUint32(76, nonce, true);
      hashHeaderWithNonce(mid, tail, nonce, out);
      expect(Buffer.from(out)).toEqual(Buffer.from(sha256d(header)));
    }
  });

  it('midstate depends only on the first 64 bytes', () => {
    const a = new Uint8Array(76).fill(1);
    const b = Uint8Array.from(a);
    b[70] = 9;
    expect(headerMidstate(a)).toEqual(headerMidstate(b));
    b[3] = 9;
    expect(headerMidstate(a)).not.toEqual(headerMidstate(b));
    expect(() => headerMidstate(new Uint8Array(63))).toThrow(RangeError);
  });

  it('a nonce search finds the real nonce of block 125552 and checks it without allocation', () => {
    const header = new Uint8Array(Buffer.from(REAL[2][0], 'hex'));
    const bits = new DataView(header.buffer).getUint32(72, true);
    const realNonce = new DataView(header.buffer).getUint32(76, true);
    const mid = headerMidstate(header.subarray(0, 76));
    const tail = header.subarray(64, 76);
    const target = targetToBytes(bits);
    const out = new Uint8Array(32);
    const found: number[] = [];
    for (let n = realNonce - 2000; n <= realNonce + 2000; n++) {
      hashHeaderWithNonce(mid, tail, n >>> 0, out);
      if (hashMeetsTargetBytes(out, target)) found.push(n);
    }
    expect(found).toEqual([realNonce]);
    hashHeaderWithNonce(mid, tail, realNonce, out);
    expect(hashMeetsTarget(out, bits)).toBe(true);
  });
});

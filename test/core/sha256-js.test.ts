import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { sha256Js } from '../../src/core/crypto/sha256-js.js';
import { hash160, ripemd160, sha256, sha256d } from '../../src/core/crypto/hash.js';

const nodeSha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('sha256Js', () => {
  // FIPS 180-2 appendix B and the NIST example values: one block, two blocks, an empty message.
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('NIST vector %#', (message, digest) => {
    expect(hex(sha256Js(ascii(message)))).toBe(digest);
  });

  it('equals node:crypto at every length across the padding boundaries, 0-300 bytes', () => {
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= data.length; n++) {
      expect(hex(sha256Js(data.subarray(0, n))), `length ${n}`).toBe(hex(nodeSha256(data.subarray(0, n))));
    }
  });

  it('equals node:crypto on random inputs, views at any offset included (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), fc.nat(16), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(hex(sha256Js(view))).toBe(hex(nodeSha256(view)));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns a fresh array each call, untouched by later calls', () => {
    const first = sha256Js(ascii('abc'));
    sha256Js(ascii('something else entirely'));
    expect(hex(first)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('hash.ts, which picks TypeScript or node:crypto by length', () => {
  it('sha256, sha256d and hash160 equal node:crypto on both sides of the switch (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const once = createHash('sha256').update(bytes).digest();
        expect(hex(sha256(bytes))).toBe(hex(once));
        expect(hex(sha256d(bytes))).toBe(hex(createHash('sha256').update(once).digest()));
        expect(hex(hash160(bytes))).toBe(hex(createHash('ripemd160').update(once).digest()));
        expect(hex(ripemd160(bytes))).toBe(hex(createHash('ripemd160').update(bytes).digest()));
      }),
      { numRuns: 1000 },
    );
  });

  it('always returns a plain Uint8Array, never a Buffer (whose slice would alias)', () => {
    for (const n of [0, 33, 64, 200, 5000]) {
      const data = new Uint8Array(n);
      for (const h of [sha256(data), sha256d(data), hash160(data), ripemd160(data)]) {
        expect(Object.getPrototypeOf(h)).toBe(Uint8Array.prototype);
      }
    }
  });
});

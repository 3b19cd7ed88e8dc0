import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/primitives/bytes.js';
import { ValidationError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/crypto/hash.js';
import {
  isLowS,
  isStrictDer,
  isValidPrivateKey,
  parseStrictDer,
  privateKeyFromSeed,
  publicKeyOf,
  signDigest,
  verifyDigest,
} from '../../src/core/crypto/keys.js';

const digest = sha256(new TextEncoder().encode('chainmesh'));

describe('keys', () => {
  it('private key 1 gives the secp256k1 generator point, compressed (SEC 2)', () => {
    const one = fromHex('00'.repeat(31) + '01');
    expect(toHex(publicKeyOf(one))).toBe(
      '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    );
  });

  it('rejects invalid private keys with bad-key', () => {
    expect(isValidPrivateKey(new Uint8Array(32))).toBe(false);
    expect(isValidPrivateKey(new Uint8Array(31).fill(1))).toBe(false);
    const n = fromHex('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    expect(isValidPrivateKey(n)).toBe(false);
    expect(() => publicKeyOf(n)).toThrow(expect.objectContaining({ code: 'bad-key' }));
    expect(() => signDigest(digest, new Uint8Array(32))).toThrow(ValidationError);
  });

  it('derives keys deterministically from a seed', () => {
    const seed = new TextEncoder().encode('seed');
    expect(toHex(privateKeyFromSeed(seed))).toBe(toHex(privateKeyFromSeed(seed)));
    expect(isValidPrivateKey(privateKeyFromSeed(seed))).toBe(true);
  });

  it('signatures are deterministic (RFC 6979), strict DER, low-S, and verify', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seed, msg) => {
          const priv = privateKeyFromSeed(seed);
          const pub = publicKeyOf(priv);
          const sig = signDigest(msg, priv);
          expect(toHex(signDigest(msg, priv))).toBe(toHex(sig));
          expect(isStrictDer(sig)).toBe(true);
          expect(isLowS(parseStrictDer(sig)!)).toBe(true);
          expect(verifyDigest(msg, sig, pub)).toBe(true);
          const other = msg.slice();
          other[0] = other[0]! ^ 1;
          expect(verifyDigest(other, sig, pub)).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('verification returns false, never throws, on malformed keys and signatures', () => {
    const priv = privateKeyFromSeed(new Uint8Array([1]));
    const pub = publicKeyOf(priv);
    const sig = signDigest(digest, priv);
    expect(verifyDigest(digest, sig, pub.subarray(0, 32))).toBe(false);
    const notOnCurve = pub.slice();
    notOnCurve[1] = notOnCurve[1]! ^ 0xff;
    expect(verifyDigest(digest, sig, notOnCurve)).toBe(false);
    expect(verifyDigest(digest, sig, new Uint8Array(65).fill(4))).toBe(false);
    expect(verifyDigest(digest.subarray(1), sig, pub)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), (s, k) => {
        expect(typeof verifyDigest(digest, s, k)).toBe('boolean');
      }),
    );
  });

  it('BIP66 strict DER rules', () => {
    const priv = privateKeyFromSeed(new Uint8Array([2]));
    const der = signDigest(digest, priv);
    expect(isStrictDer(der)).toBe(true);
    const lenR = der[3]!;
    const mutate = (f: (b: Uint8Array) => void) => {
      const b = der.slice();
      f(b);
      return b;
    };
    expect(isStrictDer(mutate((b) => (b[0] = 0x31)))).toBe(false); // not a sequence
    expect(isStrictDer(mutate((b) => (b[1] = b[1]! + 1)))).toBe(false); // wrong total length
    expect(isStrictDer(mutate((b) => (b[2] = 0x03)))).toBe(false); // r not an integer
    expect(isStrictDer(mutate((b) => (b[4] = 0x80)))).toBe(false); // negative r
    expect(isStrictDer(mutate((b) => (b[lenR + 6] = 0x80)))).toBe(false); // negative s
    expect(isStrictDer(new Uint8Array([...der, 0]))).toBe(false); // trailing byte
    // superfluous leading zero on r
    const padded = new Uint8Array([0x30, der[1]! + 1, 0x02, lenR + 1, 0x00, ...der.subarray(4)]);
    expect(isStrictDer(padded)).toBe(false);
    expect(parseStrictDer(padded)).toBeUndefined();
    // r = 0 is well-formed DER but never a valid signature
    const zeroR = new Uint8Array([0x30, 6, 0x02, 1, 0x00, 0x02, 1, 0x01]);
    expect(isStrictDer(zeroR)).toBe(true);
    expect(verifyDigest(digest, zeroR, publicKeyOf(priv))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { sipHash24, sipHash24Low48, sipHashKey } from '../../src/core/crypto/siphash.js';
import { loadVectors } from '../helpers/vectors.js';

const v = loadVectors<{ key: string; outputs: string[] }>('siphash-2-4.json');
const key = sipHashKey(Buffer.from(v.key, 'hex'));
const message = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('SipHash-2-4', () => {
  it('has the reference vectors of every message length 0-63 (every tail length, one to eight words)', () => {
    expect(v.outputs).toHaveLength(64);
    v.outputs.forEach((want, n) => expect(hex(sipHash24(key, message(n))), `length ${n}`).toBe(want));
  });

  it("gives the paper's worked example: 15 bytes 00..0e -> a129ca6149be45e5", () => {
    const out = sipHash24(key, message(15));
    expect(Buffer.from(out).readBigUInt64LE()).toBe(0xa129ca6149be45e5n);
  });

  it('reads a message inside a larger buffer at an offset, not the buffer from its start', () => {
    const big = message(40);
    expect(hex(sipHash24(key, big.subarray(8, 40)))).not.toBe(hex(sipHash24(key, big.subarray(0, 32))));
    expect(hex(sipHash24(key, big.subarray(0, 32)))).toBe(v.outputs[32]);
  });

  it('low 48 bits are the first six output bytes read little-endian', () => {
    for (const n of [0, 7, 8, 32, 63]) {
      const out = Buffer.from(sipHash24(key, message(n)));
      expect(sipHash24Low48(key, message(n))).toBe(out.readUIntLE(0, 6));
    }
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => sipHashKey(new Uint8Array(15))).toThrow(/16 bytes/);
  });
});

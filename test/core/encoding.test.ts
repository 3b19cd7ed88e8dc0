import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  concatBytes,
  fromDisplayHex,
  fromHex,
  toDisplayHex,
  toHex,
} from '../../src/core/primitives/bytes.js';
import { ByteReader, ByteWriter } from '../../src/core/primitives/encoding.js';
import { hash160, sha256, sha256d } from '../../src/core/crypto/hash.js';
import { codeOf } from '../helpers/errors.js';

describe('bytes', () => {
  it('round-trips hex and display hex', () => {
    expect(toHex(fromHex('00ff10'))).toBe('00ff10');
    expect(toDisplayHex(fromHex('0102'))).toBe('0201');
    expect(toHex(fromDisplayHex('0102'))).toBe('0201');
    expect(toHex(concatBytes(fromHex('01'), fromHex('0203')))).toBe('010203');
    expect(bytesEqual(fromHex('0102'), fromHex('0102'))).toBe(true);
    expect(bytesEqual(fromHex('0102'), fromHex('0103'))).toBe(false);
  });

  it('rejects malformed hex with bad-encoding', () => {
    for (const s of ['0', 'zz', '0g', ' 00', '00 ']) expect(codeOf(() => fromHex(s))).toBe('bad-encoding');
  });

  it('toDisplayHex does not mutate its input', () => {
    const h = fromHex('0102');
    toDisplayHex(h);
    expect(toHex(h)).toBe('0102');
  });
});

describe('hash', () => {
  // NIST / well-known digests of "abc".
  it('sha256 and hash160 of known inputs', () => {
    const abc = new TextEncoder().encode('abc');
    expect(toHex(sha256(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256d(new Uint8Array(0)))).toBe(
      '5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456',
    );
    expect(hash160(abc).length).toBe(20);
  });
});

describe('CompactSize', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [0xfc, 'fc'],
    [0xfd, 'fdfd00'],
    [0xffff, 'fdffff'],
    [0x10000, 'fe00000100'],
    [0xffffffff, 'feffffffff'],
  ];
  it.each(cases)('encodes %d canonically', (n, hex) => {
    expect(toHex(new ByteWriter(1).varint(n).finish())).toBe(hex);
    const r = new ByteReader(fromHex(hex));
    expect(r.varint()).toBe(n);
    r.end();
  });

  it('rejects non-minimal encodings', () => {
    for (const hex of ['fdfc00', 'fd0000', 'feffff0000', 'fe00000000', 'ffffffffff00000000']) {
      expect(codeOf(() => new ByteReader(fromHex(hex)).varint())).toBe('bad-encoding');
    }
  });

  it('rejects 64-bit sizes as oversize without allocating', () => {
    // 2^60: a forged input count
    expect(codeOf(() => new ByteReader(fromHex('ff0000000000000010')).varint())).toBe(
      'bad-encoding-oversize',
    );
  });

  it('bounds counts and lengths by the remaining bytes', () => {
    expect(codeOf(() => new ByteReader(fromHex('fdff00')).count(1))).toBe('bad-encoding-oversize');
    expect(codeOf(() => new ByteReader(fromHex('0300')).varBytes())).toBe('bad-encoding-oversize');
    expect(codeOf(() => new ByteReader(fromHex('fd')).varint())).toBe('bad-encoding-truncated');
  });

  it('reads back what the writer wrote (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }), (ns) => {
        const w = new ByteWriter(1);
        for (const n of ns) w.varint(n);
        const r = new ByteReader(w.finish());
        for (const n of ns) expect(r.varint()).toBe(n);
        r.end();
      }),
    );
  });
});

describe('ByteReader', () => {
  it('reads little-endian integers and rejects trailing bytes', () => {
    const w = new ByteWriter(2)
      .u8(1)
      .u16(0x0203)
      .u32(0xdeadbeef)
      .i32(-2)
      .i64(-5n)
      .u64(2n ** 64n - 1n);
    const r = new ByteReader(w.finish());
    expect([r.u8(), r.u16(), r.u32(), r.i32(), r.i64(), r.u64()]).toEqual([
      1,
      0x0203,
      0xdeadbeef,
      -2,
      -5n,
      2n ** 64n - 1n,
    ]);
    r.end();
    const r2 = new ByteReader(fromHex('0000'));
    r2.u8();
    expect(codeOf(() => r2.end())).toBe('bad-encoding-trailing');
    expect(codeOf(() => new ByteReader(fromHex('00')).u32())).toBe('bad-encoding-truncated');
  });

  it('a writer grows from any initial size', () => {
    const w = new ByteWriter(0);
    for (let i = 0; i < 300; i++) w.u8(i & 0xff);
    expect(w.finish().length).toBe(300);
  });

  it('returns copies that do not alias the input', () => {
    const buf = fromHex('0102');
    const got = new ByteReader(buf).bytes(2);
    buf[0] = 9;
    expect(toHex(got)).toBe('0102');
  });
});

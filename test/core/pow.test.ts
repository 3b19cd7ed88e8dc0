import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  bitsToTarget,
  decodeCompact,
  hashMeetsTarget,
  hashMeetsTargetBytes,
  nextWorkRequired,
  targetToBits,
  targetToBytes,
  workForBits,
  type PowParams,
} from '../../src/core/consensus/pow.js';
import { ValidationError } from '../../src/core/errors.js';

const sha256d = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(createHash('sha256').update(b).digest()).digest());
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const displayHex = (h: Uint8Array): string => Buffer.from(h).reverse().toString('hex');

const MAINNET: PowParams = {
  powLimitBits: 0x1d00ffff,
  targetSpacingSec: 600,
  retargetInterval: 2016,
  noRetarget: false,
};

// Real mainnet headers (80 bytes, wire order) with their explorer hashes.
const HEADERS = [
  {
    height: 0,
    hex: '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
    hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    bits: 0x1d00ffff,
  },
  {
    height: 1,
    hex: '010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299',
    hash: '00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048',
    bits: 0x1d00ffff,
  },
  {
    height: 125552,
    hex: '0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695',
    hash: '00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d',
    bits: 0x1a44b9f2,
  },
];

describe('compact bits (Bitcoin Core arith_uint256 SetCompact/GetCompact vectors)', () => {
  const cases: Array<[number, bigint, number, boolean]> = [
    // bits, target magnitude, GetCompact(target, negative), negative
    [0x00000000, 0n, 0, false],
    [0x00123456, 0n, 0, false],
    [0x01003456, 0n, 0, false],
    [0x02000056, 0n, 0, false],
    [0x03000000, 0n, 0, false],
    [0x04000000, 0n, 0, false],
    [0x00923456, 0n, 0, false],
    [0x01803456, 0n, 0, false],
    [0x02800056, 0n, 0, false],
    [0x03800000, 0n, 0, false],
    [0x04800000, 0n, 0, false],
    [0x01123456, 0x12n, 0x01120000, false],
    [0x01fedcba, 0x7en, 0x01fe0000, true],
    [0x02123456, 0x1234n, 0x02123400, false],
    [0x03123456, 0x123456n, 0x03123456, false],
    [0x04123456, 0x12345600n, 0x04123456, false],
    [0x04923456, 0x12345600n, 0x04923456, true],
    [0x05009234, 0x92340000n, 0x05009234, false],
    [0x20123456, 0x123456n << 232n, 0x20123456, false],
  ];
  it.each(cases)('SetCompact(0x%s)', (bits, target, compact, negative) => {
    const d = decodeCompact(bits);
    expect(d.target).toBe(target);
    expect(d.negative).toBe(negative);
    expect(d.overflow).toBe(false);
    // Core's GetCompact(negative) sets the sign bit back on; ours encodes magnitudes only.
    expect((targetToBits(target) | (negative ? 0x00800000 : 0)) >>> 0).toBe(compact);
    if (negative) expect(() => bitsToTarget(bits)).toThrow(ValidationError);
    else expect(bitsToTarget(bits)).toBe(target);
  });

  it('flags overflow like Core (0xff123456) and rejects it with bad-blk-bits', () => {
    expect(decodeCompact(0xff123456)).toMatchObject({ negative: false, overflow: true });
    expect(() => bitsToTarget(0xff123456)).toThrow(expect.objectContaining({ code: 'bad-blk-bits' }));
    expect(decodeCompact(0x21010000).overflow).toBe(true);
    expect(decodeCompact(0x22000100).overflow).toBe(true);
    expect(decodeCompact(0x220000ff).overflow).toBe(false);
  });

  it('never emits the sign bit: 0x80 encodes as 0x02008000', () => {
    expect(targetToBits(0x80n)).toBe(0x02008000);
  });

  it('mainnet difficulty-1 target and the regtest limit', () => {
    expect(bitsToTarget(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(bitsToTarget(0x207fffff)).toBe(0x7fffffn << 232n);
    expect(targetToBits(0xffffn << 208n)).toBe(0x1d00ffff);
  });

  it('round-trips every valid canonical encoding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 0x8000, max: 0x7fffff }),
        (size, mant) => {
          const bits = ((size << 24) | mant) >>> 0;
          const target = bitsToTarget(bits);
          // Small exponents drop mantissa bytes; re-encoding gives the canonical form of the same target.
          expect(bitsToTarget(targetToBits(target))).toBe(target);
          if (size >= 3) expect(targetToBits(target)).toBe(bits);
        },
      ),
    );
  });

  it('targetToBits rounds down to three significant bytes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (t) => {
        const back = bitsToTarget(targetToBits(t));
        expect(back <= t).toBe(true);
        expect(t - back < t / 0x8000n + 1n).toBe(true);
      }),
    );
  });
});

describe('workForBits', () => {
  it('matches Bitcoin chainwork: difficulty 1 is 0x100010001 hashes', () => {
    expect(workForBits(0x1d00ffff)).toBe(0x100010001n);
  });
  it('is 2^256 / (target + 1) and zero for invalid or zero targets', () => {
    expect(workForBits(0x207fffff)).toBe((1n << 256n) / ((0x7fffffn << 232n) + 1n));
    expect(workForBits(0x207fffff)).toBe(2n);
    expect(workForBits(0x04923456)).toBe(0n);
    expect(workForBits(0xff123456)).toBe(0n);
    expect(workForBits(0x01003456)).toBe(0n);
  });
  it('grows as the target shrinks', () => {
    expect(workForBits(0x1a44b9f2) > workForBits(0x1d00ffff)).toBe(true);
  });
});

describe('hashMeetsTarget', () => {
  it.each(HEADERS)('accepts real mainnet header $height', ({ hex, hash, bits }) => {
    const h = sha256d(fromHex(hex));
    expect(displayHex(h)).toBe(hash);
    expect(hashMeetsTarget(h, bits)).toBe(true);
    // The same hash fails against a target just below itself.
    const asInt = BigInt('0x' + hash);
    expect(hashMeetsTarget(h, targetToBits(asInt - (asInt >> 20n)))).toBe(false);
  });

  it('is inclusive at the target and exclusive one above', () => {
    const bits = 0x1d00ffff;
    const target = targetToBytes(bits);
    expect(hashMeetsTarget(target, bits)).toBe(true);
    const above = Uint8Array.from(target);
    above[0] = 1; // target's low bytes are zero, so this is target + 1
    expect(hashMeetsTarget(above, bits)).toBe(false);
  });

  it('rejects negative, overflowing and zero targets and wrong hash sizes', () => {
    const zero = new Uint8Array(32);
    expect(hashMeetsTarget(zero, 0x04923456)).toBe(false);
    expect(hashMeetsTarget(zero, 0xff123456)).toBe(false);
    expect(hashMeetsTarget(zero, 0x01003456)).toBe(false);
    expect(hashMeetsTarget(new Uint8Array(31), 0x207fffff)).toBe(false);
  });

  it('byte comparison agrees with bigint comparison', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0x03, max: 0x20 }),
        fc.integer({ min: 0x1, max: 0x7fffff }),
        (hash, size, mant) => {
          const bits = ((size << 24) | mant) >>> 0;
          const target = bitsToTarget(bits);
          const asInt = BigInt('0x' + (displayHex(hash) || '0'));
          const expected = target > 0n && asInt <= target;
          expect(hashMeetsTarget(hash, bits)).toBe(expected);
          expect(hashMeetsTargetBytes(hash, targetToBytes(bits))).toBe(asInt <= target);
        },
      ),
    );
  });
});

describe('nextWorkRequired (Bitcoin Core pow_tests.cpp, mainnet)', () => {
  it('get_next_work: 32255 -> 32256 retargets 0x1d00ffff to 0x1d00d86a', () => {
    expect(
      nextWorkRequired(MAINNET, {
        height: 32256,
        prevBits: 0x1d00ffff,
        firstBlockTime: 1261130161, // block 30240
        lastBlockTime: 1262152739, // block 32255
      }),
    ).toBe(0x1d00d86a);
  });

  it('get_next_work_pow_limit: capped at the pow limit', () => {
    expect(
      nextWorkRequired(MAINNET, {
        height: 2016,
        prevBits: 0x1d00ffff,
        firstBlockTime: 1231006505,
        lastBlockTime: 1233061996,
      }),
    ).toBe(0x1d00ffff);
  });

  it('get_next_work_lower_limit_actual: timespan clamped at a quarter', () => {
    expect(
      nextWorkRequired(MAINNET, {
        height: 68544,
        prevBits: 0x1c05a3f4,
        firstBlockTime: 1279008237,
        lastBlockTime: 1279297671,
      }),
    ).toBe(0x1c0168fd);
  });

  it('get_next_work_upper_limit_actual: timespan clamped at four times', () => {
    expect(
      nextWorkRequired(MAINNET, {
        height: 46368,
        prevBits: 0x1c387f6f,
        firstBlockTime: 1263163443,
        lastBlockTime: 1269211443,
      }),
    ).toBe(0x1d00e1fd);
  });

  it('keeps the parent bits between retargets and when retargeting is off', () => {
    expect(nextWorkRequired(MAINNET, { height: 32257, prevBits: 0x1d00d86a })).toBe(0x1d00d86a);
    expect(nextWorkRequired(MAINNET, { height: 1, prevBits: 0x1d00ffff })).toBe(0x1d00ffff);
    const regtest = { ...MAINNET, powLimitBits: 0x207fffff, noRetarget: true };
    expect(
      nextWorkRequired(regtest, { height: 2016, prevBits: 0x207fffff, firstBlockTime: 0, lastBlockTime: 1 }),
    ).toBe(0x207fffff);
  });

  it('on time keeps the difficulty; twice as fast doubles it', () => {
    const demo: PowParams = {
      powLimitBits: 0x207fffff,
      targetSpacingSec: 10,
      retargetInterval: 20,
      noRetarget: false,
    };
    const bits = 0x1f00ffff;
    expect(
      nextWorkRequired(demo, { height: 40, prevBits: bits, firstBlockTime: 1000, lastBlockTime: 1200 }),
    ).toBe(bits);
    const faster = nextWorkRequired(demo, {
      height: 40,
      prevBits: bits,
      firstBlockTime: 1000,
      lastBlockTime: 1100,
    });
    expect(bitsToTarget(faster)).toBe(bitsToTarget(bits) / 2n);
  });

  it('requires the interval timestamps at a retarget height', () => {
    expect(() => nextWorkRequired(MAINNET, { height: 4032, prevBits: 0x1d00ffff })).toThrow(TypeError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COIN, formatCoins, MAX_MONEY } from '../../src/core/index.js';
import { parseBaseUnits, parseCoins, WalletError } from '../../src/wallet/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof WalletError ? err.code : `not a WalletError: ${String(err)}`;
  }
  return undefined;
}

describe('parseCoins', () => {
  it.each([
    ['0', 0n],
    ['1', COIN],
    ['1.5', 150_000_000n],
    ['0.00000001', 1n],
    ['12.5', 1_250_000_000n],
    ['00012.50000000', 1_250_000_000n],
    ['21000000', MAX_MONEY],
    ['20999999.99999999', MAX_MONEY - 1n],
    [' 2.1 ', 210_000_000n],
  ])('%s -> %s base units', (text, units) => {
    expect(parseCoins(text)).toBe(units);
  });

  it.each([
    ['-1', /must not be negative/],
    ['-0.5', /must not be negative/],
    ['1.000000001', /has 9 decimals: at most 8 \(1 CMC = 100000000 base units\)/],
    ['0.123456789', /has 9 decimals/],
    ['21000000.00000001', /more than all the coins/],
    ['1'.repeat(1000), /more than all the coins/],
    ['1e3', /not a number of coins/],
    ['1.', /not a number of coins/],
    ['.5', /not a number of coins/],
    ['', /not a number of coins/],
    ['abc', /not a number of coins/],
    ['1,5', /not a number of coins/],
    ['+1', /not a number of coins/],
    ['0x10', /not a number of coins/],
    ['1.5 CMC', /not a number of coins/],
    ['NaN', /not a number of coins/],
    ['Infinity', /not a number of coins/],
  ])('rejects %j', (text, message) => {
    expect(() => parseCoins(text)).toThrow(message);
    expect(codeOf(() => parseCoins(text))).toBe('bad-amount');
  });

  it('names what it parsed in the message', () => {
    expect(() => parseCoins('x', '--amount')).toThrow(/^--amount "x"/);
  });

  it('round-trips every amount in the money range through formatCoins', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_MONEY }), (units) => {
        expect(parseCoins(formatCoins(units))).toBe(units);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with exact decimal arithmetic on any digits (never a float)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 20_999_999n }), fc.stringMatching(/^\d{1,8}$/), (whole, frac) => {
        const expected = whole * COIN + BigInt(frac.padEnd(8, '0'));
        expect(parseCoins(`${whole}.${frac}`)).toBe(expected);
      }),
    );
  });
});

describe('parseBaseUnits', () => {
  it('parses whole base units', () => {
    expect(parseBaseUnits('150000000')).toBe(150_000_000n);
    expect(parseBaseUnits('0')).toBe(0n);
    expect(parseBaseUnits(MAX_MONEY.toString())).toBe(MAX_MONEY);
  });
  it.each(['1.5', '-1', 'x', '', '1e8', (MAX_MONEY + 1n).toString(), '9'.repeat(40)])(
    'rejects %j',
    (text) => {
      expect(codeOf(() => parseBaseUnits(text))).toBe('bad-amount');
    },
  );
});

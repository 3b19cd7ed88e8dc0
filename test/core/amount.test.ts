import { describe, expect, it } from 'vitest';
import { COIN, formatAmount, formatCoins, MAX_MONEY } from '../../src/core/index.js';

describe('formatCoins / formatAmount', () => {
  it.each([
    [0n, '0'],
    [1n, '0.00000001'],
    [10n, '0.0000001'],
    [COIN, '1'],
    [1_250_000_000n, '12.5'],
    [MAX_MONEY, '21000000'],
    [123_456_789_012n, '1234.56789012'],
    [-1n, '-0.00000001'],
    [-150_000_000n, '-1.5'],
  ])('%s -> %s', (units, text) => {
    expect(formatCoins(units)).toBe(text);
  });
  it('adds the unit', () => {
    expect(formatAmount(1_250_000_000n)).toBe('12.5 CMC');
  });
});

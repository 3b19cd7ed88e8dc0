import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COIN } from '../../src/core/index.js';
import {
  DUST_LIMIT,
  estimateTxSize,
  feeFor,
  MAX_INPUTS,
  selectCoins,
  WalletError,
  type SpendableCoin,
} from '../../src/wallet/index.js';

function coin(value: bigint, n = 0): SpendableCoin {
  return { txid: n.toString(16).padStart(64, '0'), vout: 0, value };
}

function errorOf(fn: () => unknown): WalletError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WalletError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('estimateTxSize', () => {
  it('is the legacy P2PKH size with the largest signatures', () => {
    // 10 bytes of framing, 148 per input, 34 per output.
    expect(estimateTxSize(1, 2)).toBe(10 + 148 + 68);
    expect(estimateTxSize(1, 1)).toBe(10 + 148 + 34);
    // 253 inputs need a 3-byte count.
    expect(estimateTxSize(253, 1)).toBe(12 + 253 * 148 + 34);
    expect(feeFor(1, 2, 3n)).toBe(3n * 226n);
  });
  it('lets a transaction of MAX_INPUTS inputs stay within the consensus limit', () => {
    expect(estimateTxSize(MAX_INPUTS, 2)).toBeLessThanOrEqual(100_000);
    expect(estimateTxSize(MAX_INPUTS + 1, 2)).toBeGreaterThan(100_000);
  });
});

describe('selectCoins', () => {
  it('pays from the smallest single coin that covers amount, fee and change', () => {
    const coins = [coin(10n * COIN, 1), coin(3n * COIN, 2), coin(2n * COIN, 3), coin(1n * COIN, 4)];
    const s = selectCoins({ coins, amount: 150_000_000n, feeRate: 2n });
    expect(s.inputs.map((c) => c.value)).toEqual([2n * COIN]);
    expect(s.fee).toBe(feeFor(1, 2, 2n));
    expect(s.change).toBe(2n * COIN - 150_000_000n - s.fee);
  });

  it('adds the largest coins when no single coin suffices', () => {
    const coins = [coin(1n * COIN, 1), coin(5n * COIN, 2), coin(3n * COIN, 3), coin(2n * COIN, 4)];
    const s = selectCoins({ coins, amount: 7n * COIN, feeRate: 1n });
    expect(s.inputs.map((c) => c.value)).toEqual([5n * COIN, 3n * COIN]);
    expect(s.fee).toBe(feeFor(2, 2, 1n));
    expect(s.change).toBe(COIN - s.fee);
  });

  it('leaves change below the dust limit to the fee and makes one output', () => {
    const amount = COIN;
    const value = amount + feeFor(1, 2, 1n) + DUST_LIMIT - 1n;
    const s = selectCoins({ coins: [coin(value)], amount, feeRate: 1n });
    expect(s.change).toBe(0n);
    expect(s.fee).toBe(value - amount);
    expect(s.size).toBe(estimateTxSize(1, 1));
  });

  it('keeps change at exactly the dust limit', () => {
    const amount = COIN;
    const value = amount + feeFor(1, 2, 1n) + DUST_LIMIT;
    const s = selectCoins({ coins: [coin(value)], amount, feeRate: 1n });
    expect(s.change).toBe(DUST_LIMIT);
  });

  it('spends a coin of exactly amount + one-output fee with no change', () => {
    const s = selectCoins({ coins: [coin(COIN + feeFor(1, 1, 5n))], amount: COIN, feeRate: 5n });
    expect(s.change).toBe(0n);
    expect(s.fee).toBe(feeFor(1, 1, 5n));
  });

  it('pays a zero fee at fee rate 0', () => {
    const s = selectCoins({ coins: [coin(2n * COIN)], amount: COIN, feeRate: 0n });
    expect(s.fee).toBe(0n);
    expect(s.change).toBe(COIN);
  });

  it('refuses a dust amount, naming the smallest payment', () => {
    const err = errorOf(() => selectCoins({ coins: [coin(COIN)], amount: DUST_LIMIT - 1n, feeRate: 1n }));
    expect(err.code).toBe('dust');
    expect(err.message).toMatch(
      /0.00000545 CMC is dust: the smallest payment is 0.00000546 CMC \(546 base units\)/,
    );
    expect(selectCoins({ coins: [coin(COIN)], amount: DUST_LIMIT, feeRate: 1n }).amount).toBe(DUST_LIMIT);
  });

  it('refuses a fee rate out of range', () => {
    expect(errorOf(() => selectCoins({ coins: [coin(COIN)], amount: COIN / 2n, feeRate: -1n })).code).toBe(
      'bad-fee-rate',
    );
    expect(
      errorOf(() => selectCoins({ coins: [coin(COIN)], amount: COIN / 2n, feeRate: 1_000_001n })).code,
    ).toBe('bad-fee-rate');
  });

  it('says how much is spendable and how much was needed', () => {
    const err = errorOf(() =>
      selectCoins({ coins: [coin(COIN, 1), coin(COIN, 2)], amount: 2n * COIN, feeRate: 1n }),
    );
    expect(err.code).toBe('insufficient-funds');
    expect(err.message).toMatch(
      /spendable 2 CMC in 2 coin\(s\), needed 2.0000034 CMC \(2 CMC \+ fee 0.0000034 CMC\)/,
    );
    expect(errorOf(() => selectCoins({ coins: [], amount: COIN, feeRate: 1n })).code).toBe(
      'insufficient-funds',
    );
  });

  it('refuses a payment needing more inputs than fit in a transaction', () => {
    const coins = Array.from({ length: MAX_INPUTS + 5 }, (_, i) => coin(1000n, i));
    const err = errorOf(() => selectCoins({ coins, amount: 1000n * BigInt(MAX_INPUTS + 2), feeRate: 0n }));
    expect(err.code).toBe('insufficient-funds');
    expect(err.message).toMatch(/more than fit in one transaction/);
  });

  it('balances, pays at least the fee rate, never makes dust change, and ignores coin order', () => {
    const coinsArb = fc.array(fc.bigInt({ min: 1n, max: 50n * COIN }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(
        coinsArb,
        fc.bigInt({ min: DUST_LIMIT, max: 100n * COIN }),
        fc.bigInt({ min: 0n, max: 50n }),
        (values, amount, feeRate) => {
          const coins = values.map((v, i) => coin(v, i));
          let s;
          try {
            s = selectCoins({ coins, amount, feeRate });
          } catch (err) {
            expect((err as WalletError).code).toBe('insufficient-funds');
            const total = values.reduce((a, b) => a + b, 0n);
            expect(total < amount + feeFor(coins.length, 1, feeRate)).toBe(true);
            return;
          }
          const total = s.inputs.reduce((sum, c) => sum + c.value, 0n);
          expect(total).toBe(s.amount + s.fee + s.change);
          expect(s.fee >= BigInt(s.size) * feeRate).toBe(true);
          expect(s.change === 0n || s.change >= DUST_LIMIT).toBe(true);
          expect(s.size).toBe(estimateTxSize(s.inputs.length, s.change > 0n ? 2 : 1));
          expect(new Set(s.inputs).size).toBe(s.inputs.length);
          const reversed = selectCoins({ coins: [...coins].reverse(), amount, feeRate });
          expect(reversed).toEqual(s);
        },
      ),
      { numRuns: 500 },
    );
  });
});

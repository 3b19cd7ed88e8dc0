import { COIN, DECIMALS, formatCoins, MAX_MONEY, UNIT } from '../core/index.js';
import { WalletError } from './errors.js';

const COIN_TEXT = /^(\d+)(?:\.(\d+))?$/;

/**
 * An amount written in coins ("1.5", "0.00000001", "21000000") as exact base
 * units. Integer arithmetic on the digits only: no float ever sees the value.
 * Rejects signs, exponents, more than 8 decimals, and more than the money supply.
 */
export function parseCoins(text: string, what = 'amount'): bigint {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) throw new WalletError('bad-amount', `${what} must not be negative: "${text}"`);
  const match = COIN_TEXT.exec(trimmed);
  if (!match) {
    throw new WalletError(
      'bad-amount',
      `${what} "${text}" is not a number of coins: expected digits with an optional decimal point, e.g. 1.5 or 0.00000001`,
    );
  }
  const whole = match[1] as string;
  const fraction = match[2] ?? '';
  if (fraction.length > DECIMALS) {
    throw new WalletError(
      'bad-amount',
      `${what} "${text}" has ${fraction.length} decimals: at most ${DECIMALS} (1 ${UNIT} = ${COIN} base units)`,
    );
  }
  // Bounded before BigInt so a million digits cost nothing.
  if (whole.replace(/^0+/, '').length > 8) throw tooLarge(what, text);
  const units = BigInt(whole) * COIN + BigInt(fraction.padEnd(DECIMALS, '0'));
  if (units > MAX_MONEY) throw tooLarge(what, text);
  return units;
}

/** An amount written in base units ("150000000"), for `--sats` style input. */
export function parseBaseUnits(text: string, what = 'amount'): bigint {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) throw new WalletError('bad-amount', `${what} must not be negative: "${text}"`);
  if (!/^\d+$/.test(trimmed)) {
    throw new WalletError(
      'bad-amount',
      `${what} "${text}" is not a whole number of base units, e.g. 150000000`,
    );
  }
  if (trimmed.replace(/^0+/, '').length > 16) throw tooLarge(what, text);
  const units = BigInt(trimmed);
  if (units > MAX_MONEY) throw tooLarge(what, text);
  return units;
}

function tooLarge(what: string, text: string): WalletError {
  return new WalletError(
    'bad-amount',
    `${what} "${text}" is more than all the coins there will ever be (${formatCoins(MAX_MONEY)} ${UNIT})`,
  );
}

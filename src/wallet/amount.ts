import { COIN, MAX_MONEY } from '../core/index.js';
import { WalletError } from './errors.js';

/** Coins are shown with this unit; 1 CMC = 10^8 base units (COIN), as 1 BTC = 10^8 satoshis. */
export const UNIT = 'CMC';
export const DECIMALS = 8;

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

/** Base units as coins with exact decimals, trailing zeros trimmed: 1250000000n -> "12.5", -1n -> "-0.00000001". */
export function formatCoins(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / COIN;
  const fraction = (abs % COIN).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Base units for people: "12.5 CMC". */
export function formatAmount(units: bigint): string {
  return `${formatCoins(units)} ${UNIT}`;
}

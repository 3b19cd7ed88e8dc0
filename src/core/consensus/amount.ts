import { COIN } from './params.js';

/** Coins are shown with this unit; 1 CMC = 10^8 base units (COIN), as 1 BTC = 10^8 satoshis. */
export const UNIT = 'CMC';
export const DECIMALS = 8;

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

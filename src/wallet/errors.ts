import { CodedError } from '../core/index.js';

/**
 * Why a wallet operation failed, as a stable code (for `--json` output and
 * tests) with a message written for the person at the terminal.
 */
export const WALLET_ERROR_CODES = [
  'bad-amount',
  'bad-fee-rate',
  'dust',
  'insufficient-funds',
  'bad-address',
  'wrong-network',
  'bad-wallet-name',
  'no-wallet',
  'wallet-exists',
  'ambiguous-wallet',
  'bad-wallet-file',
  'node-unreachable',
  'node-bad-answer',
  'node-rejected',
  'timeout',
] as const;

export type WalletErrorCode = (typeof WALLET_ERROR_CODES)[number];

export class WalletError extends CodedError<WalletErrorCode> {
  override readonly name = 'WalletError';
  constructor(code: WalletErrorCode, message: string) {
    super(code, message);
  }
}

export function isWalletError(err: unknown): err is WalletError {
  return err instanceof WalletError;
}

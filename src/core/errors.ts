/**
 * Typed validation errors with stable reject codes, in the spirit of Bitcoin
 * Core's reject reasons. The API maps them to HTTP once; metrics count them by
 * code. Add codes here, never inline strings elsewhere.
 */
export const REJECT_CODES = [
  // decoding
  'bad-encoding',
  'bad-encoding-truncated',
  'bad-encoding-trailing',
  'bad-encoding-oversize',
  // transactions
  'bad-txns-vin-empty',
  'bad-txns-vout-empty',
  'bad-txns-oversize',
  'bad-txns-vout-negative',
  'bad-txns-vout-toolarge',
  'bad-txns-txouttotal-toolarge',
  'bad-txns-inputs-duplicate',
  'bad-txns-prevout-null',
  'bad-txns-inputs-missingorspent',
  'bad-txns-premature-spend-of-coinbase',
  'bad-txns-in-belowout',
  'bad-txns-inputvalues-outofrange',
  'bad-txns-coinbase-in-mempool',
  'bad-txns-nonstandard-script',
  'bad-txns-script-verify-failed',
  'bad-txns-sig-highs',
  'bad-txns-sig-der',
  'bad-txns-fee-too-low',
  'bad-txns-nonfinal',
  'txn-already-known',
  'txn-mempool-conflict',
  'mempool-full',
  // blocks
  'bad-blk-pow',
  'bad-blk-bits',
  'bad-blk-time-too-old',
  'bad-blk-time-too-new',
  'bad-blk-merkle',
  'bad-blk-duplicate-tx',
  'bad-blk-length',
  'bad-blk-cb-missing',
  'bad-blk-cb-multiple',
  'bad-blk-cb-height',
  'bad-blk-cb-amount',
  'bad-blk-cb-length',
  'bad-blk-txns-double-spend',
  'bad-blk-prev-invalid',
  'bad-blk-version',
  'bad-blk-genesis',
  // compact blocks (BIP152)
  'bad-cmpct-empty',
  'bad-cmpct-toomany',
  'bad-cmpct-prefilled-index',
  'bad-blocktxn-index',
  'bad-blocktxn-count',
  'bad-blocktxn-hash',
  // addresses and keys
  'bad-address',
  'bad-address-checksum',
  'bad-address-network',
  'bad-key',
  'bad-signature',
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];

/**
 * The one base of every error with a stable code. Each layer declares its own
 * codes and subclass (core: ValidationError, p2p: PeerError, api: NodeError);
 * the API maps them to HTTP in one place and metrics count them by code.
 */
export class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message?: string,
  ) {
    super(message ?? code);
  }
}

export class ValidationError extends CodedError<RejectCode> {
  override readonly name = 'ValidationError';
}

export function isValidationError(err: unknown): err is ValidationError {
  return err instanceof ValidationError;
}

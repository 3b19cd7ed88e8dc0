import { formatAmount, MAX_TX_BYTES, P2PKH_SCRIPT_BYTES, varintSize } from '../core/index.js';
import { WalletError } from './errors.js';

/*
 * Sizes of a legacy P2PKH transaction (no segwit here, so a vbyte is a byte).
 * An input's signature is 71-73 bytes with its hashtype: the estimate takes the
 * largest, so the fee paid is never below the rate asked for.
 */
/** prevout 36 + script length 1 + (push 1 + low-S DER ≤ 71 + hashtype 1) + (push 1 + compressed key 33) + sequence 4. */
export const P2PKH_INPUT_BYTES = 32 + 4 + 1 + (1 + 72 + 1 + 33) + 4;
/** value 8 + script length 1 + script 25. */
export const P2PKH_OUTPUT_BYTES = 8 + 1 + P2PKH_SCRIPT_BYTES;

/**
 * Smallest output the wallet creates, in base units: Bitcoin Core's dust
 * threshold for P2PKH (what it costs at 3 base units per byte to create and
 * later spend such an output: 3 × (34 + 148)). Smaller change goes to the fee.
 */
export const DUST_LIMIT = 546n;

/** Default fee rate in base units per byte: twice the nodes' minimum relay rate (1000 per 1000 bytes). */
export const DEFAULT_FEE_RATE = 2n;
/** A fee rate beyond this is a typo (a 250-byte payment would pay 2.5 CMC). */
export const MAX_FEE_RATE = 1_000_000n;

export interface SpendableCoin {
  /** Display hex. */
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
}

export interface CoinSelection {
  readonly inputs: readonly SpendableCoin[];
  readonly amount: bigint;
  /** Total inputs − amount − change: at least feeRate × size. */
  readonly fee: bigint;
  /** 0n when the rest was below DUST_LIMIT and went to the fee. */
  readonly change: bigint;
  /** Upper bound of the signed transaction's size in bytes. */
  readonly size: number;
}

/** Upper bound of the size of a signed P2PKH transaction with these counts. */
export function estimateTxSize(inputs: number, outputs: number): number {
  return (
    4 +
    varintSize(inputs) +
    inputs * P2PKH_INPUT_BYTES +
    varintSize(outputs) +
    outputs * P2PKH_OUTPUT_BYTES +
    4
  );
}

export function feeFor(inputs: number, outputs: number, feeRate: bigint): bigint {
  return BigInt(estimateTxSize(inputs, outputs)) * feeRate;
}

/** Most inputs a transaction can carry under the consensus size limit (with two outputs). */
export const MAX_INPUTS = Math.floor((MAX_TX_BYTES - estimateTxSize(0, 2) - 2) / P2PKH_INPUT_BYTES);

function byValueDescending(a: SpendableCoin, b: SpendableCoin): number {
  if (a.value !== b.value) return a.value > b.value ? -1 : 1;
  if (a.txid !== b.txid) return a.txid < b.txid ? -1 : 1;
  return a.vout - b.vout;
}

/**
 * Picks the coins paying `amount` at `feeRate` base units per byte.
 * First the smallest single coin that pays amount, fee and a change worth
 * keeping (or exactly amount and fee), which touches the fewest coins; else
 * the largest coins until they suffice. Change below DUST_LIMIT is left to
 * the fee rather than created as an output nobody can afford to spend.
 * Deterministic for the same coins, whatever their order.
 */
export function selectCoins(opts: {
  coins: readonly SpendableCoin[];
  amount: bigint;
  feeRate: bigint;
}): CoinSelection {
  const { amount, feeRate } = opts;
  if (amount < DUST_LIMIT) {
    throw new WalletError(
      'dust',
      `amount ${formatAmount(amount)} is dust: the smallest payment is ${formatAmount(DUST_LIMIT)} (${DUST_LIMIT} base units)`,
    );
  }
  if (feeRate < 0n || feeRate > MAX_FEE_RATE) {
    throw new WalletError(
      'bad-fee-rate',
      `fee rate ${feeRate} is outside 0-${MAX_FEE_RATE} base units per byte`,
    );
  }
  const sorted = [...opts.coins].sort(byValueDescending);
  const finish = (inputs: SpendableCoin[]): CoinSelection | undefined => {
    const total = inputs.reduce((sum, c) => sum + c.value, 0n);
    const withChange = total - amount - feeFor(inputs.length, 2, feeRate);
    if (withChange >= DUST_LIMIT) {
      return {
        inputs,
        amount,
        fee: total - amount - withChange,
        change: withChange,
        size: estimateTxSize(inputs.length, 2),
      };
    }
    if (total >= amount + feeFor(inputs.length, 1, feeRate)) {
      return { inputs, amount, fee: total - amount, change: 0n, size: estimateTxSize(inputs.length, 1) };
    }
    return undefined;
  };

  for (let i = sorted.length - 1; i >= 0; i--) {
    const single = finish([sorted[i] as SpendableCoin]);
    if (single) return single;
  }
  const chosen: SpendableCoin[] = [];
  for (const coin of sorted) {
    if (chosen.length >= MAX_INPUTS) {
      throw new WalletError(
        'insufficient-funds',
        `paying ${formatAmount(amount)} needs more than ${MAX_INPUTS} coins, more than fit in one transaction: send a smaller amount first`,
      );
    }
    chosen.push(coin);
    const selection = finish(chosen);
    if (selection) return selection;
  }
  const total = sorted.reduce((sum, c) => sum + c.value, 0n);
  const fee = feeFor(Math.max(1, sorted.length), 1, feeRate);
  throw new WalletError(
    'insufficient-funds',
    `insufficient funds: spendable ${formatAmount(total)} in ${sorted.length} coin(s), ` +
      `needed ${formatAmount(amount + fee)} (${formatAmount(amount)} + fee ${formatAmount(fee)})`,
  );
}

import {
  blockSize,
  headerHash,
  bytesEqual,
  toHex,
  computeMerkleRoot,
  isCoinbase,
  isNullPrevout,
  txHash,
  txSize,
  type Block,
  type BlockHeader,
  type Coin,
  type Transaction,
} from '../primitives/index.js';
import {
  blockSubsidy,
  coinbaseHasHeight,
  MAX_COINBASE_SCRIPT_BYTES,
  MIN_COINBASE_SCRIPT_BYTES,
} from './coinbase.js';
import { ValidationError, type RejectCode } from '../errors.js';
import type { NetworkParams } from './params.js';
import { bitsToTarget, hashMeetsTarget } from './pow.js';
import { isStandardOutput } from '../script/index.js';

/** 21 million coins in base units: no amount, alone or summed, may exceed it. */
export const MAX_MONEY = 21_000_000n * 100_000_000n;
/**
 * Largest transaction this project's networks accept, in blocks and the
 * mempool alike (Bitcoin Core's standardness limit, here a consensus rule).
 * Legacy sighash rehashes the whole transaction once per input, so the
 * cost of checking one grows with the square of its size: about 1.8 GB of
 * hashing (seconds) for 1 MB of 6,700 inputs, about 18 MB (tens of
 * milliseconds) at this limit. The root APIs (legacySighash,
 * verifyP2pkhInput) do not apply it: they check real Bitcoin transactions
 * of any size.
 */
export const MAX_TX_BYTES = 100_000;

export function moneyRange(v: bigint): boolean {
  return v >= 0n && v <= MAX_MONEY;
}

/** Context-free transaction rules (Bitcoin's CheckTransaction plus the P2PKH-only output policy). */
export function checkTransaction(tx: Transaction): void {
  if (tx.inputs.length === 0) throw new ValidationError('bad-txns-vin-empty');
  if (tx.outputs.length === 0) throw new ValidationError('bad-txns-vout-empty');
  if (txSize(tx) > MAX_TX_BYTES) {
    throw new ValidationError('bad-txns-oversize', `transaction exceeds ${MAX_TX_BYTES} bytes`);
  }

  let total = 0n;
  for (const out of tx.outputs) {
    if (out.value < 0n) throw new ValidationError('bad-txns-vout-negative');
    if (out.value > MAX_MONEY) throw new ValidationError('bad-txns-vout-toolarge');
    total += out.value;
    if (total > MAX_MONEY) throw new ValidationError('bad-txns-txouttotal-toolarge');
    if (!isStandardOutput(out.scriptPubKey, out.value)) {
      throw new ValidationError(
        'bad-txns-nonstandard-script',
        'outputs must be P2PKH or zero-value OP_RETURN',
      );
    }
  }

  const seen = new Set<string>();
  for (const input of tx.inputs) {
    const key = `${toHex(input.prevTxid)}:${input.prevVout}`;
    if (seen.has(key)) throw new ValidationError('bad-txns-inputs-duplicate');
    seen.add(key);
  }

  if (isCoinbase(tx)) {
    const len = tx.inputs[0]!.scriptSig.length;
    if (len < MIN_COINBASE_SCRIPT_BYTES || len > MAX_COINBASE_SCRIPT_BYTES) {
      throw new ValidationError('bad-blk-cb-length', 'coinbase scriptSig must be 2-100 bytes');
    }
  } else {
    for (const input of tx.inputs) {
      if (isNullPrevout(input)) throw new ValidationError('bad-txns-prevout-null');
    }
  }
}

/** Header proof of work: bits are a valid target no easier than the network limit, and the hash meets it. */
export function checkHeaderPow(header: BlockHeader, params: Pick<NetworkParams, 'powLimitBits'>): void {
  let target: bigint;
  try {
    target = bitsToTarget(header.bits);
  } catch {
    throw new ValidationError('bad-blk-bits', 'invalid compact target');
  }
  if (target === 0n || target > bitsToTarget(params.powLimitBits)) {
    throw new ValidationError('bad-blk-bits', 'target outside the allowed range');
  }
  if (!hashMeetsTarget(headerHash(header), header.bits)) throw new ValidationError('bad-blk-pow');
}

/**
 * Context-free block rules: proof of work, size, one coinbase and first,
 * merkle root (and the CVE-2012-2459 duplicate-transaction mutation), every
 * transaction's own rules, and no outpoint spent twice within the block.
 */
export function checkBlock(block: Block, params: NetworkParams): void {
  checkHeaderPow(block.header, params);

  // First whether the body is the one the header commits to (as Core does), so
  // that a tampered copy fails as a mutation, whatever else is wrong with it.
  const hashes = block.txs.map(txHash);
  const { root, mutated } = computeMerkleRoot(hashes);
  if (!bytesEqual(root, block.header.merkleRoot)) throw new ValidationError('bad-blk-merkle');
  if (mutated) throw new ValidationError('bad-blk-duplicate-tx', 'duplicate transactions (merkle mutation)');
  const ids = new Set(hashes.map(toHex));
  if (ids.size !== hashes.length) throw new ValidationError('bad-blk-duplicate-tx');

  if (block.txs.length === 0) throw new ValidationError('bad-blk-length', 'block has no transactions');
  if (blockSize(block) > params.maxBlockBytes) throw new ValidationError('bad-blk-length');

  if (!isCoinbase(block.txs[0]!)) throw new ValidationError('bad-blk-cb-missing');
  for (let i = 1; i < block.txs.length; i++) {
    if (isCoinbase(block.txs[i]!)) throw new ValidationError('bad-blk-cb-multiple');
  }

  const spent = new Set<string>();
  for (const tx of block.txs) {
    checkTransaction(tx);
    if (isCoinbase(tx)) continue;
    for (const input of tx.inputs) {
      const key = `${toHex(input.prevTxid)}:${input.prevVout}`;
      if (spent.has(key)) throw new ValidationError('bad-blk-txns-double-spend');
      spent.add(key);
    }
  }
}

/**
 * Reject codes meaning the body is not the one its header commits to (Core's
 * BLOCK_MUTATED): a wrong merkle root, or duplicated transactions, which
 * CVE-2012-2459 lets share the honest list's root. Such a failure condemns
 * that copy only; the block the header names may still arrive intact, so
 * nothing keyed by the header hash may be marked or dropped for it.
 * (Duplicates the merkle tree does not hide are invalid under every root; a
 * copy carrying them is treated the same way, which costs nothing.)
 */
export function isBlockMutation(code: RejectCode): boolean {
  return code === 'bad-blk-merkle' || code === 'bad-blk-duplicate-tx';
}

export interface HeaderContext {
  /** Height of the parent block. */
  readonly prevHeight: number;
  /** Bits the chain requires at this height (pow.ts nextWorkRequired). */
  readonly expectedBits: number;
  /** Median time of the last `medianTimeSpan` blocks ending at the parent. */
  readonly medianTimePast: number;
  /** Current time, unix seconds (core has no clock: the caller passes it). */
  readonly nowSec: number;
}

/** Header rules that need the chain: difficulty, timestamp window, version. */
export function checkBlockHeaderContext(
  header: BlockHeader,
  ctx: HeaderContext,
  params: NetworkParams,
): void {
  if (header.version < 1) throw new ValidationError('bad-blk-version');
  if (header.bits !== ctx.expectedBits)
    throw new ValidationError('bad-blk-bits', 'incorrect proof of work target');
  if (header.time <= ctx.medianTimePast) throw new ValidationError('bad-blk-time-too-old');
  if (header.time > ctx.nowSec + params.maxFutureBlockTimeSec)
    throw new ValidationError('bad-blk-time-too-new');
}

/** BIP34: the coinbase of the block at `height` commits to that height. */
export function checkCoinbaseHeight(block: Block, height: number): void {
  const cb = block.txs[0];
  if (!cb || !coinbaseHasHeight(cb, height)) {
    throw new ValidationError('bad-blk-cb-height', `coinbase does not start with height ${height}`);
  }
}

/** The coinbase may claim at most the subsidy plus the block's fees. */
export function checkCoinbaseAmount(block: Block, height: number, fees: bigint, params: NetworkParams): void {
  const cb = block.txs[0];
  if (!cb) throw new ValidationError('bad-blk-cb-missing');
  const claimed = cb.outputs.reduce((sum, o) => sum + o.value, 0n);
  const allowed = blockSubsidy(height, params) + fees;
  if (claimed > allowed) {
    throw new ValidationError('bad-blk-cb-amount', `coinbase pays ${claimed}, at most ${allowed} allowed`);
  }
}

/** Everything about a block that depends on its height but not on the UTXO set. */
export function checkBlockContext(
  block: Block,
  height: number,
  ctx: HeaderContext,
  params: NetworkParams,
): void {
  checkBlockHeaderContext(block.header, ctx, params);
  checkCoinbaseHeight(block, height);
}

/** Locktimes below this are block heights, from it on unix times (Bitcoin's LOCKTIME_THRESHOLD). */
export const LOCKTIME_THRESHOLD = 500_000_000;

/**
 * Bitcoin's finality rule: a transaction may enter a block at `height` whose
 * median time past is `medianTimePast` (BIP113) once its locktime lies
 * before them, or if every input opted out with a final sequence.
 */
export function isFinalTx(tx: Transaction, height: number, medianTimePast: number): boolean {
  if (tx.locktime === 0) return true;
  const limit = tx.locktime < LOCKTIME_THRESHOLD ? height : medianTimePast;
  if (tx.locktime < limit) return true;
  return tx.inputs.every((input) => input.sequence === 0xffffffff);
}

/** Throws `bad-txns-nonfinal` unless `isFinalTx`. */
export function checkFinalTx(tx: Transaction, height: number, medianTimePast: number): void {
  if (!isFinalTx(tx, height, medianTimePast)) {
    throw new ValidationError('bad-txns-nonfinal', `locktime ${tx.locktime} not reached at height ${height}`);
  }
}

/**
 * Input rules against the UTXO view (Bitcoin's Consensus::CheckTxInputs):
 * every input exists and is unspent, coinbase outputs are mature, amounts are
 * in range and cover the outputs. Returns the fee. Scripts are not checked
 * here (see sighash.ts verifyTxScripts / prepareP2pkhInput) so callers can
 * batch signature verification.
 */
export function checkTxInputs(
  tx: Transaction,
  lookup: (prevTxid: Uint8Array, vout: number) => Coin | undefined,
  spendHeight: number,
  params: Pick<NetworkParams, 'coinbaseMaturity'>,
): bigint {
  return checkInputCoins(
    tx,
    tx.inputs.map((input) => lookup(input.prevTxid, input.prevVout)),
    spendHeight,
    params,
  );
}

/**
 * `checkTxInputs` over coins already looked up, `coins[i]` being the one
 * input i spends (undefined: missing or spent). A caller passing a different
 * number of coins than inputs gets a RangeError: that is a bug, not bad data.
 */
export function checkInputCoins(
  tx: Transaction,
  coins: readonly (Coin | undefined)[],
  spendHeight: number,
  params: Pick<NetworkParams, 'coinbaseMaturity'>,
): bigint {
  if (coins.length !== tx.inputs.length) throw new RangeError('one coin per input required');
  let valueIn = 0n;
  for (const coin of coins) {
    if (!coin) throw new ValidationError('bad-txns-inputs-missingorspent');
    if (coin.coinbase && spendHeight - coin.height < params.coinbaseMaturity) {
      throw new ValidationError(
        'bad-txns-premature-spend-of-coinbase',
        `tried to spend coinbase at depth ${spendHeight - coin.height}`,
      );
    }
    valueIn += coin.value;
    if (!moneyRange(coin.value) || !moneyRange(valueIn))
      throw new ValidationError('bad-txns-inputvalues-outofrange');
  }
  const valueOut = tx.outputs.reduce((sum, o) => sum + o.value, 0n);
  if (valueIn < valueOut) throw new ValidationError('bad-txns-in-belowout');
  const fee = valueIn - valueOut;
  if (!moneyRange(fee)) throw new ValidationError('bad-txns-inputvalues-outofrange');
  return fee;
}

import { bytesEqual, concatBytes, NULL_VOUT, type Transaction, type TxOutput } from '../primitives/index.js';
import { pushData, pushInt } from '../script/index.js';

export const MIN_COINBASE_SCRIPT_BYTES = 2;
export const MAX_COINBASE_SCRIPT_BYTES = 100;
const OP_0 = 0x00;

/**
 * A network's subsidy schedule (NetworkParams has these fields). Declared here,
 * not taken from params.ts, because params.ts builds its genesis coinbase with
 * this file: a type import back would close a cycle.
 */
export interface SubsidySchedule {
  readonly halvingInterval: number;
  readonly initialSubsidy: bigint;
}

/** Block reward at `height`: the initial subsidy halved every `halvingInterval` blocks, zero after 64 halvings. */
export function blockSubsidy(height: number, params: SubsidySchedule): bigint {
  const halvings = Math.floor(height / params.halvingInterval);
  if (halvings >= 64) return 0n;
  return params.initialSubsidy >> BigInt(halvings);
}

/** The BIP34 prefix a coinbase scriptSig at `height` must start with (Bitcoin's `CScript() << height`). */
export function coinbaseHeightPrefix(height: number): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0)
    throw new RangeError('height must be a non-negative integer');
  return pushInt(height);
}

/**
 * A coinbase paying `outputs`, its scriptSig the BIP34 height followed by
 * `extraNonce` (miners vary it to get a fresh merkle root). Heights 0–16
 * encode as a single opcode, so a filler OP_0 keeps the scriptSig at the
 * 2-byte consensus minimum, as Bitcoin Core's miner does.
 */
export function createCoinbaseTx(height: number, outputs: TxOutput[], extraNonce?: Uint8Array): Transaction {
  let scriptSig = coinbaseHeightPrefix(height);
  if (extraNonce && extraNonce.length > 0) scriptSig = concatBytes(scriptSig, pushData(extraNonce));
  if (scriptSig.length < MIN_COINBASE_SCRIPT_BYTES) scriptSig = concatBytes(scriptSig, Uint8Array.of(OP_0));
  if (scriptSig.length > MAX_COINBASE_SCRIPT_BYTES)
    throw new RangeError('coinbase scriptSig exceeds 100 bytes');
  return {
    version: 1,
    inputs: [{ prevTxid: new Uint8Array(32), prevVout: NULL_VOUT, scriptSig, sequence: 0xffffffff }],
    outputs: outputs.map((o) => ({ value: o.value, scriptPubKey: o.scriptPubKey.slice() })),
    locktime: 0,
  };
}

/** True when the coinbase scriptSig starts with the BIP34 encoding of `height`. */
export function coinbaseHasHeight(tx: Transaction, height: number): boolean {
  const scriptSig = tx.inputs[0]?.scriptSig;
  if (!scriptSig) return false;
  const prefix = coinbaseHeightPrefix(height);
  return scriptSig.length >= prefix.length && bytesEqual(scriptSig.subarray(0, prefix.length), prefix);
}

/** The height a coinbase commits to (BIP34), or undefined if its scriptSig does not start with one. */
export function coinbaseHeight(tx: Transaction): number | undefined {
  const s = tx.inputs[0]?.scriptSig;
  const first = s?.[0];
  if (s === undefined || first === undefined) return undefined;
  if (first === OP_0) return 0;
  if (first >= 0x51 && first <= 0x60) return first - 0x50;
  // A direct push of 1..5 bytes; accept it only if re-encoding gives the same bytes (minimal, non-negative).
  if (first < 1 || first > 5 || s.length < 1 + first) return undefined;
  let n = 0;
  for (let i = first; i >= 1; i--) n = n * 256 + (s[i] as number);
  if (n > Number.MAX_SAFE_INTEGER) return undefined;
  return coinbaseHasHeight(tx, n) ? n : undefined;
}

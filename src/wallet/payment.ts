import {
  encodeTx,
  fromDisplayHex,
  hash160,
  p2pkhScript,
  publicKeyOf,
  signP2pkhInput,
  toHex,
  txid as txidOf,
  type NetworkParams,
  type Transaction,
  type TxOutput,
} from '../core/index.js';
import { parseAddress } from './address.js';
import { selectCoins, type SpendableCoin } from './coin-selection.js';

export interface Payment {
  readonly tx: Transaction;
  readonly txid: string;
  /** Serialized signed transaction, as POST /transactions takes it. */
  readonly hex: string;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly change: bigint;
  readonly inputs: readonly SpendableCoin[];
}

/**
 * A signed P2PKH payment of `amount` to `to` from the key's coins, with
 * change back to the key's own address. Signing happens here: the key never
 * leaves the process, only the signed transaction does.
 */
export function buildPayment(opts: {
  params: NetworkParams;
  privateKey: Uint8Array;
  /** Confirmed, mature coins of the key not spent by a pending transaction. */
  coins: readonly SpendableCoin[];
  to: string;
  amount: bigint;
  /** Base units per byte. */
  feeRate: bigint;
}): Payment {
  const recipient = p2pkhScript(parseAddress(opts.to, opts.params));
  const ownScript = p2pkhScript(hash160(publicKeyOf(opts.privateKey)));
  const selection = selectCoins({ coins: opts.coins, amount: opts.amount, feeRate: opts.feeRate });
  const outputs: TxOutput[] = [{ value: selection.amount, scriptPubKey: recipient }];
  if (selection.change > 0n) outputs.push({ value: selection.change, scriptPubKey: ownScript });
  let tx: Transaction = {
    version: 1,
    inputs: selection.inputs.map((coin) => ({
      prevTxid: fromDisplayHex(coin.txid),
      prevVout: coin.vout,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    })),
    outputs,
    locktime: 0,
  };
  for (let i = 0; i < selection.inputs.length; i++) tx = signP2pkhInput(tx, i, ownScript, opts.privateKey);
  return {
    tx,
    txid: txidOf(tx),
    hex: toHex(encodeTx(tx)),
    amount: selection.amount,
    fee: selection.fee,
    change: selection.change,
    inputs: selection.inputs,
  };
}

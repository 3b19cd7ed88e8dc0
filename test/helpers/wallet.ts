import type { SpendableCoin } from '../../src/wallet/index.js';

/** An unspent output as GET /utxo/:address lists it. */
export interface UtxoView {
  txid: string;
  vout: number;
  value: string;
  mature: boolean;
  spentInMempool: boolean;
}

/** The coins of a /utxo answer that a payment can spend now, as the wallet takes them. */
export function spendable(utxos: readonly UtxoView[]): SpendableCoin[] {
  return utxos
    .filter((u) => u.mature && !u.spentInMempool)
    .map((u) => ({ txid: u.txid, vout: u.vout, value: BigInt(u.value) }));
}

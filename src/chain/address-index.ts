import { isCoinbase, p2pkhHash, toHex, txHash, type Block, type Coin } from '../core/index.js';

/**
 * One row of the address index: a best-chain transaction that pays to or
 * spends from one P2PKH key hash, with what it moved for that key. The store
 * keeps it under (hash160, height, position), so an address's history reads
 * newest first as one bounded range scan; nothing else is scanned.
 */
export interface AddressTxEntry {
  readonly hash160: Uint8Array;
  readonly height: number;
  /** Position of the transaction in its block. */
  readonly position: number;
  /** Internal byte order. */
  readonly txid: Uint8Array;
  /** Sum of the transaction's outputs paying this key hash. */
  readonly received: bigint;
  /** Sum of the coins of this key hash the transaction spends. */
  readonly sent: bigint;
}

/**
 * The index rows of a block at `height`. `spent` is its undo data: every coin
 * its transactions spend, in spending order. The same rows are written on
 * connect and deleted on disconnect (both have the block and its undo data),
 * so after any reorg the index holds exactly the best chain's transactions.
 */
export function addressEntriesOf(block: Block, height: number, spent: readonly Coin[]): AddressTxEntry[] {
  const entries: AddressTxEntry[] = [];
  let u = 0;
  block.txs.forEach((tx, position) => {
    const byHash = new Map<string, { hash160: Uint8Array; received: bigint; sent: bigint }>();
    const touch = (script: Uint8Array) => {
      const hash160 = p2pkhHash(script);
      if (!hash160) return undefined;
      const k = toHex(hash160);
      let row = byHash.get(k);
      if (!row) {
        row = { hash160, received: 0n, sent: 0n };
        byHash.set(k, row);
      }
      return row;
    };
    if (!isCoinbase(tx)) {
      for (let n = 0; n < tx.inputs.length; n++) {
        const coin = spent[u++];
        if (!coin) throw new Error(`undo data of the block at height ${height} is short`);
        const row = touch(coin.scriptPubKey);
        if (row) row.sent += coin.value;
      }
    }
    for (const out of tx.outputs) {
      const row = touch(out.scriptPubKey);
      if (row) row.received += out.value;
    }
    const id = txHash(tx);
    for (const row of byHash.values()) entries.push({ ...row, height, position, txid: id });
  });
  if (u !== spent.length)
    throw new Error(`undo data of the block at height ${height} does not match the block`);
  return entries;
}

/**
 * Consensus data types. Hashes are 32-byte Uint8Arrays in internal (wire) byte
 * order; use `toDisplayHex`/`fromDisplayHex` (core/bytes.ts) for the reversed
 * hex that Bitcoin explorers show. Amounts are bigint base units.
 */

export interface TxInput {
  /** Hash of the transaction being spent, internal byte order. */
  readonly prevTxid: Uint8Array;
  readonly prevVout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
}

export interface TxOutput {
  readonly value: bigint;
  readonly scriptPubKey: Uint8Array;
}

export interface Transaction {
  readonly version: number;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly locktime: number;
}

export interface BlockHeader {
  readonly version: number;
  /** Internal byte order. */
  readonly prevHash: Uint8Array;
  /** Internal byte order. */
  readonly merkleRoot: Uint8Array;
  /** Unix seconds. */
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Transaction[];
}

/** An unspent output as the UTXO set stores it. */
export interface Coin {
  readonly value: bigint;
  readonly scriptPubKey: Uint8Array;
  readonly height: number;
  readonly coinbase: boolean;
}

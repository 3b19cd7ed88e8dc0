import {
  blockHashOf,
  isCoinbase,
  scriptToAddress,
  toDisplayHex,
  toHex,
  txid,
  type Block,
  type NetworkParams,
  type Transaction,
} from '../core/index.js';

/** JSON views of consensus objects for people; amounts as decimal strings, never floats. */
export function txView(tx: Transaction, params: NetworkParams) {
  const coinbase = isCoinbase(tx);
  return {
    txid: txid(tx),
    version: tx.version,
    locktime: tx.locktime,
    coinbase,
    inputs: tx.inputs.map((input) => ({
      prevTxid: toDisplayHex(input.prevTxid),
      prevVout: input.prevVout,
      scriptSig: toHex(input.scriptSig),
      sequence: input.sequence,
    })),
    outputs: tx.outputs.map((output, vout) => ({
      vout,
      value: output.value.toString(),
      address: scriptToAddress(output.scriptPubKey, params) ?? null,
      scriptPubKey: toHex(output.scriptPubKey),
    })),
  };
}

export function blockView(block: Block, params: NetworkParams, height: number | undefined) {
  const h = block.header;
  return {
    hash: blockHashOf(h),
    height: height ?? null,
    version: h.version,
    prevHash: toDisplayHex(h.prevHash),
    merkleRoot: toDisplayHex(h.merkleRoot),
    time: h.time,
    bits: h.bits.toString(16).padStart(8, '0'),
    nonce: h.nonce,
    txCount: block.txs.length,
    txs: block.txs.map((tx) => txView(tx, params)),
  };
}

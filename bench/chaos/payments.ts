/**
 * Keys and payments for the chaos load. Valid payments come from the wallet
 * layer (src/wallet: coin selection, change, fee by size, signing), as a
 * user's would; the deliberately broken variants are built here with the
 * consensus core, since no wallet would make them.
 */
import {
  addressToScript,
  encodeAddress,
  encodeTx,
  fromDisplayHex,
  getNetwork,
  hash160,
  isValidPrivateKey,
  p2pkhScript,
  publicKeyOf,
  sha256,
  signP2pkhInput,
  toHex,
  txid,
  type NetworkParams,
  type Transaction,
} from '../../src/core/index.js';
import { buildPayment } from '../../src/wallet/index.js';

export const params: NetworkParams = getNetwork('regtest');
/** Another network's id: what a peer of the wrong network sends in its headers. */
export const OTHER_NETWORK_ID = getNetwork('demo').genesisHash;

export interface Wallet {
  readonly index: number;
  readonly privateKey: Uint8Array;
  readonly address: string;
  readonly script: Uint8Array;
}

export interface Coin {
  txid: string;
  vout: number;
  value: bigint;
}

export interface BuiltTx {
  txid: string;
  hex: string;
  inputs: string[];
}

/** The same wallets for the same run seed. */
export function makeWallets(runSeed: number, count: number): Wallet[] {
  return Array.from({ length: count }, (_, index) => {
    let n = 0;
    let priv = sha256(new TextEncoder().encode(`chainmesh-chaos-${runSeed}-${index}`));
    while (!isValidPrivateKey(priv))
      priv = sha256(new TextEncoder().encode(`retry-${runSeed}-${index}-${++n}`));
    const h = hash160(publicKeyOf(priv));
    return { index, privateKey: priv, address: encodeAddress(h, params), script: p2pkhScript(h) };
  });
}

/** An address nobody spends from: where the harness's own blocks pay. */
export function sinkAddress(): string {
  return encodeAddress(hash160(new TextEncoder().encode('chainmesh-chaos-sink')), params);
}

export const outpoint = (c: { txid: string; vout: number }): string => `${c.txid}:${c.vout}`;

function unsigned(coins: readonly Coin[], outputs: Array<{ to: string; value: bigint }>): Transaction {
  return {
    version: 1,
    inputs: coins.map((c) => ({
      prevTxid: fromDisplayHex(c.txid),
      prevVout: c.vout,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    })),
    outputs: outputs.map((o) => ({ value: o.value, scriptPubKey: addressToScript(o.to, params) })),
    locktime: 0,
  };
}

function sign(tx: Transaction, from: Wallet): Transaction {
  let signed = tx;
  for (let i = 0; i < tx.inputs.length; i++) signed = signP2pkhInput(signed, i, from.script, from.privateKey);
  return signed;
}

function built(tx: Transaction, coins: readonly Coin[]): BuiltTx {
  return { txid: txid(tx), hex: toHex(encodeTx(tx)), inputs: coins.map(outpoint) };
}

/** Base units per byte: above the nodes' relay minimum (1 per byte). */
const FEE_RATE = 2n;

/** A valid payment of `amount` to `to` from some of `coins` (the wallet selects), change back to the sender. */
export function payment(from: Wallet, coins: readonly Coin[], to: string, amount: bigint): BuiltTx {
  const p = buildPayment({ params, privateKey: from.privateKey, coins, to, amount, feeRate: FEE_RATE });
  return { txid: p.txid, hex: p.hex, inputs: p.inputs.map(outpoint) };
}

/** A signed payment whose signature is then corrupted: every node must refuse it. */
export function badSignature(
  from: Wallet,
  coins: readonly Coin[],
  to: string,
  amount: bigint,
  fee: bigint,
): BuiltTx {
  const tx = sign(
    unsigned(coins, [
      { to, value: amount },
      { to: from.address, value: sumOf(coins) - amount - fee },
    ]),
    from,
  );
  const first = tx.inputs[0];
  if (!first) throw new Error('no input');
  const scriptSig = first.scriptSig.slice();
  // Byte 10 lies inside the DER signature's r value: still well-formed, no longer valid.
  scriptSig[10] = (scriptSig[10] ?? 0) ^ 0x01;
  const broken: Transaction = { ...tx, inputs: [{ ...first, scriptSig }, ...tx.inputs.slice(1)] };
  return built(broken, coins);
}

/** Correctly signed, but paying out more than its inputs hold. */
export function overspend(from: Wallet, coins: readonly Coin[], to: string): BuiltTx {
  return built(sign(unsigned(coins, [{ to, value: sumOf(coins) + 1n }]), from), coins);
}

function sumOf(coins: readonly Coin[]): bigint {
  return coins.reduce((s, c) => s + c.value, 0n);
}

import { randomBytes } from 'node:crypto';
import {
  addressToScript,
  encodeAddress,
  encodeTx,
  fromDisplayHex,
  fromHex,
  getNetwork,
  hash160,
  isValidPrivateKey,
  p2pkhScript,
  publicKeyOf,
  signP2pkhInput,
  toHex,
  txid,
  type NetworkParams,
  type Transaction,
  type TxOutput,
} from '../core/index.js';
import { nodeJson } from './http.js';

export interface WalletKey {
  privateKey: string;
  address: string;
}

export function newKey(networkName: string): WalletKey {
  const params = getNetwork(networkName);
  let priv = randomBytes(32);
  while (!isValidPrivateKey(priv)) priv = randomBytes(32);
  return { privateKey: priv.toString('hex'), address: addressOf(priv, params) };
}

export function addressOf(priv: Uint8Array, params: NetworkParams): string {
  return encodeAddress(hash160(publicKeyOf(priv)), params);
}

interface Utxo {
  txid: string;
  vout: number;
  value: string;
  mature: boolean;
  spentInMempool: boolean;
}

/**
 * Builds and signs a P2PKH payment from the key's mature, unspent coins
 * (largest first), with change back to the key's own address.
 */
export function buildPayment(opts: {
  params: NetworkParams;
  privateKey: Uint8Array;
  utxos: readonly Utxo[];
  to: string;
  amount: bigint;
  fee: bigint;
}): Transaction {
  const { params, privateKey, amount, fee } = opts;
  if (amount <= 0n) throw new Error('amount must be a positive integer of base units');
  if (fee < 0n) throw new Error('fee must not be negative');
  const ownScript = p2pkhScript(hash160(publicKeyOf(privateKey)));
  const spendable = opts.utxos
    .filter((u) => u.mature && !u.spentInMempool)
    .sort((a, b) => (BigInt(b.value) > BigInt(a.value) ? 1 : -1));
  const chosen: Utxo[] = [];
  let total = 0n;
  for (const utxo of spendable) {
    if (total >= amount + fee) break;
    chosen.push(utxo);
    total += BigInt(utxo.value);
  }
  if (total < amount + fee) throw new Error(`insufficient funds: have ${total}, need ${amount + fee}`);
  const outputs: TxOutput[] = [{ value: amount, scriptPubKey: addressToScript(opts.to, params) }];
  const change = total - amount - fee;
  if (change > 0n) outputs.push({ value: change, scriptPubKey: ownScript });
  let tx: Transaction = {
    version: 1,
    inputs: chosen.map((u) => ({
      prevTxid: fromDisplayHex(u.txid),
      prevVout: u.vout,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    })),
    outputs,
    locktime: 0,
  };
  for (let i = 0; i < chosen.length; i++) tx = signP2pkhInput(tx, i, ownScript, privateKey);
  return tx;
}

function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  return nodeJson<T>(url, { timeoutMs: 10_000, init });
}

export async function send(opts: {
  url: string;
  privateKey: string;
  to: string;
  amount: bigint;
  fee: bigint;
}): Promise<{ txid: string; hex: string }> {
  const info = await getJson<{ networkName: string }>(`${opts.url}/info`);
  const params = getNetwork(info.networkName);
  const priv = fromHex(opts.privateKey);
  if (!isValidPrivateKey(priv)) throw new Error('not a valid secp256k1 private key');
  const from = addressOf(priv, params);
  const { utxos } = await getJson<{ utxos: Utxo[] }>(`${opts.url}/utxo/${from}`);
  const tx = buildPayment({
    params,
    privateKey: priv,
    utxos,
    to: opts.to,
    amount: opts.amount,
    fee: opts.fee,
  });
  const hex = toHex(encodeTx(tx));
  await getJson(`${opts.url}/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tx: hex }),
  });
  return { txid: txid(tx), hex };
}

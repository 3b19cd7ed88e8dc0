import { describe, expect, it } from 'vitest';
import {
  checkTransaction,
  decodeTx,
  encodeAddress,
  fromHex,
  getNetwork,
  hash160,
  p2pkhScript,
  privateKeyFromSeed,
  publicKeyOf,
  toDisplayHex,
  txSize,
  verifyTxScripts,
  COIN,
} from '../../src/core/index.js';
import { buildPayment, DUST_LIMIT, WalletError, type SpendableCoin } from '../../src/wallet/index.js';

const params = getNetwork('regtest');
const key = privateKeyFromSeed(new TextEncoder().encode('payment test payer'));
const ownScript = p2pkhScript(hash160(publicKeyOf(key)));
const payee = encodeAddress(new Uint8Array(20).fill(9), params);

function coins(...values: bigint[]): SpendableCoin[] {
  return values.map((value, i) => ({ txid: toDisplayHex(new Uint8Array(32).fill(i + 1)), vout: i, value }));
}

describe('buildPayment', () => {
  it('signs every input so that it verifies, pays the recipient, returns change to the payer', () => {
    const payment = buildPayment({
      params,
      privateKey: key,
      coins: coins(COIN, 2n * COIN, COIN / 2n),
      to: payee,
      amount: 25n * (COIN / 10n),
      feeRate: 3n,
    });
    const tx = decodeTx(fromHex(payment.hex));
    checkTransaction(tx);
    verifyTxScripts(
      tx,
      tx.inputs.map(() => ownScript),
    );
    expect(tx.outputs[0]).toEqual({
      value: 25n * (COIN / 10n),
      scriptPubKey: p2pkhScript(new Uint8Array(20).fill(9)),
    });
    expect(tx.outputs[1]?.scriptPubKey).toEqual(ownScript);
    expect(tx.outputs[1]?.value).toBe(payment.change);
    const spent = payment.inputs.reduce((s, c) => s + c.value, 0n);
    expect(spent).toBe(payment.amount + payment.fee + payment.change);
    // The estimate is an upper bound, so the fee rate actually paid is at least the one asked for.
    expect(payment.fee >= BigInt(txSize(tx)) * 3n).toBe(true);
    expect(tx.inputs.map((i) => toDisplayHex(i.prevTxid))).toEqual(payment.inputs.map((c) => c.txid));
    expect(payment.txid).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a wrong-network or malformed recipient and a dust amount before signing anything', () => {
    const demoAddress = encodeAddress(new Uint8Array(20), getNetwork('demo'));
    const attempt = (to: string, amount = COIN) => {
      try {
        buildPayment({ params, privateKey: key, coins: coins(10n * COIN), to, amount, feeRate: 1n });
      } catch (err) {
        return (err as WalletError).code;
      }
      return 'accepted';
    };
    expect(attempt(demoAddress)).toBe('wrong-network');
    expect(attempt('not-an-address')).toBe('bad-address');
    expect(attempt(payee, DUST_LIMIT - 1n)).toBe('dust');
    expect(attempt(payee, 11n * COIN)).toBe('insufficient-funds');
  });
});

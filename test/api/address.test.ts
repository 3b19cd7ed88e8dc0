import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COIN, encodeAddress, getNetwork, privateKeyFromSeed } from '../../src/core/index.js';
import { addressOfKey, buildPayment } from '../../src/wallet/index.js';
import {
  admin,
  cleanup,
  request,
  restartNode,
  startNode,
  stopAll,
  tempDir,
  type NodeProcess,
} from '../helpers/processes.js';

const params = getNetwork('regtest');
const payerKey = privateKeyFromSeed(new TextEncoder().encode('address routes payer'));
const payer = addressOfKey(payerKey, params);
const payee = encodeAddress(new Uint8Array(20).fill(0x42), params);
const dir = tempDir();
let node: NodeProcess;

beforeAll(async () => {
  node = await startNode({ name: 'address-routes', dataDir: dir });
});
afterAll(async () => {
  await stopAll([node]);
  cleanup(dir);
});

async function history(address: string, query = '') {
  const res = await request(`${node.url}/address/${address}/history${query}`);
  expect(res.status).toBe(200);
  return res.body as { height: number; more: boolean; txs: Array<Record<string, unknown>> };
}

async function balance(address: string) {
  const res = await request(`${node.url}/address/${address}/balance`);
  expect(res.status).toBe(200);
  return res.body as Record<string, string>;
}

describe('address routes (real node over HTTP)', () => {
  it('show coinbases, a pending payment marked unconfirmed, then its confirmation, and survive a restart', async () => {
    const mined = params.coinbaseMaturity + 2;
    expect((await admin(node, '/admin/generate', { count: mined, address: payer })).status).toBe(200);
    const before = await history(payer);
    expect(before.txs).toHaveLength(mined);
    expect(before.txs[0]).toMatchObject({
      status: 'confirmed',
      height: mined,
      confirmations: 1,
      received: '5000000000',
    });
    expect(before.txs.at(-1)).toMatchObject({ height: 1, confirmations: mined });
    expect((await balance(payer)).confirmed).toBe((3n * 50n * COIN).toString());
    expect((await balance(payer)).immature).toBe((BigInt(mined - 3) * 50n * COIN).toString());

    // Pay 1.5 CMC from the mature coins (listed by /utxo), signed locally.
    const utxo = await request(`${node.url}/utxo/${payer}`);
    const coins = (utxo.body.utxos as Array<{ txid: string; vout: number; value: string; mature: boolean }>)
      .filter((u) => u.mature)
      .map((u) => ({ txid: u.txid, vout: u.vout, value: BigInt(u.value) }));
    const payment = buildPayment({
      params,
      privateKey: payerKey,
      coins,
      to: payee,
      amount: 150_000_000n,
      feeRate: 2n,
    });
    expect((await request(`${node.url}/transactions`, { body: { tx: payment.hex } })).status).toBe(200);

    const pending = await history(payer);
    expect(pending.txs[0]).toMatchObject({
      txid: payment.txid,
      status: 'unconfirmed',
      height: null,
      confirmations: 0,
      sent: '5000000000',
      received: payment.change.toString(),
      net: (-(payment.amount + payment.fee)).toString(),
    });
    expect((await history(payee)).txs).toEqual([
      expect.objectContaining({
        txid: payment.txid,
        status: 'unconfirmed',
        received: '150000000',
        sent: '0',
      }),
    ]);
    const payeeBalance = await balance(payee);
    expect(payeeBalance).toMatchObject({
      confirmed: '0',
      unconfirmed: '150000000',
      unconfirmedIncoming: '150000000',
    });
    const payerBalance = await balance(payer);
    expect(payerBalance.unconfirmedOutgoing).toBe('5000000000');
    expect(BigInt(payerBalance.spendable ?? -1)).toBe(BigInt(payerBalance.confirmed ?? 0) - 50n * COIN);

    expect((await admin(node, '/admin/generate', { count: 2 })).status).toBe(200);
    const confirmed = await history(payee);
    expect(confirmed.txs).toEqual([
      expect.objectContaining({
        txid: payment.txid,
        status: 'confirmed',
        height: mined + 1,
        confirmations: 2,
      }),
    ]);
    expect(typeof confirmed.txs[0]?.blockHash).toBe('string');
    // The block view says when this node first had the block (it mined it just now).
    const block = await request(`${node.url}/block/${String(confirmed.txs[0]?.blockHash)}`);
    expect(block.body.firstSeen).toBeGreaterThan(Date.now() - 120_000);
    expect(block.body.firstSeen).toBeLessThanOrEqual(Date.now());
    expect(await balance(payee)).toMatchObject({
      confirmed: '150000000',
      unconfirmed: '0',
      spendable: '150000000',
    });

    // Paging: newest first, `more` while rows remain.
    const page1 = await history(payer, '?limit=5');
    const page2 = await history(payer, '?limit=5&offset=5');
    expect(page1.more).toBe(true);
    expect(page1.txs[0]?.txid).toBe(payment.txid);
    const all = await history(payer, '?limit=50');
    expect(all.more).toBe(false);
    expect(all.txs).toHaveLength(mined + 1);
    expect([...page1.txs, ...page2.txs]).toEqual(all.txs.slice(0, 10));

    node = await restartNode(node);
    expect(await history(payer, '?limit=50')).toEqual(all);
  });
});

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork, hash160, publicKeyOf } from '../../src/core/index.js';
import { buildPayment } from '../../src/wallet/index.js';
import {
  admin,
  cleanup,
  info,
  request,
  restartNode,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';
import { spendable } from '../helpers/wallet.js';

const params = getNetwork('regtest');
const key = Uint8Array.from(Buffer.from('22'.repeat(32), 'hex'));
const address = encodeAddress(hash160(publicKeyOf(key)), params);

async function txStatus(node: NodeProcess, txid: string): Promise<string | undefined> {
  const r = await request(`${node.url}/transactions/${txid}`);
  return r.status === 200 ? (r.body.status as string) : undefined;
}

/**
 * Issue 12 (found by chaos): a payment confirmed only on the losing side of
 * a split must reach the winning side after the heal, relayed by the node
 * whose reorg returned it to the mempool — although that node saw it before
 * and nobody submits it again.
 */
describe('a transaction a reorg returns to the mempool', () => {
  const dir = tempDir();
  let loser: NodeProcess;
  let winner: NodeProcess;

  beforeAll(async () => {
    [loser, winner] = await Promise.all([
      startNode({ name: 'loser', dataDir: join(dir, 'loser') }),
      startNode({ name: 'winner', dataDir: join(dir, 'winner') }),
    ]);
  });

  afterAll(async () => {
    await stopAll([loser, winner]);
    cleanup(dir);
  });

  it('is relayed again to the side of the split that never had it', async () => {
    // A common history with a mature coin on both sides: the loser's blocks handed to the winner.
    const prefix = await admin(loser, '/admin/generate', { count: params.coinbaseMaturity + 2, address });
    expect(prefix.status).toBe(200);
    for (const hash of prefix.body.hashes as string[]) {
      const { body } = await request(`${loser.url}/block/${hash}?format=hex`);
      expect((await request(`${winner.url}/block`, { body: { block: body.hex } })).status).toBe(200);
    }
    expect((await info(winner)).tipHash).toBe((prefix.body.hashes as string[]).at(-1));

    // The payment is confirmed on the loser's side only; the winner mines a longer branch without it.
    const { body: utxoBody } = await request(`${loser.url}/utxo/${address}`);
    const { hex } = buildPayment({
      params,
      privateKey: key,
      coins: spendable(utxoBody.utxos),
      to: address,
      amount: 1000n,
      feeRate: 20n,
    });
    const submitted = await request(`${loser.url}/transactions`, { body: { tx: hex } });
    expect(submitted.status).toBe(200);
    const txid = submitted.body.txid as string;
    expect((await admin(loser, '/admin/generate', { count: 1 })).status).toBe(200);
    expect(await txStatus(loser, txid)).toBe('confirmed');
    const longer = await admin(winner, '/admin/generate', { count: 3 });
    const winningTip = (longer.body.hashes as string[]).at(-1);
    expect(await txStatus(winner, txid)).toBeUndefined();

    // Heal: the winner restarts knowing the loser, whose own process (and its memory of the payment) lives on.
    winner = await restartNode(winner, { SEED_HOSTS: `127.0.0.1:${loser.port}` });
    await waitFor('the loser on the winning tip', async () => (await info(loser)).tipHash === winningTip, {
      timeoutMs: 60_000,
    });
    expect(await txStatus(loser, txid)).toBe('mempool');

    // Nobody resubmits it: the loser's reorg relays it.
    await waitFor(
      'the payment in the winner mempool',
      async () => (await txStatus(winner, txid)) === 'mempool',
      {
        timeoutMs: 30_000,
      },
    );
    const confirming = await admin(winner, '/admin/generate', { count: 1 });
    const confirmedTip = (confirming.body.hashes as string[])[0];
    await waitFor(
      'the loser on the block that confirms it',
      async () => (await info(loser)).tipHash === confirmedTip,
      {
        timeoutMs: 30_000,
      },
    );
    expect(await txStatus(winner, txid)).toBe('confirmed');
    expect(await txStatus(loser, txid)).toBe('confirmed');
  });
});

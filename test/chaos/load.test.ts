import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ChaosCluster, type Member } from '../../bench/chaos/cluster.js';
import { PaymentLoad, type UtxoReply } from '../../bench/chaos/load.js';
import { makeWallets, params, payment, sinkAddress } from '../../bench/chaos/payments.js';
import { Rng } from '../../bench/chaos/rng.js';
import { freePortBlock, tempDir, waitFor } from '../helpers/processes.js';

const root = tempDir('chainmesh-chaos-load-');
let cluster: ChaosCluster | undefined;
afterAll(async () => {
  await cluster?.stopAll();
  await rm(root, { recursive: true, force: true });
});

async function tip(c: ChaosCluster, m: Member): Promise<string | undefined> {
  return (await c.info(m))?.tipHash;
}

describe('chaos payment load', () => {
  // Found by split-brain seed 101: a payment confirmed on the side of a partition that lost the
  // reorg stayed 'confirmed' in the harness, was never rebroadcast, and was reported lost.
  it('a payment whose block loses a reorg is pending again, rebroadcast and confirmed', async () => {
    const violations: string[] = [];
    const base = await freePortBlock(8);
    const c = new ChaosCluster(
      root,
      Array.from({ length: 8 }, (_, i) => base + i),
      { violation: (kind, detail) => violations.push(`${kind}: ${detail}`), note: () => undefined },
    );
    cluster = c;
    const seed = await c.addMember('seed');
    const minority = await c.addMember('node-1');
    const [from, to] = makeWallets(7, 2) as [
      ReturnType<typeof makeWallets>[0],
      ReturnType<typeof makeWallets>[0],
    ];
    await c.generate(seed, 1, from.address);
    await c.generate(seed, params.coinbaseMaturity + 1, sinkAddress());
    const synced = async () => (await tip(c, seed)) === (await tip(c, minority));
    await waitFor('node-1 has the funding blocks', synced, { timeoutMs: 60_000 });

    c.partition([seed]);
    const utxos = (await (await fetch(`${minority.proc?.url}/utxo/${from.address}`)).json()) as UtxoReply;
    const coin = utxos.utxos.find((u) => u.mature);
    if (!coin) throw new Error('the funding coin is not mature');
    const built = payment(
      from,
      [{ txid: coin.txid, vout: coin.vout, value: BigInt(coin.value) }],
      to.address,
      1000n,
    );
    const posted = await fetch(`${minority.proc?.url}/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: built.hex }),
    });
    expect(posted.ok).toBe(true);
    const load = new PaymentLoad(
      c,
      [from, to],
      new Rng(7),
      { invalidShare: 0, conflictShare: 0 },
      {
        violation: (kind, detail) => violations.push(`${kind}: ${detail}`),
      },
    );
    const payment1 = load.record(built);
    // Confirmed on the minority side only.
    await c.generate(minority, 1, sinkAddress());
    await waitFor(
      'the harness sees the payment confirmed',
      async () => (await load.track(), payment1.status === 'confirmed'),
      { timeoutMs: 30_000, intervalMs: 50 },
    );

    // The majority mines more work; at the heal the minority reorgs and the payment leaves the chain.
    await c.generate(seed, 2, sinkAddress());
    c.heal();
    await waitFor('node-1 reorgs to the seed', synced, { timeoutMs: 60_000 });
    await waitFor(
      'the harness sees the payment unconfirmed again',
      async () => (await load.track(), payment1.status === 'pending'),
      { timeoutMs: 30_000, intervalMs: 50 },
    );

    // As a wallet does: sent again until a node that lacks it takes it (a node that holds it does
    // not relay it again, nor did it relay it when the reorg put it back), mined, confirmed.
    await waitFor(
      'the rebroadcast payment is confirmed',
      async () => {
        await load.rebroadcast(0);
        await c.generate(seed, 1, sinkAddress());
        await load.track();
        return payment1.status === 'confirmed';
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(violations).toEqual([]);
  }, 240_000);
});

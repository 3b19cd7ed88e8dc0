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
const key = Uint8Array.from(Buffer.from('11'.repeat(32), 'hex'));
const address = encodeAddress(hash160(publicKeyOf(key)), params);

async function startGroup(dir: string, name: string, size: number): Promise<NodeProcess[]> {
  const seed = await startNode({ name: `${name}-seed`, dataDir: join(dir, `${name}-seed`) });
  const rest = await Promise.all(
    Array.from({ length: size - 1 }, (_, i) =>
      startNode({
        name: `${name}-${i + 1}`,
        dataDir: join(dir, `${name}-${i + 1}`),
        seeds: [`127.0.0.1:${seed.port}`],
      }),
    ),
  );
  return [seed, ...rest];
}

async function sameTip(nodes: NodeProcess[], hash?: string): Promise<boolean> {
  const tips = (await Promise.all(nodes.map(info))).map((i) => i.tipHash as string);
  return tips.every((t) => t === (hash ?? tips[0]));
}

/** Issue 3: two groups mine apart, are reconnected, and converge on the most-work chain. */
describe('a network split and its healing', () => {
  const dir = tempDir();
  let groupA: NodeProcess[] = [];
  let groupB: NodeProcess[] = [];

  beforeAll(async () => {
    [groupA, groupB] = await Promise.all([startGroup(dir, 'a', 3), startGroup(dir, 'b', 3)]);
  });

  afterAll(async () => {
    await stopAll([...groupA, ...groupB]);
    cleanup(dir);
  });

  it('converges on the heavier branch, and the losing branch transactions return to the mempool', async () => {
    // A common history: blocks mined in group A are handed to group B, so a mature coin exists on both sides.
    const prefix = await admin(groupA[0]!, '/admin/generate', {
      count: params.coinbaseMaturity + 2,
      address,
    });
    expect(prefix.status).toBe(200);
    for (const hash of prefix.body.hashes as string[]) {
      const { body } = await request(`${groupA[0]!.url}/block/${hash}?format=hex`);
      const sent = await request(`${groupB[0]!.url}/block`, { body: { block: body.hex } });
      expect(sent.status).toBe(200);
    }
    const prefixTip = (prefix.body.hashes as string[]).at(-1)!;
    await waitFor('common prefix everywhere', () => sameTip([...groupA, ...groupB], prefixTip), {
      timeoutMs: 60_000,
    });

    // Group A confirms a payment in a block of its own; group B mines a longer branch without it.
    const { body: utxoBody } = await request(`${groupA[1]!.url}/utxo/${address}`);
    const { hex } = buildPayment({
      params,
      privateKey: key,
      coins: spendable(utxoBody.utxos),
      to: address,
      amount: 1000n,
      feeRate: 20n,
    });
    const submitted = await request(`${groupA[1]!.url}/transactions`, { body: { tx: hex } });
    expect(submitted.status).toBe(200);
    const txid = submitted.body.txid as string;
    await waitFor('tx in group A mempools', async () =>
      (await Promise.all(groupA.map((n) => request(`${n.url}/mempool`)))).every((r) =>
        (r.body.txs as Array<{ txid: string }>).some((t) => t.txid === txid),
      ),
    );
    const mined = await admin(groupA[2]!, '/admin/generate', { count: 1 });
    const branchA = mined.body.hashes[0] as string;
    await waitFor('group A on its branch', () => sameTip(groupA, branchA));
    expect((await request(`${groupA[0]!.url}/transactions/${txid}`)).body.status).toBe('confirmed');

    const longer = await admin(groupB[1]!, '/admin/generate', { count: 3 });
    const branchB = (longer.body.hashes as string[]).at(-1)!;
    await waitFor('group B on its branch', () => sameTip(groupB, branchB));

    // Heal: group A's seed restarts knowing group B's seed.
    groupA[0] = await restartNode(groupA[0]!, { SEED_HOSTS: `127.0.0.1:${groupB[0]!.port}` });
    await waitFor('all nodes on the most-work tip', () => sameTip([...groupA, ...groupB], branchB), {
      timeoutMs: 90_000,
      describe: async () =>
        JSON.stringify(
          (await Promise.all([...groupA, ...groupB].map(info))).map((i) => [i.height, i.tipHash.slice(0, 8)]),
        ),
    });

    // The payment left the chain with group A's branch and is pending again.
    await waitFor('payment back in the mempools', async () =>
      (await Promise.all(groupA.slice(1).map((n) => request(`${n.url}/transactions/${txid}`)))).every(
        (r) => r.status === 200 && r.body.status === 'mempool',
      ),
    );
    const metrics = (await request(`${groupA[1]!.url}/metrics`)).body as string;
    expect(metrics).toMatch(/^chainmesh_chain_reorgs_total [1-9]/m);
    expect((await request(`${groupA[1]!.url}/block/${branchA}`)).body.confirmations).toBe(0);
  });
});

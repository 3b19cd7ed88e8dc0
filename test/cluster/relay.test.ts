import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  cleanup,
  info,
  request,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

/**
 * Issue 12, relay that is fast by design: a block is not pushed again to the
 * peers its sender says were sent it (x-chainmesh-relayed-to), and a peer
 * named there that never got it still gets it, by gossip and sync.
 */

const hostOf = (n: NodeProcess) => `127.0.0.1:${n.port}`;
const knownOf = async (n: NodeProcess) =>
  (await request(`${n.url}/known_node_request`)).body as Array<{ hostname: string }>;
const shortId = (nodeId: string) => nodeId.slice(0, 8);

/** Sum of a metric's samples whose labels include `labels`. */
async function metric(n: NodeProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await request(`${n.url}/metrics`)).body as string;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Block pushes, whole (POST /block) or compact (POST /cmpctblock). */
const pushesOf = async (n: NodeProcess) =>
  (await metric(n, 'chainmesh_p2p_messages_sent_total', { kind: 'block' })) +
  (await metric(n, 'chainmesh_p2p_messages_sent_total', { kind: 'cmpctblock' }));

const blockPushes = async (nodes: NodeProcess[]) =>
  (await Promise.all(nodes.map(pushesOf))).reduce((a, b) => a + b, 0);

// The tests run in order: the outsider's two blocks extend genesis, so they come before the cluster mines.
describe('block relay names whom it covered', () => {
  const dir = tempDir();
  let nodes: NodeProcess[] = [];
  /** A node outside the cluster (no seeds, nobody knows it): it makes blocks to hand to the cluster. */
  let outsider: NodeProcess;
  const ids = new Map<NodeProcess, string>();
  /** Blocks the outsider made, to hand to the cluster in order. */
  const outsiders: Array<{ hash: string; hex: string }> = [];

  beforeAll(async () => {
    const seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
    const others = await Promise.all(
      [1, 2, 3].map((i) =>
        startNode({ name: `node-${i}`, dataDir: join(dir, `node-${i}`), seeds: [hostOf(seed)] }),
      ),
    );
    nodes = [seed, ...others];
    outsider = await startNode({ name: 'outsider', dataDir: join(dir, 'outsider') });
    // Two blocks on genesis, made before the cluster has any: each is the cluster's next block in turn.
    const made = await admin(outsider, '/admin/generate', { count: 2 });
    expect(made.status).toBe(200);
    for (const hash of made.body.hashes as string[]) {
      const { body } = await request(`${outsider.url}/block/${hash}?format=hex`);
      outsiders.push({ hash, hex: body.hex as string });
    }
    for (const n of nodes) ids.set(n, (await info(n)).nodeId as string);
    await waitFor(
      'every node shares every other',
      async () => {
        const lists = await Promise.all(nodes.map(knownOf));
        return lists.every((l, i) =>
          nodes.every((o, j) => i === j || l.some((p) => p.hostname === hostOf(o))),
        );
      },
      { timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    await stopAll([...nodes, outsider]);
    cleanup(dir);
  });

  const everyTip = (hash: string, among = nodes) =>
    waitFor(
      `block ${hash.slice(0, 12)} on every node`,
      async () => (await Promise.all(among.map(info))).every((i) => i.tipHash === hash),
      {
        timeoutMs: 30_000,
        intervalMs: 20,
      },
    );

  it('a peer named as covered that never got the block still gets it, by gossip and sync', async () => {
    const [a, b, c, d] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
    const block = outsiders[0]!;
    const before = await pushesOf(b);
    // As if from peer a (same loopback IP), saying it pushed the block to c and d too.
    const res = await request(`${b.url}/block`, {
      body: { block: block.hex },
      headers: {
        'x-chainmesh-node-id': ids.get(a)!,
        'x-chainmesh-relayed-to': [a, c, d].map((n) => shortId(ids.get(n)!)).join(','),
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'connected', hash: block.hash });
    // b forwards it to nobody: every peer it has was named.
    expect(await pushesOf(b)).toBe(before);
    // a, c and d never got it pushed: they learn of b's extra work by gossip and download the block.
    await everyTip(block.hash);
  });

  it("an anonymous sender's relayed-to is not believed, and a malformed one is refused", async () => {
    const [, b] = nodes as [NodeProcess, NodeProcess];
    const block = outsiders[1]!;
    const all = [...ids.values()].map(shortId).join(',');
    const bad = await request(`${b.url}/block`, {
      body: { block: block.hex },
      headers: { 'x-chainmesh-relayed-to': 'not,ids' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'bad-request' });
    expect((await info(b)).tipHash).not.toBe(block.hash);

    const before = await pushesOf(b);
    const res = await request(`${b.url}/block`, {
      body: { block: block.hex },
      headers: { 'x-chainmesh-relayed-to': all },
    });
    expect(res.status).toBe(200);
    // A user's block goes to every live peer, whatever the header claims.
    await waitFor('b pushes to its 3 peers', async () => (await pushesOf(b)) - before >= 3, {
      timeoutMs: 10_000,
    });
    await everyTip(block.hash);
  });

  it('a block its maker pushed to every peer is not pushed around again: N - 1 pushes in all', async () => {
    for (const maker of [nodes[0]!, nodes[2]!]) {
      const before = await blockPushes(nodes);
      const made = await admin(maker, '/admin/generate', { count: 1 });
      expect(made.status).toBe(200);
      await everyTip((made.body.hashes as string[])[0]!);
      // Early relays go out before a receiver's own connect: by now they are counted.
      expect((await blockPushes(nodes)) - before).toBe(nodes.length - 1);
    }
  });
});

import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  cleanup,
  freePort,
  info,
  request,
  restartNode,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

async function knows(node: NodeProcess, other: NodeProcess): Promise<boolean> {
  const res = await request(`${node.url}/known_node_request`);
  return (
    res.status === 200 &&
    (res.body as Array<{ hostname: string }>).some((p) => p.hostname === `127.0.0.1:${other.port}`)
  );
}

/** Issue 3: rejoin without the seed, foreign networks, and peers that misbehave. */
describe('resilience', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  const badServers: Server[] = [];

  beforeAll(async () => {
    const seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
    nodes.push(seed);
    for (const name of ['node-1', 'node-2']) {
      nodes.push(await startNode({ name, dataDir: join(dir, name), seeds: [`127.0.0.1:${seed.port}`] }));
    }
    await waitFor(
      'discovery',
      async () => (await knows(nodes[1]!, nodes[2]!)) && (await knows(nodes[2]!, nodes[1]!)),
    );
  });

  afterAll(async () => {
    await stopAll(nodes);
    for (const s of badServers) s.closeAllConnections();
    await Promise.all(badServers.map((s) => new Promise((r) => s.close(r))));
    cleanup(dir);
  });

  it('a node restarted while the seed is down rejoins from its persisted peers', async () => {
    await stopNode(nodes[0]!);
    nodes[2] = await restartNode(nodes[2]!);
    await waitFor('node-2 handshakes with node-1 again', async () => (await info(nodes[2]!)).peers >= 1, {
      timeoutMs: 60_000,
    });
    const res = await admin(nodes[1]!, '/admin/generate', { count: 2 });
    const tip = (res.body.hashes as string[]).at(-1);
    await waitFor('block reaches the restarted node', async () => (await info(nodes[2]!)).tipHash === tip);
    nodes[0] = await restartNode(nodes[0]!);
  });

  it('refuses a node of another network and never stores it', async () => {
    const foreign = await startNode({
      name: 'foreign',
      dataDir: join(dir, 'foreign'),
      seeds: [`127.0.0.1:${nodes[0]!.port}`],
      env: { NETWORK: 'demo' },
    });
    nodes.push(foreign);
    const direct = await request(`${nodes[0]!.url}/new_node_advertisement`, {
      body: { hostname: `127.0.0.1:${foreign.port}`, nodeId: 'f'.repeat(32), network: 'ab'.repeat(32) },
    });
    expect(direct.status).toBe(409);
    expect(direct.body.error).toBe('peer-wrong-network');
    // Give the foreign node several gossip rounds to try, then check nobody stored it.
    await waitFor(
      'the seed refused the foreign node',
      async () =>
        /chainmesh_api_errors_total\{code="peer-wrong-network"\} ([2-9]|\d{2,})/.test(
          (await request(`${nodes[0]!.url}/metrics`)).body,
        ),
      { timeoutMs: 30_000 },
    );
    for (const n of nodes.slice(0, 3)) expect(await knows(n, foreign)).toBe(false);
    expect((await request(`${foreign.url}/readyz`)).status).toBe(503);
  });

  it('peers that answer garbage, slowly or not at all do not stall gossip or relay', async () => {
    const behaviours: Array<(res: import('node:http').ServerResponse) => void> = [
      (res) => res.end('{"this is": not json'),
      (res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ peers: 'x'.repeat(1000) })),
      () => {
        /* never answers */
      },
      (res) => setTimeout(() => res.end('[]'), 20_000).unref(),
    ];
    for (const [i, behave] of behaviours.entries()) {
      const port = await freePort();
      const server = createServer((_req, res) => behave(res));
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      badServers.push(server);
      const advertised = await request(`${nodes[1]!.url}/new_node_advertisement`, {
        body: {
          hostname: `127.0.0.1:${port}`,
          nodeId: String(i).repeat(32),
          network: (await info(nodes[1]!)).network,
        },
      });
      expect(advertised.status).toBe(200);
    }
    // The node stays responsive and keeps relaying while its bad peers time out. The bound only has to
    // tell a node waiting on the 20 s slow peer (or on the one that never answers) from a busy machine.
    for (let round = 0; round < 3; round++) {
      const started = Date.now();
      await info(nodes[1]!);
      expect(Date.now() - started).toBeLessThan(10_000);
      const res = await admin(nodes[1]!, '/admin/generate', { count: 1 });
      const tip = res.body.hashes[0] as string;
      await waitFor(
        'relay despite bad peers',
        async () => (await info(nodes[2]!)).tipHash === tip && (await info(nodes[0]!)).tipHash === tip,
        {
          timeoutMs: 30_000,
        },
      );
    }
    expect((await request(`${nodes[1]!.url}/healthz`)).status).toBe(200);
  });
});

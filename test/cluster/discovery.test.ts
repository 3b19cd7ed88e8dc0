import { readFileSync } from 'node:fs';
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

/** Issue 3: 1 seed + 9 nodes as real processes on loopback. */
describe('a seed and nine nodes', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    const seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
    nodes.push(seed);
    const others = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        startNode({
          name: `node-${i + 1}`,
          dataDir: join(dir, `node-${i + 1}`),
          seeds: [`127.0.0.1:${seed.port}`],
        }),
      ),
    );
    nodes.push(...others);
  });

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('every node learns every other live node, never itself', async () => {
    const ms = await waitFor(
      'full discovery',
      async () => {
        const lists = await Promise.all(nodes.map((n) => request(`${n.url}/known_node_request`)));
        return lists.every((l, i) => {
          const names = new Set((l.body as Array<{ hostname: string }>).map((p) => p.hostname));
          return nodes.every((other, j) =>
            i === j ? !names.has(`127.0.0.1:${other.port}`) : names.has(`127.0.0.1:${other.port}`),
          );
        });
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    // The target is 5 s; asserted with slack for a loaded 2-core CI machine (the bench measures it exactly).
    expect(ms).toBeLessThan(30_000);
    const listed = (await request(`${nodes[3]!.url}/known_node_request`)).body as Array<
      Record<string, unknown>
    >;
    for (const peer of listed) {
      expect(peer).toEqual({
        hostname: expect.any(String),
        nodeId: expect.stringMatching(/^[0-9a-f]{32}$/),
        lastSeen: expect.any(Number),
      });
    }
  });

  it('a block generated on one node reaches every node', async () => {
    const res = await admin(nodes[4]!, '/admin/generate', { count: 1 });
    expect(res.status).toBe(200);
    const [hash] = res.body.hashes as string[];
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    await waitFor(
      'block on every node',
      async () => (await Promise.all(nodes.map(info))).every((i) => i.tipHash === hash),
      {
        timeoutMs: 30_000,
        intervalMs: 50,
      },
    );
    // At the default log level, every other node says once that it took the block, and from where.
    for (const n of nodes.filter((_, i) => i !== 4)) {
      await waitFor(`${n.name} logged the block`, () => {
        const accepted = n.output
          .split('\n')
          .flatMap((line) => {
            try {
              return [JSON.parse(line) as Record<string, unknown>];
            } catch {
              return []; // a line still being written, or cut off at the start of the kept output
            }
          })
          .filter((l) => l.message === 'block accepted' && l.hash === hash);
        return accepted.length === 1 && ['peer', 'sync'].includes(String(accepted[0]!.source));
      });
    }
  });

  it('each node keeps its peers in $DATA_DIR/peers.json', async () => {
    await waitFor('peer books written', () =>
      nodes.every((n) => {
        try {
          const text = readFileSync(join(n.dataDir, 'peers.json'), 'utf8');
          return nodes.filter((o) => o !== n).every((o) => text.includes(`127.0.0.1:${o.port}`));
        } catch {
          return false;
        }
      }),
    );
  });

  it('reports itself in /info and is ready', async () => {
    const i = await info(nodes[1]!);
    expect(i).toMatchObject({
      network: expect.stringMatching(/^[0-9a-f]{64}$/),
      syncing: false,
      peers: expect.any(Number),
    });
    expect(i.knownPeers).toBeGreaterThanOrEqual(9);
    expect((await request(`${nodes[1]!.url}/readyz`)).status).toBe(200);
  });
});

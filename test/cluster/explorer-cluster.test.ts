import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advertisePeer } from '../helpers/explorer-fixtures.js';
import {
  admin,
  cleanup,
  freePort,
  info,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

/**
 * A peer that passes the handshake on this network (so the peer book tries it,
 * as it would a real node), then answers /info with what the test wants it to
 * claim (another network, a tip on a branch of its own, another node's id) and
 * 404 to everything else, as a misconfigured or lying node would.
 */
async function claimingPeer(
  handshake: { nodeId: string; network: string },
  claim: (port: number) => object | string,
): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/new_node_advertisement') {
      req.resume();
      const reply = {
        accepted: true,
        ...handshake,
        height: 0,
        tipHash: '00'.repeat(32),
        chainWork: '0',
        peers: [],
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
      return;
    }
    if (req.method === 'GET' && req.url === '/info') {
      const body = claim(port);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port };
}

/** The cluster table of a node's home page as rows of cell texts. */
async function clusterRows(node: NodeProcess): Promise<Array<{ flagged: boolean; cells: string[] }>> {
  const res = await fetch(`${node.url}/`, { signal: AbortSignal.timeout(30_000) });
  const body = await res.text();
  const table = /<table id="cluster-table">([\s\S]*?)<\/table>/.exec(body)?.[1] ?? '';
  const rows = [...table.matchAll(/<tr class="(flag)?">([\s\S]*?)<\/tr>/g)];
  return rows.map((m) => ({
    flagged: m[1] === 'flag',
    cells: [...(m[2] as string).matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) =>
      (c[1] as string)
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  }));
}

/** Issue 14: one node's page lists every node it knows with height and tip, and flags those that disagree. */
describe('explorer cluster view', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  const liars: Server[] = [];
  let network: string;

  beforeAll(async () => {
    const seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
    nodes.push(seed);
    for (const name of ['n1', 'n2']) {
      nodes.push(await startNode({ name, dataDir: join(dir, name), seeds: [`127.0.0.1:${seed.port}`] }));
    }
    network = (await info(seed)).network;
    await admin(seed, '/admin/generate', { count: 2 });
    await waitFor('all three nodes on one tip', async () => {
      const tips = new Set((await Promise.all(nodes.map(info))).map((i) => i.tipHash));
      return tips.size === 1;
    });
  });

  afterAll(async () => {
    await stopAll(nodes);
    for (const s of liars) s.close();
    cleanup(dir);
  });

  it('shows every node with its height and tip, all agreeing', async () => {
    const tip = await info(nodes[0]!);
    await waitFor('three agreeing rows', async () => {
      const rows = await clusterRows(nodes[0]!);
      return (
        rows.length === 3 &&
        rows.every(
          (r) => !r.flagged && r.cells[2] === String(tip.height) && /same tip|this node/.test(r.cells[4]!),
        )
      );
    });
    const hosts = (await clusterRows(nodes[0]!)).map((r) => r.cells[0]);
    expect(hosts.sort()).toEqual(
      nodes.map((n, i) => `127.0.0.1:${n.port}${i === 0 ? ' (this node)' : ''}`).sort(),
    );
  });

  it('flags nodes on another network, on another branch or answering with another identity', async () => {
    const seed = nodes[0]!;
    const tip = await info(seed);
    const otherNetwork = await claimingPeer({ nodeId: '11'.repeat(16), network }, () => ({
      nodeId: '11'.repeat(16),
      network: 'ee'.repeat(32),
      height: tip.height,
      tipHash: tip.tipHash,
    }));
    const otherBranch = await claimingPeer({ nodeId: '22'.repeat(16), network }, () => ({
      nodeId: '22'.repeat(16),
      network,
      height: 1,
      tipHash: 'aa'.repeat(32),
    }));
    const otherNode = await claimingPeer({ nodeId: '33'.repeat(16), network }, () => ({
      nodeId: '44'.repeat(16),
      network,
      height: tip.height,
      tipHash: tip.tipHash,
    }));
    liars.push(otherNetwork.server, otherBranch.server, otherNode.server);
    for (const [peer, id] of [
      [otherNetwork, '11'],
      [otherBranch, '22'],
      [otherNode, '33'],
    ] as const) {
      expect((await advertisePeer(seed, `127.0.0.1:${peer.port}`, id.repeat(16))).status).toBe(200);
    }
    const expected = new Map([
      [`127.0.0.1:${otherNetwork.port}`, /on network eeee/],
      [`127.0.0.1:${otherBranch.port}`, /tip not on this node’s chain/],
      [`127.0.0.1:${otherNode.port}`, /node 444444444444 answers there/],
    ]);
    let last: Awaited<ReturnType<typeof clusterRows>> = [];
    await waitFor(
      'the three liars flagged',
      async () => {
        last = await clusterRows(seed);
        return [...expected].every(([host, detail]) =>
          last.some((r) => r.cells[0] === host && r.flagged && detail.test(r.cells[4]!)),
        );
      },
      { timeoutMs: 30_000, describe: async () => JSON.stringify(last) },
    );
    const page = await (await fetch(`${seed.url}/`)).text();
    expect(page).toMatch(/3 of \d+ reachable nodes disagree with this node/);
    // The honest nodes stay unflagged.
    expect(last.filter((r) => !r.flagged).map((r) => r.cells[4])).toEqual(
      expect.arrayContaining(['this node', 'same tip', 'same tip']),
    );
  });

  it('a peer answering garbage or a 5 MB body is shown as such, and the node keeps serving', async () => {
    const seed = nodes[0]!;
    const garbage = await claimingPeer({ nodeId: '55'.repeat(16), network }, () => '<html>not json</html>');
    const huge = await claimingPeer(
      { nodeId: '66'.repeat(16), network },
      () => `{"nodeId":"${' '.repeat(5_000_000)}"}`,
    );
    liars.push(garbage.server, huge.server);
    expect((await advertisePeer(seed, `127.0.0.1:${garbage.port}`, '55'.repeat(16))).status).toBe(200);
    expect((await advertisePeer(seed, `127.0.0.1:${huge.port}`, '66'.repeat(16))).status).toBe(200);
    let rows: Awaited<ReturnType<typeof clusterRows>> = [];
    await waitFor(
      'garbage and a huge answer reported',
      async () => {
        rows = await clusterRows(seed);
        const detail = (port: number) => rows.find((r) => r.cells[0] === `127.0.0.1:${port}`)?.cells[4];
        return (
          detail(garbage.port) === 'answered something other than /info' &&
          detail(huge.port) === 'answer too large'
        );
      },
      { timeoutMs: 30_000, describe: async () => JSON.stringify(rows) },
    );
    expect((await fetch(`${seed.url}/healthz`)).status).toBe(200);
  });

  it('shows a node that stopped as not reachable', async () => {
    const gone = nodes[2]!;
    await stopNode(gone, 'SIGKILL');
    await waitFor(
      'the stopped node shown unreachable',
      async () =>
        (await clusterRows(nodes[0]!)).some(
          (r) => r.cells[0] === `127.0.0.1:${gone.port}` && r.cells[4] === 'not reachable',
        ),
      { timeoutMs: 30_000 },
    );
  });
});

import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAIN,
  admin,
  cleanup,
  freePort,
  freePortBlock,
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

/** The real CLI, run asynchronously so the nodes of this process keep answering meanwhile. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

async function peerIds(node: NodeProcess): Promise<string[]> {
  return ((await request(`${node.url}/peers`)).body as Array<{ nodeId: string }>).map((p) => p.nodeId);
}

/** Issue 14: `chainmesh status` is a readable table of a node and every node it knows. */
describe('chainmesh status against a cluster that disagrees', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  let seed: NodeProcess;
  let follower: NodeProcess;
  let forked: NodeProcess;
  let gone: NodeProcess;

  beforeAll(async () => {
    const base = await freePortBlock(4);
    seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed'), port: base });
    nodes.push(seed);
    await admin(seed, '/admin/generate', { count: 1 });
    follower = await startNode({
      name: 'follower',
      dataDir: join(dir, 'follower'),
      port: base + 1,
      seeds: [seed.url.slice(7)],
    });
    nodes.push(follower);
    // A node with a block of its own at the same height: equal work, so neither side switches.
    forked = await startNode({ name: 'forked', dataDir: join(dir, 'forked'), port: base + 2 });
    nodes.push(forked);
    await admin(forked, '/admin/generate', { count: 1 });
    forked = await restartNode(forked, { SEED_HOSTS: seed.url.slice(7) });
    nodes.push(forked);
    gone = await startNode({
      name: 'gone',
      dataDir: join(dir, 'gone'),
      port: base + 3,
      seeds: [seed.url.slice(7)],
    });
    nodes.push(gone);
    const ids = await Promise.all(
      [follower, forked, gone].map(async (n) => (await info(n)).nodeId as string),
    );
    await waitFor('the seed knows the three others', async () => {
      const known = await peerIds(seed);
      return ids.every((id) => known.includes(id));
    });
    await waitFor('the follower has the seed block', async () => (await info(follower)).height === 1);
    await stopNode(gone);
  }, 120_000);

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('prints the node, network by name, and every node with height and tip, flagging disagreement', async () => {
    const res = await cli(['status', '--url', seed.url]);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const seedInfo = await info(seed);
    const forkedInfo = await info(forked);
    expect(forkedInfo.tipHash).not.toBe(seedInfo.tipHash);
    expect(res.stdout).toMatch(/^network {5}regtest$/m);
    expect(res.stdout).toMatch(/^height {6}1$/m);
    expect(res.stdout).toContain(`tip         ${seedInfo.tipHash as string}`);
    expect(res.stdout).toMatch(/^chain work {2}4 hashes expected \(0x4\)$/m);
    expect(res.stdout).toMatch(/^mempool {5}0 transactions, 0 bytes$/m);
    const row = (n: NodeProcess) =>
      res.stdout.split('\n').find((l) => /^[0-9a-f]{8}/.test(l) && l.includes(`127.0.0.1:${n.port} `)) ?? '';
    expect(row(seed)).toMatch(/\* +127\.0\.0\.1:\d+ +1 +[0-9a-f]{16} +ok$/);
    expect(row(follower)).toContain(`1       ${(seedInfo.tipHash as string).slice(0, 16)}  ok`);
    expect(row(forked)).toContain(
      `1       ${(forkedInfo.tipHash as string).slice(0, 16)}  FORKED: another tip at the same height`,
    );
    expect(row(gone)).toMatch(/\d+\? +- +UNREACHABLE: not reachable from here: ECONNREFUSED$/);
    expect(res.stdout).toContain('DISAGREEMENT: 2 distinct tips; 2 of 3 nodes on this node');
  });

  it('--json gives the same for scripts, and SEED_PORT is the default node', async () => {
    const res = await cli(['status', '--json'], { SEED_PORT: String(seed.port) });
    expect(res.status).toBe(0);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({ url: seed.url, network: 'regtest', distinctTips: 2, info: { height: 1 } });
    const states = Object.fromEntries(
      (status.nodes as Array<{ address: string; state: string; source: string }>).map((n) => [
        n.address,
        `${n.source} ${n.state}`,
      ]),
    );
    expect(states).toEqual({
      [`127.0.0.1:${seed.port}`]: 'self ok',
      [`127.0.0.1:${follower.port}`]: 'asked ok',
      [`127.0.0.1:${forked.port}`]: 'asked forked',
      [`127.0.0.1:${gone.port}`]: 'peer-book unreachable',
    });
  });
});

describe('chainmesh status: bad input and nodes that do not answer', () => {
  const servers: Array<Server | HttpServer> = [];
  /** Sockets nobody reads never see their end: destroyed so that close() can finish. */
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const s of servers) {
      if ('closeAllConnections' in s) s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it.each(['abc', '0', '70000', '3000x'])('SEED_PORT=%s: one line, exit 2', async (value) => {
    const res = await cli(['status'], { SEED_PORT: value });
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([
      `error: SEED_PORT=${JSON.stringify(value)}: expected a TCP port 1-65535`,
    ]);
  });

  it.each([['--url'], ['--url', 'localhost:3000'], ['--json', 'extra'], ['--bogus']])(
    'status %s: one line, exit 2',
    async (...args) => {
      const res = await cli(['status', ...args]);
      expect(res.status).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/^error: /);
    },
  );

  it('a port nobody listens on: the URL and connection refused', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await cli(['status', '--url', url]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      `chainmesh: cannot reach ${url}/info: connection refused: no process listens there (is the node running, on that port?) (ECONNREFUSED)`,
    ]);
  });

  it('a host name that does not resolve: the name and the DNS error', async () => {
    const res = await cli(['status', '--url', 'http://no-such-host.invalid:3000']);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^chainmesh: cannot reach http:\/\/no-such-host\.invalid:3000\/info: "no-such-host\.invalid": the host name (does not resolve|could not be resolved now \(DNS lookup failed\)) \((ENOTFOUND|EAI_AGAIN)\)$/,
      ),
    ]);
  });

  it('a server that accepts and never answers: a timeout, named', async () => {
    const server = createServer((socket) => void sockets.push(socket));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const res = await cli(['status', '--url', `http://127.0.0.1:${port}`]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      `chainmesh: cannot reach http://127.0.0.1:${port}/info: no answer within 5 s (timeout)`,
    ]);
  }, 30_000);

  it('something else answering HTTP: not a chainmesh node', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/info') res.end('<html>hello</html>');
      else res.end('{}');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const res = await cli(['status', '--url', url]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim()).toBe(
      `chainmesh: ${url}/info answered with something that is not JSON (is it a chainmesh node?): "<html>hello</html>"`,
    );
  });
});

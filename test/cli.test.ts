import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAIN,
  admin,
  cleanup,
  freePortBlock,
  request,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from './helpers/processes.js';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Issue 3: the `chainmesh` command. */
describe('chainmesh cluster', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  it('starts a seed and N nodes that find each other, shows them, and stops them all on Ctrl-C', async () => {
    const basePort = await freePortBlock(4);
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'cluster',
        '--nodes',
        '3',
        '--base-port',
        String(basePort),
        '--network',
        'regtest',
        '--no-mine',
        '--data-dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ports = [0, 1, 2, 3].map((i) => basePort + i);
    try {
      await waitFor('every cluster node knows the 3 others', async () => {
        const lists = await Promise.all(
          ports.map((p) => request(`http://127.0.0.1:${p}/known_node_request`).catch(() => undefined)),
        );
        return lists.every((l) => l?.status === 200 && (l.body as unknown[]).length === 3);
      });
      await waitFor('a table with every node', () => /node-3\s+\d+\s+0\s+[0-9a-f]{16}\s+3\s+3/.test(output), {
        timeoutMs: 30_000,
      });
      expect(output).toContain('distinct tips: 1');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('all nodes stopped');
    for (const p of ports)
      expect((await request(`http://127.0.0.1:${p}/healthz`).catch(() => undefined))?.status).toBeUndefined();
  });
});

describe('chainmesh wallet and status', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('creates a key, pays from it through a node, and shows the node status', async () => {
    const node = await startNode({ name: 'wallet', dataDir: join(dir, 'n') });
    nodes.push(node);
    const created = cli(['wallet', 'new', '--network', 'regtest']);
    expect(created.status).toBe(0);
    const key = JSON.parse(created.stdout) as { privateKey: string; address: string };
    expect(key.privateKey).toMatch(/^[0-9a-f]{64}$/);
    const other = JSON.parse(cli(['wallet', 'new', '--network', 'regtest']).stdout) as { address: string };
    await admin(node, '/admin/generate', { count: 12, address: key.address });

    const sent = cli([
      'wallet',
      'send',
      '--key',
      key.privateKey,
      '--to',
      other.address,
      '--amount',
      '150000',
      '--url',
      node.url,
    ]);
    expect(sent.stderr).toBe('');
    const { txid } = JSON.parse(sent.stdout) as { txid: string };
    expect((await request(`${node.url}/transactions/${txid}`)).body.status).toBe('mempool');
    await admin(node, '/admin/generate', { count: 1 });
    expect((await request(`${node.url}/address/${other.address}/balance`)).body.confirmed).toBe('150000');

    const status = cli(['status', '--url', node.url]);
    expect(JSON.parse(status.stdout)).toMatchObject({ height: 13, networkName: 'regtest' });
  });

  it('refuses a float amount and a bad key with a clear message', () => {
    const float = cli(['wallet', 'send', '--key', '11'.repeat(32), '--to', 'x', '--amount', '1.5']);
    expect(float.status).not.toBe(0);
    expect(float.stderr).toContain('integer number of base units');
    const badKey = cli([
      'wallet',
      'send',
      '--key',
      '00'.repeat(32),
      '--to',
      'x',
      '--amount',
      '1',
      '--url',
      nodes[0]!.url,
    ]);
    expect(badKey.status).toBe(1);
    expect(badKey.stderr).toContain('not a valid secp256k1 private key');
  });
});

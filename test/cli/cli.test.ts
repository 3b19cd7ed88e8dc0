import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork } from '../../src/core/index.js';
import {
  MAIN,
  cleanup,
  freePort,
  freePortBlock,
  request,
  startNode,
  stopAll,
  tempDir,
  waitFor,
} from '../helpers/processes.js';

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

describe('chainmesh cluster at a size beyond a row per node', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  it('starts 17 processes staggered, summarises the live table, and stops them all', async () => {
    const nodes = 16;
    const basePort = await freePortBlock(nodes + 1);
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'cluster',
        '--nodes',
        String(nodes),
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
    try {
      // Staggered: the table reports processes not started yet before all of them run.
      await waitFor(
        'a summary line saying every process is up',
        () => /17 of 17 processes started: 17 ok/.test(output),
        {
          timeoutMs: 150_000,
        },
      );
      expect(output).toMatch(/of 17 processes not started yet \(staggered start-up\)/);
      expect(output).toMatch(/min\/median\/max {2}height 0\/0\/0 {2}peers \d+\/\d+\/\d+/);
      expect(output).not.toMatch(/^node-16 /m); // no row per node
      const summaries = output.split('\n').filter((l) => l.startsWith('distinct tips: '));
      expect(summaries.at(-1)).toMatch(/^distinct tips: 1 {2}\(17 nodes on [0-9a-f]{16}\)/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('all nodes stopped');
    const answers = await Promise.all(
      Array.from({ length: nodes + 1 }, (_, i) =>
        request(`http://127.0.0.1:${basePort + i}/healthz`).catch(() => undefined),
      ),
    );
    expect(answers.filter((a) => a !== undefined)).toEqual([]);
  });
});

/** A usage error is exit code 2 and one line naming the argument and what is expected. */
describe('chainmesh arguments', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  it.each(['0', 'abc', '1000', '-3', '2.5'])('cluster --nodes %s', (value) => {
    const dataDir = join(dir, `nodes-${value}`);
    const res = cli(['cluster', '--nodes', value, '--data-dir', dataDir, '--duration', '1']);
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([
      `error: option '-n, --nodes <n>' argument '${value}' is invalid. expected an integer 1-200`,
    ]);
    expect(existsSync(dataDir)).toBe(false); // nothing started
  });

  const never = join(dir, 'never');
  it.each(
    [
      ['cluster', '--base-port', '70000', '--data-dir', never],
      ['cluster', '--intensity', '0', '--data-dir', never],
      ['cluster', '--network', 'mainnet', '--data-dir', never],
      ['cluster', '--bogus', '--data-dir', never],
      ['cluster', '--miner-address', 'abc', '--data-dir', never],
      // ADMIN_TOKEN's rule, checked before any process starts rather than when the first child exits
      ['cluster', '--admin-token', 'short', '--data-dir', never],
      ['cluster', '--admin-token', 'has a space', '--data-dir', never],
      [
        'cluster',
        '--network',
        'regtest',
        '--miner-address',
        '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2',
        '--data-dir',
        never,
      ],
      ['status', '--url', 'not-a-url'],
      ['status', '--url', 'ftp://127.0.0.1:3000'],
      ['status', 'extra'],
      ['no-such-command'],
    ].map((args) => [args.join(' '), args] as const),
  )('%s', (_, args) => {
    const res = cli(args);
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^error: /);
    expect(existsSync(never)).toBe(false);
  });

  it('cluster with a malformed SEED_PORT: one line naming it, exit 2, nothing started', () => {
    const dataDir = join(dir, 'bad-seed-port');
    const res = spawnSync(process.execPath, [MAIN, 'cluster', '--data-dir', dataDir, '--duration', '1'], {
      encoding: 'utf8',
      env: { ...process.env, SEED_PORT: '30x0' },
    });
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual(['error: SEED_PORT="30x0": expected a TCP port 1-65535']);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('status of a node that does not answer: exit 1 and one line naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = cli(['status', '--url', url]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringContaining(`cannot reach ${url}/info`)]);
  });

  it('cluster --data-dir that is a file: exit 2 naming it', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const res = cli(['cluster', '--nodes', '1', '--data-dir', file, '--duration', '1']);
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`--data-dir "${file}": expected a directory`),
    ]);
  });

  it('cluster on a port block another process uses: one line naming the port, exit 2, nothing started', async () => {
    const basePort = await freePortBlock(2);
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => server.listen(basePort + 1, '127.0.0.1', r));
    const dataDir = join(dir, 'busy');
    try {
      const res = cli([
        'cluster',
        '--nodes',
        '1',
        '--base-port',
        String(basePort),
        '--network',
        'regtest',
        '--no-mine',
        '--data-dir',
        dataDir,
        '--duration',
        '30',
      ]);
      expect(res.status).toBe(2);
      expect(res.stderr.trim().split('\n')).toEqual([
        `chainmesh cluster: port ${basePort + 1} (node-1) is in use by another process; nothing started: ` +
          'stop it or choose other ports (--base-port, SEED_PORT, or BASE_PORT with make cluster)',
      ]);
      expect(res.stdout).toBe('');
      expect(existsSync(dataDir)).toBe(false);
      expect(
        (await request(`http://127.0.0.1:${basePort}/healthz`).catch(() => undefined))?.status,
      ).toBeUndefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('cluster where a chainmesh node already answers: never shown as its own, named, exit 2', async () => {
    const basePort = await freePortBlock(3);
    const stranger = await startNode({
      name: 'stranger',
      dataDir: join(dir, 'stranger'),
      port: basePort + 2,
    });
    try {
      const strangerId = (await request(`${stranger.url}/info`)).body.nodeId as string;
      const res = cli([
        'cluster',
        '--nodes',
        '2',
        '--base-port',
        String(basePort),
        '--network',
        'regtest',
        '--data-dir',
        join(dir, 'stranger-cluster'),
        '--duration',
        '30',
      ]);
      expect(res.status).toBe(2);
      expect(res.stdout).not.toMatch(/node-2\s+\d+\s+\d+/);
      expect(res.stderr.trim().split('\n')).toEqual([
        `chainmesh cluster: port ${basePort + 2} (node-2) is in use by another process (chainmesh node ${strangerId.slice(0, 8)} ` +
          'of network regtest answers there: a cluster still running?); nothing started: ' +
          'stop it or choose other ports (--base-port, SEED_PORT, or BASE_PORT with make cluster)',
      ]);
    } finally {
      await stopAll([stranger]);
    }
  });

  it('cluster --duration: exit 0 once every node was up as itself; miners pay --miner-address', async () => {
    const basePort = await freePortBlock(2);
    const payee = { address: encodeAddress(new Uint8Array(20).fill(0x5a), getNetwork('regtest')) };
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'cluster',
        '--nodes',
        '1',
        '--network',
        'regtest',
        '--intensity',
        '1',
        '--miner-address',
        payee.address,
        '--data-dir',
        join(dir, 'timed'),
        '--duration',
        '25',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SEED_PORT: String(basePort) } },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(
      'a block paying --miner-address',
      async () => {
        const res = await request(`http://127.0.0.1:${basePort}/address/${payee.address}/balance`).catch(
          () => undefined,
        );
        return res?.status === 200 && BigInt(res.body.immature ?? '0') + BigInt(res.body.confirmed) > 0n;
      },
      { timeoutMs: 25_000 },
    );
    expect(await exited).toBe(0);
    expect(output).toMatch(/^node-1 +\d+ +\d+ +[0-9a-f]{16} .* (ok|syncing) *$/m);
  }, 60_000);
});

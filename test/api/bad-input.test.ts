import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork } from '../../src/core/index.js';
import {
  ADMIN_TOKEN,
  MAIN,
  cleanup,
  freePort,
  info,
  request,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  type NodeProcess,
} from '../helpers/processes.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const demoAddress = encodeAddress(new Uint8Array(20).fill(7), getNetwork('demo'));
const regtestAddress = encodeAddress(new Uint8Array(20).fill(7), getNetwork('regtest'));

type Case = [
  string,
  string,
  { body?: unknown; rawBody?: string; headers?: Record<string, string> },
  number,
  string?,
];

/** Issue 3: bad input on every route gets a clear 4xx and changes nothing. */
describe('bad input', () => {
  const dir = tempDir();
  let node: NodeProcess;
  let noAdmin: NodeProcess;
  let before: any;

  beforeAll(async () => {
    node = await startNode({ name: 'api', dataDir: join(dir, 'api') });
    noAdmin = await startNode({ name: 'no-admin', dataDir: join(dir, 'no-admin'), env: { ADMIN_TOKEN: '' } });
    await request(`${node.url}/admin/generate`, { body: { count: 2 }, headers: auth });
    before = await info(node);
  });

  afterAll(async () => {
    await stopAll([node, noAdmin]);
    cleanup(dir);
  });

  const cases: Case[] = [
    ['GET', '/no/such/route', {}, 404, 'not-found'],
    ['POST', '/block', { rawBody: '{"block": ' }, 400, 'bad-request'],
    ['POST', '/block', { body: { block: 'zz' } }, 400, 'bad-request'],
    ['POST', '/block', { body: { block: '00' } }, 400],
    ['POST', '/block', { body: { block: 'ab', extra: 1 } }, 400, 'bad-request'],
    ['POST', '/block', { body: { block: 12 } }, 400, 'bad-request'],
    ['POST', '/block', { body: { block: '00'.repeat(80) + '00' } }, 400],
    [
      'POST',
      '/block',
      { rawBody: JSON.stringify({ block: 'ab'.repeat(3_000_000) }) },
      413,
      'payload-too-large',
    ],
    ['POST', '/cmpctblock', { rawBody: '{"cmpctblock": ' }, 400, 'bad-request'],
    ['POST', '/cmpctblock', { body: { cmpctblock: 'zz' } }, 400, 'bad-request'],
    ['POST', '/cmpctblock', { body: { cmpctblock: 'ab', extra: 1 } }, 400, 'bad-request'],
    ['POST', '/cmpctblock', { body: { cmpctblock: '00'.repeat(79) } }, 400, 'bad-encoding-truncated'],
    ['POST', '/cmpctblock', { body: { cmpctblock: '00'.repeat(88) + '0000' } }, 400, 'bad-cmpct-empty'],
    ['POST', '/getblocktxn', { body: { getblocktxn: 12 } }, 400, 'bad-request'],
    ['POST', '/getblocktxn', { body: { getblocktxn: '00'.repeat(31) } }, 400, 'bad-encoding-truncated'],
    ['POST', '/getblocktxn', { body: { getblocktxn: '00'.repeat(32) + '0100' } }, 404, 'not-found'],
    ['POST', '/transactions', { body: { tx: 'abc' } }, 400, 'bad-request'],
    ['POST', '/transactions', { body: { tx: '0100000000' } }, 400],
    ['POST', '/transactions', { body: { txs: [] } }, 400, 'bad-request'],
    ['POST', '/transactions', { body: { txs: Array(1001).fill('00') } }, 400, 'bad-request'],
    ['POST', '/transactions', { body: { txs: ['01000000', 'zz'] } }, 400],
    ['POST', '/transactions', { body: [] }, 400, 'bad-request'],
    ['GET', '/transactions/xyz', {}, 400, 'bad-request'],
    ['GET', `/transactions/${'0'.repeat(64)}`, {}, 404, 'not-found'],
    ['GET', '/utxo/not-an-address', {}, 400, 'bad-request'],
    ['GET', `/utxo/${demoAddress}`, {}, 400, 'bad-address-network'],
    ['GET', `/address/${demoAddress}/balance`, {}, 400, 'bad-address-network'],
    ['GET', `/address/${demoAddress}/history`, {}, 400, 'bad-address-network'],
    ['GET', '/address/not-an-address/history', {}, 400, 'bad-request'],
    ['GET', `/address/${regtestAddress}/history?limit=51`, {}, 400, 'bad-request'],
    ['GET', `/address/${regtestAddress}/history?limit=-1`, {}, 400, 'bad-request'],
    ['GET', `/address/${regtestAddress}/history?offset=10001`, {}, 400, 'bad-request'],
    ['GET', `/address/${regtestAddress}/history?offset=abc`, {}, 400, 'bad-request'],
    ['GET', '/block/99999', {}, 404, 'not-found'],
    ['GET', `/block/${'ab'.repeat(32)}`, {}, 404, 'not-found'],
    ['GET', '/block/zz', {}, 400, 'bad-request'],
    ['GET', '/block?limit=-1', {}, 400, 'bad-request'],
    ['GET', '/block?limit=abc', {}, 400, 'bad-request'],
    ['GET', '/block?limit=100000', {}, 400, 'bad-request'],
    ['GET', '/block?limit=51', {}, 400, 'bad-request'],
    ['GET', '/mempool?limit=abc', {}, 400, 'bad-request'],
    ['POST', '/new_node_advertisement', { body: {} }, 400, 'bad-request'],
    [
      'POST',
      '/new_node_advertisement',
      { body: { hostname: '127.0.0.1:1', nodeId: 'a'.repeat(32), network: 'b'.repeat(64) } },
      409,
      'peer-wrong-network',
    ],
    [
      'POST',
      '/new_node_advertisement',
      { body: { hostname: 'x', nodeId: 'nope', network: 'b' } },
      400,
      'bad-request',
    ],
    [
      'GET',
      '/known_node_request',
      { headers: { 'x-chainmesh-network': 'c'.repeat(64) } },
      409,
      'peer-wrong-network',
    ],
    ['POST', '/sync/blocks', { body: { locator: [] } }, 400, 'bad-request'],
    ['POST', '/sync/blocks', { body: { locator: ['zz'] } }, 400, 'bad-request'],
    ['POST', '/sync/blocks', { body: { locator: ['a'.repeat(64)], limit: 501 } }, 400, 'bad-request'],
    ['POST', '/admin/generate', { body: { count: 1 } }, 401, 'unauthorized'],
    [
      'POST',
      '/admin/generate',
      { body: { count: 1 }, headers: { authorization: 'Bearer wrong-token!!' } },
      401,
      'unauthorized',
    ],
    ['POST', '/admin/generate', { body: { count: 0 }, headers: auth }, 400, 'bad-request'],
    ['POST', '/admin/generate', { body: { count: 1.5 }, headers: auth }, 400, 'bad-request'],
    ['POST', '/admin/generate', { body: { count: '1' }, headers: auth }, 400, 'bad-request'],
    [
      'POST',
      '/admin/generate',
      { body: { count: 1, address: demoAddress }, headers: auth },
      400,
      'bad-address-network',
    ],
    ['POST', '/admin/generate', { body: { count: 1, address: 'garbage' }, headers: auth }, 400],
    ['POST', '/restart', {}, 401, 'unauthorized'],
  ];

  it.each(cases)('%s %s', async (method, path, opts, status, code) => {
    const res = await request(`${node.url}${path}`, { method, ...opts });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: code ?? expect.any(String), message: expect.any(String) });
  });

  it('admin routes are disabled without ADMIN_TOKEN', async () => {
    const res = await request(`${noAdmin.url}/admin/generate`, { body: { count: 1 }, headers: auth });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('admin-disabled');
  });

  it('a known peer that sends a malformed block is banned and then refused; a claimed id alone is not charged', async () => {
    const network = (await info(node)).network as string;
    const advertise = (nodeId: string, hostname: string) =>
      request(`${node.url}/new_node_advertisement`, { body: { hostname, nodeId, network } });
    // Both peers are known; requests come from 127.0.0.1, which is only the first one's address.
    expect((await advertise('e'.repeat(32), '127.0.0.1:9')).status).toBe(200);
    expect((await advertise('d'.repeat(32), '127.0.0.2:9')).status).toBe(200);
    const framed = { 'x-chainmesh-node-id': 'd'.repeat(32) };
    expect(
      (await request(`${node.url}/block`, { body: { block: '00'.repeat(81) }, headers: framed })).status,
    ).toBe(400);
    expect((await request(`${node.url}/transactions`, { body: { tx: '00' }, headers: framed })).status).toBe(
      400,
    );

    const peer = { 'x-chainmesh-node-id': 'e'.repeat(32) };
    const bad = await request(`${node.url}/block`, { body: { block: '00'.repeat(81) }, headers: peer });
    expect(bad.status).toBe(400);
    const refused = await request(`${node.url}/transactions`, { body: { tx: '00' }, headers: peer });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('peer-banned');
    expect((await request(`${node.url}/metrics`)).body).toMatch(/^chainmesh_p2p_peers_banned_total 1$/m);
    const states = (await request(`${node.url}/peers`)).body as Array<{ nodeId: string; state: string }>;
    expect(states.find((p) => p.nodeId === 'd'.repeat(32))?.state).not.toBe('banned');
  });

  it('leaves the node healthy and its state unchanged', async () => {
    expect((await request(`${node.url}/healthz`)).status).toBe(200);
    const after = await info(node);
    expect(after).toMatchObject({
      height: before.height,
      tipHash: before.tipHash,
      mempool: 0,
    });
    // Only the two peers advertised on purpose (dead addresses: they may already be backed off or dropped).
    expect(after.knownPeers).toBeLessThanOrEqual(2);
    const good = await request(`${node.url}/address/${regtestAddress}/balance`);
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ confirmed: '0', immature: '0' });
  });

  it('counts errors by code in the metrics', async () => {
    const metrics = (await request(`${node.url}/metrics`)).body as string;
    expect(metrics).toMatch(/chainmesh_api_errors_total\{code="bad-request"\} \d+/);
    expect(metrics).toMatch(
      /chainmesh_http_request_duration_seconds_count\{method="GET",route="\/block\/:id",status="404"\} \d+/,
    );
  });
});

/** Runs `chainmesh node` to its end; a node that starts instead is killed by the timeout and fails the test. */
async function runToExit(
  env: Record<string, string>,
): Promise<{ status: number | null; lines: string[]; stdout: string }> {
  const res = spawnSync(process.execPath, [MAIN, 'node'], {
    env: {
      PATH: process.env.PATH ?? '',
      NETWORK: 'regtest',
      BIND_HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_FORMAT: 'json',
      ...env,
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: res.status, lines: res.stderr.trim().split('\n'), stdout: res.stdout };
}

/** Exit code 2 and exactly one line naming the variable, its value and what is expected. */
function expectConfigError(
  res: { status: number | null; lines: string[]; stdout: string },
  name: string,
  value: string,
): void {
  expect(res.lines).toHaveLength(1);
  expect(res.lines[0]).toMatch(/^config error: [A-Z_]+=".*": expected .+/);
  expect(res.lines[0]).toContain(`${name}=${JSON.stringify(value)}: expected `);
  expect(res.stdout).toBe('');
  expect(res.status).toBe(2);
}

describe('configuration errors', () => {
  it.each([
    ['PORT', 'eighty'],
    ['NETWORK', 'mainnet'],
    ['SEED_HOSTS', 'seed'],
  ])('%s=%s stops the process with exit code 2 and one line naming it', (name, value) => {
    const res = spawnSync(process.execPath, [MAIN, 'node'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: tempDir(), [name]: value },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${name}=`);
    expect(lines[0]).toContain('expected');
  });

  it('a MINER_ADDRESS of another network is a configuration error', () => {
    const res = spawnSync(process.execPath, [MAIN, 'node'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATA_DIR: tempDir(),
        NETWORK: 'regtest',
        MINER_ADDRESS: demoAddress,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('MINER_ADDRESS=');
  });

  describe('values that are well-formed but unusable here', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const isRoot = process.getuid?.() === 0;
    let listener: Server | undefined;

    afterAll(async () => {
      if (listener) await new Promise((r) => listener?.close(r));
      chmodSync(dir, 0o755);
      cleanup(dir);
    });

    it('DATA_DIR that is a file', async () => {
      expectConfigError(await runToExit({ DATA_DIR: file }), 'DATA_DIR', file);
    });

    it('DATA_DIR below a file', async () => {
      const below = join(file, 'data');
      expectConfigError(await runToExit({ DATA_DIR: below }), 'DATA_DIR', below);
    });

    it(`DATA_DIR this user cannot write (${isRoot ? 'as root: a path under a regular file' : 'a 0555 directory'})`, async () => {
      if (isRoot) {
        // root writes through any mode bits; a path through a file fails for root too.
        const target = join(file, 'sub', 'data');
        expectConfigError(await runToExit({ DATA_DIR: target }), 'DATA_DIR', target);
        return;
      }
      const readOnly = join(dir, 'read-only');
      mkdirSync(readOnly);
      chmodSync(readOnly, 0o555);
      expectConfigError(await runToExit({ DATA_DIR: readOnly }), 'DATA_DIR', readOnly);
      const inside = join(readOnly, 'data');
      expectConfigError(await runToExit({ DATA_DIR: inside }), 'DATA_DIR', inside);
    });

    it('PORT another process listens on', async () => {
      const server = createServer();
      listener = server;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = String((server.address() as { port: number }).port);
      const res = await runToExit({ DATA_DIR: join(dir, 'port'), PORT: port });
      expectConfigError(res, 'PORT', port);
      expect(res.lines[0]).toContain('in use');
    });

    it('BIND_HOST that is not an address of this machine (TEST-NET-1; binding fails locally, nothing is sent)', async () => {
      const res = await runToExit({ DATA_DIR: join(dir, 'bind'), BIND_HOST: '192.0.2.1' });
      expectConfigError(res, 'BIND_HOST', '192.0.2.1');
      expect(res.lines[0]).toContain('not available');
    });

    it("DATA_DIR in use by a running node, then holding another network's chain", async () => {
      const shared = join(dir, 'shared');
      const running = await startNode({ name: 'holder', dataDir: shared });
      try {
        expectConfigError(await runToExit({ DATA_DIR: shared }), 'DATA_DIR', shared);
      } finally {
        await stopNode(running);
      }
      expect(running.exitCode).toBe(0);
      const other = await runToExit({ DATA_DIR: shared, NETWORK: 'demo' });
      expectConfigError(other, 'NETWORK', 'demo');
      expect(other.lines[0]).toContain(shared);
    });
  });
});

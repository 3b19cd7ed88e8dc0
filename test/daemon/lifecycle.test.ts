import { createServer } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  cleanup,
  info,
  request,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

/** Issue 3: restart through the API, and graceful stop. */
describe('node lifecycle', () => {
  const dir = tempDir();
  let node: NodeProcess;

  beforeAll(async () => {
    node = await startNode({ name: 'lifecycle', dataDir: join(dir, 'n') });
  });

  afterAll(async () => {
    await stopAll([node]);
    cleanup(dir);
  });

  it('POST /restart stops the node and starts it again from its data dir, same identity and chain', async () => {
    await admin(node, '/admin/generate', { count: 3 });
    const before = await info(node);
    const res = await admin(node, '/restart', {});
    expect(res.status).toBe(202);
    await waitFor(
      'the restart to be logged',
      () => node.output.split('"message":"node started"').length > 2,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor(
      'answering again',
      async () => (await request(`${node.url}/healthz`).catch(() => ({ status: 0 }))).status === 200,
    );
    const after = await info(node);
    expect(after).toMatchObject({ nodeId: before.nodeId, height: before.height, tipHash: before.tipHash });
    expect(node.exitCode).toBeNull();
  });

  it('a height a peer volunteers but never delivers does not keep the node from being ready', async () => {
    // The liar answers sync politely with nothing, so its claim is never disproved by a failure.
    const liar = createServer((req, res) => {
      req.resume();
      const body = req.url === '/sync/blocks' ? { blocks: [], more: false } : {};
      res
        .writeHead(req.url === '/sync/blocks' ? 200 : 404, { 'content-type': 'application/json' })
        .end(JSON.stringify(body));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const network = (await info(node)).network as string;
      const claim = await request(`${node.url}/new_node_advertisement`, {
        body: {
          hostname: `127.0.0.1:${(liar.address() as AddressInfo).port}`,
          nodeId: 'a'.repeat(32),
          network,
          height: 1_000_000_000,
          chainWork: 'ff'.repeat(20),
        },
      });
      expect(claim.status).toBe(200);
      await waitFor('sync attempt over', async () => !(await info(node)).syncing);
      expect((await request(`${node.url}/readyz`)).body).toMatchObject({ ready: true, bestPeerHeight: null });
    } finally {
      liar.closeAllConnections();
      await new Promise((r) => liar.close(r));
    }
  });

  it('SIGTERM stops it with exit code 0 within 5 s, and the chain survives', async () => {
    const height = (await info(node)).height;
    const { code, ms } = await stopNode(node);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    expect(node.output).toContain('"message":"stopped"');
    node = await startNode({ name: 'lifecycle', dataDir: join(dir, 'n'), port: node.port });
    expect((await info(node)).height).toBe(height);
  });
});

/** The JSON log lines of a node's output (other lines are skipped). */
function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function exited(node: NodeProcess): Promise<number> {
  await waitFor(`${node.name} to exit`, () => node.exitCode !== null, { timeoutMs: 10_000 });
  return node.exitCode as number;
}

/** Every way out of the process leaves a line with the node id and a defined exit code. */
describe('node failures', () => {
  const dir = tempDir();
  // A fault injected into the real process: the node runs unchanged, a signal makes the preloaded code misbehave.
  const faults = join(dir, 'faults.mjs');
  writeFileSync(
    faults,
    [
      "process.on('SIGUSR2', () => { void Promise.reject(new Error('injected rejection')); });",
      "process.on('SIGHUP', () => { setImmediate(() => { throw new Error('injected exception'); }); });",
    ].join('\n'),
  );
  const withFaults = { NODE_OPTIONS: `--import=${pathToFileURL(faults).href}` };
  const nodes: NodeProcess[] = [];

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it.each([
    ['SIGUSR2', 'unhandled promise rejection', 'injected rejection'],
    ['SIGHUP', 'uncaught exception', 'injected exception'],
  ] as const)('%s: an %s is logged with the node id and exits 1', async (signal, message, error) => {
    const node = await startNode({ name: signal, dataDir: join(dir, signal), env: withFaults });
    nodes.push(node);
    const { nodeId } = await info(node);
    node.child.kill(signal);
    expect(await exited(node)).toBe(1);
    const last = jsonLines(node.output).at(-1);
    expect(last).toMatchObject({ level: 'error', message, error, nodeId, exitCode: 1 });
    expect(String(last?.stack)).toContain('faults.mjs');
  });

  it('a restart that cannot start the node again exits with one line naming the setting', async () => {
    const dataDir = join(dir, 'restart');
    const node = await startNode({ name: 'restart', dataDir });
    nodes.push(node);
    const { nodeId } = await info(node);
    // The data dir disappears under the running node and a file takes its place.
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(dataDir, '');
    expect((await admin(node, '/restart', {})).status).toBe(202);
    expect(await exited(node)).toBe(2);
    const last = jsonLines(node.output).at(-1);
    expect(last).toMatchObject({
      level: 'error',
      message: 'restart failed: the node could not start again',
      nodeId,
      exitCode: 2,
    });
    expect(String(last?.error)).toMatch(new RegExp(`^config error: DATA_DIR="${dataDir}": expected `));
  });
});

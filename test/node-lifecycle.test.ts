import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
} from './helpers/processes.js';

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

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  canMountSmallDisk,
  fillDisk,
  freeDisk,
  mountSmallDisk,
  unmountSmallDisk,
} from '../helpers/small-disk.js';
import {
  admin,
  cleanup,
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

const countLines = (node: NodeProcess, message: string) =>
  node.output.split('\n').filter((l) => l.includes(`"message":"${message}`)).length;

/**
 * Issue 13: a node whose disk fills stops accepting blocks cleanly (not ready,
 * one log line, no crash), catches up when space returns, and its store is
 * intact after a SIGKILL. A real tmpfs of 4 MB gives the kernel's ENOSPC.
 */
describe.skipIf(!canMountSmallDisk())('a full disk (needs root to mount a small tmpfs)', () => {
  const dir = tempDir();
  const disk = join(dir, 'small-disk');
  const nodes: NodeProcess[] = [];

  afterAll(async () => {
    await stopAll(nodes);
    unmountSmallDisk(disk);
    cleanup(dir);
  });

  it('is reported on /readyz and in one log line, and the node recovers with its store intact', async () => {
    mountSmallDisk(disk, 4);
    const a = await startNode({ name: 'a', dataDir: join(dir, 'a') });
    nodes.push(a);
    let full = await startNode({ name: 'full', dataDir: join(disk, 'data'), seeds: [`127.0.0.1:${a.port}`] });
    nodes.push(full);
    await admin(a, '/admin/generate', { count: 5 });
    await waitFor('the node follows', async () => (await info(full)).height === 5, { timeoutMs: 30_000 });

    fillDisk(disk);
    // Blocks keep arriving from the peer; the node cannot store them.
    await waitFor(
      '/readyz to say not ready',
      async () => {
        await admin(a, '/admin/generate', { count: 2 });
        const ready = await request(`${full.url}/readyz`);
        return ready.status === 503 && ready.body.checks.store === false;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        describe: async () =>
          `${JSON.stringify((await request(`${full.url}/readyz`)).body)} ${full.output
            .split('\n')
            .filter((l) => /store|failed/.test(l))
            .join('\n')}`,
      },
    );
    const stuckAt = (await info(full)).height;
    const syncStartsBefore = countLines(full, 'sync started');
    for (let i = 0; i < 3; i++) await admin(a, '/admin/generate', { count: 2 });
    // Long enough for the peer's pings to report more work several times (a sync attempt each).
    await new Promise((r) => setTimeout(r, 8000));
    expect((await info(full)).height).toBe(stuckAt);
    // Still serving, and the failure was said once, not once per block.
    expect((await request(`${full.url}/healthz`)).status).toBe(200);
    expect(countLines(full, 'store write failed')).toBe(1);
    expect(countLines(full, 'request failed')).toBe(0);
    expect(countLines(full, 'sync failed')).toBe(0);
    // Nor once per peer-book save or sync attempt: one line when it starts, summaries after.
    expect(countLines(full, 'peer book not saved')).toBeLessThanOrEqual(1);
    expect(countLines(full, 'peer book still not saved')).toBe(0);
    expect(countLines(full, 'sync started') - syncStartsBefore).toBeLessThanOrEqual(1);

    freeDisk(disk);
    await waitFor(
      'the node to catch up once space returns',
      async () => {
        await admin(a, '/admin/generate', { count: 1 });
        const [ia, ib] = await Promise.all([info(a), info(full)]);
        return ia.tipHash === ib.tipHash && (await request(`${full.url}/readyz`)).status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(countLines(full, 'store writable again')).toBe(1);

    // The store survived: after a SIGKILL the node opens it and holds the same chain and coins.
    const before = await info(full);
    await stopNode(full, 'SIGKILL');
    full = await restartNode(full);
    nodes.push(full);
    const after = await info(full);
    expect({ height: after.height, tip: after.tipHash }).toEqual({
      height: before.height,
      tip: before.tipHash,
    });
    expect(after.utxoValue).toBe(before.utxoValue);
    expect(full.exitCode).toBeNull();
  });
});

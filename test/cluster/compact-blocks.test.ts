import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, toHex } from '../../src/core/index.js';
import { fund, post, signSpends } from '../../bench/helpers-tx-load.js';
import {
  admin,
  cleanup,
  info,
  metricSum,
  request,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

/**
 * Issue 12, compact blocks (BIP152) between real node processes: `a` mines,
 * `b` takes compact blocks, `c` runs with COMPACT_BLOCKS=0 (an old-style peer).
 */

const hostOf = (n: NodeProcess) => `127.0.0.1:${n.port}`;
const bytesSent = (n: NodeProcess, kind: string) => metricSum(n, 'chainmesh_p2p_bytes_sent_total', { kind });
const messagesSent = (n: NodeProcess, kind: string) =>
  metricSum(n, 'chainmesh_p2p_messages_sent_total', { kind });
const compactOutcomes = (n: NodeProcess, outcome: string) =>
  metricSum(n, 'chainmesh_p2p_compact_blocks_total', { outcome });

async function postTransactions(n: NodeProcess, hexes: string[]): Promise<void> {
  for (let i = 0; i < hexes.length; i += 250) {
    const res = await post(n, '/transactions', JSON.stringify({ txs: hexes.slice(i, i + 250) }));
    const results = (res.body as { results: Array<{ error?: string }> }).results;
    expect(res.status).toBe(200);
    expect(results.filter((r) => r.error)).toEqual([]);
  }
}

async function mempoolHolds(nodes: NodeProcess[], counts: number[]): Promise<void> {
  await waitFor(
    `mempools hold ${counts.join(', ')}`,
    async () => (await Promise.all(nodes.map(info))).every((i, k) => i.mempool === counts[k]),
    { timeoutMs: 60_000 },
  );
}

async function generateOnA(a: NodeProcess, everyone: NodeProcess[]): Promise<string> {
  const res = await admin(a, '/admin/generate', { count: 1 });
  expect(res.status).toBe(200);
  const hash = (res.body.hashes as string[])[0] as string;
  await waitFor(
    'the block on every node',
    async () => (await Promise.all(everyone.map(info))).every((i) => i.tipHash === hash),
    { timeoutMs: 60_000 },
  );
  return hash;
}

async function snapshot(n: NodeProcess) {
  return {
    cmpctBytes: await bytesSent(n, 'cmpctblock'),
    blockBytes: await bytesSent(n, 'block'),
    blocktxnBytes: await bytesSent(n, 'blocktxn'),
    cmpctMessages: await messagesSent(n, 'cmpctblock'),
    blockMessages: await messagesSent(n, 'block'),
  };
}

describe('compact blocks between real nodes', () => {
  const dir = tempDir();
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;
  let spends: string[] = [];

  beforeAll(async () => {
    a = await startNode({ name: 'a', dataDir: join(dir, 'a') });
    spends = signSpends(await fund(a, 560));
    // Only `a` has these: `b` and `c` start after them and have no way to learn of them before the block.
    await postTransactions(a, spends.slice(0, 3));
    [b, c] = await Promise.all([
      startNode({ name: 'b', dataDir: join(dir, 'b'), seeds: [hostOf(a)] }),
      startNode({ name: 'c', dataDir: join(dir, 'c'), seeds: [hostOf(a)], env: { COMPACT_BLOCKS: '0' } }),
    ]);
    const height = (await info(a)).height;
    await waitFor(
      'b and c caught up, a sends b compact blocks and c whole ones',
      async () => {
        const heights = await Promise.all([b, c].map(async (n) => (await info(n)).height));
        const peers = (await request(`${a.url}/peers`)).body as Array<{
          hostname: string;
          state: string;
          compactBlocks: boolean;
        }>;
        const row = (n: NodeProcess) => peers.find((p) => p.hostname === hostOf(n));
        return (
          heights.every((h) => h === height) &&
          row(b)?.state === 'live' &&
          row(b)?.compactBlocks === true &&
          row(c)?.state === 'live' &&
          row(c)?.compactBlocks === false
        );
      },
      { timeoutMs: 60_000 },
    );
  }, 240_000);

  afterAll(async () => {
    await stopAll([a, b, c].filter(Boolean));
    cleanup(dir);
  });

  it('rebuilds a block whose transactions the receiver lacks after fetching them from the sender', async () => {
    await postTransactions(a, spends.slice(3, 53));
    await mempoolHolds([a, b, c], [53, 50, 50]);
    const before = await snapshot(a);
    const fetchedBefore = await compactOutcomes(b, 'missing_fetched');
    await generateOnA(a, [a, b, c]);
    expect(await compactOutcomes(b, 'missing_fetched')).toBe(fetchedBefore + 1);
    const after = await snapshot(a);
    // Three transactions of ~190 bytes answered as hex: more than their bytes, far less than the block.
    expect(after.blocktxnBytes - before.blocktxnBytes).toBeGreaterThan(3 * 2 * 150);
    expect(after.blocktxnBytes - before.blocktxnBytes).toBeLessThan(3 * 2 * 400);
    await mempoolHolds([a, b, c], [0, 0, 0]);
  });

  it('relays a block of 500 transactions every node has in far fewer bytes compact than whole', async () => {
    await postTransactions(a, spends.slice(53, 553));
    await mempoolHolds([a, b, c], [500, 500, 500]);
    const before = await snapshot(a);
    const rebuiltBefore = await compactOutcomes(b, 'rebuilt');
    await generateOnA(a, [a, b, c]);
    const after = await snapshot(a);
    expect(await compactOutcomes(b, 'rebuilt')).toBe(rebuiltBefore + 1);
    // One compact block to b, one whole block to c, and no transaction fetched.
    expect(after.cmpctMessages - before.cmpctMessages).toBe(1);
    expect(after.blockMessages - before.blockMessages).toBe(1);
    expect(after.blocktxnBytes).toBe(before.blocktxnBytes);
    const compactBytes = after.cmpctBytes - before.cmpctBytes;
    const fullBytes = after.blockBytes - before.blockBytes;
    // 500 short ids of 6 bytes (as hex in JSON), the header, nonce and coinbase: ~6.5 kB against ~190 kB.
    expect(compactBytes).toBeGreaterThan(500 * 12);
    expect(compactBytes * 20).toBeLessThan(fullBytes);
  });

  it('refuses a malformed compact block with its code and changes nothing', async () => {
    const tip = await info(b);
    const cases: Array<[string, unknown, number, string]> = [
      ['not hex', { cmpctblock: 'zz' }, 400, 'bad-request'],
      ['no body field', { block: '00' }, 400, 'bad-request'],
      ['a truncated header', { cmpctblock: '00'.repeat(40) }, 400, 'bad-encoding-truncated'],
      [
        'a prefilled index beyond the block',
        { cmpctblock: '00'.repeat(80) + '00'.repeat(8) + '00' + '01' + '05' + '00'.repeat(10) },
        400,
        'bad-cmpct-prefilled-index',
      ],
      [
        'a header without proof of work',
        {
          cmpctblock:
            toHex(
              encodeHeader({
                version: 1,
                prevHash: new Uint8Array(32).fill(1),
                merkleRoot: new Uint8Array(32).fill(2),
                time: tip.tipTime,
                bits: 0x1d00ffff,
                nonce: 0,
              }),
            ) +
            '00'.repeat(8) +
            '01' +
            'ab'.repeat(6) +
            '00',
        },
        400,
        'bad-blk-pow',
      ],
    ];
    for (const [name, body, status, code] of cases) {
      const res = await request(`${b.url}/cmpctblock`, { body });
      expect([name, res.status, res.body.error]).toEqual([name, status, code]);
    }
    const bad = await request(`${b.url}/getblocktxn`, { body: { getblocktxn: '11'.repeat(32) + '00' } });
    expect([bad.status, bad.body.error]).toEqual([400, 'bad-blocktxn-index']);
    const unknown = await request(`${b.url}/getblocktxn`, {
      body: { getblocktxn: '11'.repeat(32) + '0100' },
    });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'not-found']);
    const now = await info(b);
    expect([now.height, now.tipHash, now.mempool]).toEqual([tip.height, tip.tipHash, tip.mempool]);
  });

  it('an old-style peer (COMPACT_BLOCKS=0) gets whole blocks and relays its own whole', async () => {
    const before = await snapshot(c);
    const res = await admin(c, '/admin/generate', { count: 1 });
    expect(res.status).toBe(200);
    const hash = (res.body.hashes as string[])[0];
    await waitFor(
      'c block on every node',
      async () => (await Promise.all([a, b, c].map(info))).every((i) => i.tipHash === hash),
      { timeoutMs: 60_000 },
    );
    const after = await snapshot(c);
    expect(after.blockMessages - before.blockMessages).toBeGreaterThanOrEqual(1);
    expect(after.cmpctMessages).toBe(0);
    expect(after.cmpctBytes).toBe(0);
  });
});

/**
 * Bytes per block relayed, whole against compact (BIP152), between real node
 * processes on loopback: `a` mines a block of 500 transactions that `b`
 * (compact blocks on) and `c` (COMPACT_BLOCKS=0) already hold in their
 * mempools; `a`'s own counters say what each cost on the wire (request bodies
 * as sent: JSON with hex). A second block of 500 of which 50 `b` lacks shows
 * what the getblocktxn round trip adds.
 */
import { join } from 'node:path';
import { closeLoadClient, fund, post, signSpends } from './helpers-tx-load.js';
import {
  admin,
  cleanup,
  info,
  metricSum,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../test/helpers/processes.js';
import { loadNote, report } from './lib.js';

const TXS = 500;
const LACKING = 50;

const hostOf = (n: NodeProcess) => `127.0.0.1:${n.port}`;
const sent = (n: NodeProcess, kind: string) => metricSum(n, 'chainmesh_p2p_bytes_sent_total', { kind });

async function postAll(n: NodeProcess, hexes: string[]): Promise<void> {
  for (let i = 0; i < hexes.length; i += 250) {
    const res = await post(n, '/transactions', JSON.stringify({ txs: hexes.slice(i, i + 250) }));
    if (res.status !== 200) throw new Error(`transactions: ${res.status}`);
  }
}

async function mempools(nodes: NodeProcess[], counts: number[]): Promise<void> {
  await waitFor(
    'mempools',
    async () => (await Promise.all(nodes.map(info))).every((x, i) => x.mempool === counts[i]),
    {
      timeoutMs: 60_000,
    },
  );
}

async function blockBytes(a: NodeProcess, everyone: NodeProcess[]) {
  const kinds = ['block', 'cmpctblock', 'blocktxn'];
  const before = await Promise.all(kinds.map((k) => sent(a, k)));
  const hash = ((await admin(a, '/admin/generate', { count: 1 })).body.hashes as string[])[0];
  await waitFor(
    'block everywhere',
    async () => (await Promise.all(everyone.map(info))).every((x) => x.tipHash === hash),
    {
      timeoutMs: 60_000,
    },
  );
  const after = await Promise.all(kinds.map((k) => sent(a, k)));
  const [block, cmpctblock, blocktxn] = after.map((v, i) => v - (before[i] as number)) as [
    number,
    number,
    number,
  ];
  return { block, cmpctblock, blocktxn };
}

const dir = tempDir('chainmesh-bench-compact-');
const nodes: NodeProcess[] = [];
try {
  const a = await startNode({ name: 'a', dataDir: join(dir, 'a') });
  nodes.push(a);
  const spends = signSpends(await fund(a, 2 * TXS));
  await postAll(a, spends.slice(0, LACKING)); // before b and c exist: only a has them
  const [b, c] = await Promise.all([
    startNode({ name: 'b', dataDir: join(dir, 'b'), seeds: [hostOf(a)] }),
    startNode({ name: 'c', dataDir: join(dir, 'c'), seeds: [hostOf(a)], env: { COMPACT_BLOCKS: '0' } }),
  ]);
  nodes.push(b, c);
  const height = (await info(a)).height;
  await waitFor(
    'b and c joined and caught up',
    async () => {
      const peers = (await (await fetch(`${a.url}/peers`)).json()) as Array<{
        hostname: string;
        state: string;
        compactBlocks: boolean;
      }>;
      const row = (n: NodeProcess) => peers.find((p) => p.hostname === hostOf(n));
      const heights = await Promise.all([b, c].map(async (n) => (await info(n)).height));
      return heights.every((h) => h === height) && row(b)?.compactBlocks === true && row(c)?.state === 'live';
    },
    { timeoutMs: 60_000 },
  );

  await postAll(a, spends.slice(LACKING, TXS));
  await mempools([a, b, c], [TXS, TXS - LACKING, TXS - LACKING]);
  const lacking = await blockBytes(a, [a, b, c]);
  await postAll(a, spends.slice(TXS, 2 * TXS));
  await mempools([a, b, c], [TXS, TXS, TXS]);
  const known = await blockBytes(a, [a, b, c]);

  const note = loadNote();
  report(`block of ${TXS + 1} txs every node has: whole (POST /block)`, known.block, 'bytes', { note });
  report(`the same block compact (POST /cmpctblock)`, known.cmpctblock, 'bytes', {
    note: `${(known.block / known.cmpctblock).toFixed(1)}× fewer; no getblocktxn (${known.blocktxn} bytes)`,
  });
  report(`block of ${TXS + 1} txs, ${LACKING} missing at the receiver: whole`, lacking.block, 'bytes');
  report(`the same compact + blocktxn answer`, lacking.cmpctblock + lacking.blocktxn, 'bytes', {
    note: `cmpctblock ${lacking.cmpctblock} + blocktxn ${lacking.blocktxn}`,
  });
} finally {
  closeLoadClient();
  await stopAll(nodes);
  cleanup(dir);
}

/**
 * The peer layer in one process (real HTTP on loopback, a real Chain per
 * node): locator sync throughput of a late joiner, block relay latency through
 * a 20-node in-process mesh (p50/p99 over several blocks), and the requests a
 * join costs the joiner as the network grows (10, 20, 40 nodes) — it should
 * follow the join fan-out, not N. The multi-process numbers are in
 * cluster.bench.ts; these isolate the peer layer from process scheduling.
 */
import { NETWORKS } from '../src/core/consensus/params.js';
import { ChainBuilder } from '../test/helpers/chain-builder.js';
import { everyoneKnowsEveryone, startTestNode, waitFor, type TestNode } from '../test/helpers/p2p-app.js';
import { report, round } from './lib.js';

const builder = new ChainBuilder(NETWORKS.regtest);
const SYNC_BLOCKS = 2000;
const MESH = 20;
const RELAY_ROUNDS = 15;
const JOIN_SIZES = [10, 20, 40];
const SETTINGS = { p2p: { gossipIntervalMs: 1000, requestTimeoutMs: 3000 } };

async function counter(n: TestNode, kind: string): Promise<number> {
  const m = await n.metrics.messagesSent.get();
  return m.values.filter((v) => v.labels.kind === kind).reduce((s, v) => s + v.value, 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function syncThroughput(): Promise<void> {
  const source = await startTestNode(SETTINGS);
  const blocks = builder.chain(source.chain.tip, SYNC_BLOCKS);
  for (const b of blocks) await source.chain.processBlock(b);
  const t0 = performance.now();
  const late = await startTestNode({ ...SETTINGS, seeds: [source.hostname] });
  await waitFor('synced', () => late.chain.height === SYNC_BLOCKS && !late.p2p.syncing, 110_000);
  const seconds = (performance.now() - t0) / 1000;
  report('sync: late joiner download', round(SYNC_BLOCKS / seconds, 0), 'blocks/s', {
    note: `${SYNC_BLOCKS} regtest blocks in ${await counter(late, 'sync')} requests from one peer, incl. start-up`,
  });
  await Promise.all([late.stop(), source.stop()]);
}

async function startMesh(size: number): Promise<TestNode[]> {
  const seed = await startTestNode(SETTINGS);
  const nodes = [seed];
  for (let i = 1; i < size; i++) nodes.push(await startTestNode({ ...SETTINGS, seeds: [seed.hostname] }));
  await waitFor('mesh formed', () => everyoneKnowsEveryone(nodes), 60_000);
  return nodes;
}

async function relayLatency(): Promise<void> {
  const nodes = await startMesh(MESH);
  const times: number[] = [];
  for (let r = 0; r < RELAY_ROUNDS; r++) {
    const origin = nodes[r % nodes.length]!;
    const block = builder.block(origin.chain.tip, { tag: r });
    await origin.chain.processBlock(block);
    const t0 = performance.now();
    origin.p2p.announceBlock(block);
    await waitFor('block everywhere', () => nodes.every((n) => n.chain.tip.hash === block.hash), 10_000);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const note = `${MESH} in-process nodes, fan-out 8, ${RELAY_ROUNDS} blocks (25 ms polling granularity)`;
  report(`relay: block on all ${MESH} nodes p50`, round(percentile(times, 50), 0), 'ms', { max: 1000, note });
  report(`relay: block on all ${MESH} nodes p99`, round(percentile(times, 99), 0), 'ms', { max: 1000, note });
  await Promise.all(nodes.map((n) => n.stop()));
}

async function joinCost(size: number): Promise<void> {
  const nodes = await startMesh(size - 1);
  const seed = nodes[0]!;
  const t0 = performance.now();
  const joiner = await startTestNode({ ...SETTINGS, seeds: [seed.hostname] });
  await waitFor('everyone lists the joiner', () => everyoneKnowsEveryone([...nodes, joiner]), 60_000);
  const ms = performance.now() - t0;
  const sent = (await counter(joiner, 'advertise')) + (await counter(joiner, 'known_nodes'));
  report(`join: requests sent by the joiner, N=${size}`, sent, 'requests', {
    note: `until all ${size} nodes list it (${round(ms / 1000, 1)} s; gossip every 1 s adds one per round)`,
  });
  await Promise.all([joiner, ...nodes].map((n) => n.stop()));
}

await syncThroughput();
await relayLatency();
for (const size of JOIN_SIZES) await joinCost(size);

import { describe, expect, it } from 'vitest';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { toHex } from '../../src/core/primitives/bytes.js';
import {
  encodeCompactBlock,
  shortIdKey,
  shortTxId,
  toCompactBlock,
  type CompactBlock,
} from '../../src/core/primitives/compact-block.js';
import { txHash } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { HEADER_ADDR, HEADER_NETWORK, HEADER_NODE_ID } from '../../src/p2p/index.js';
import {
  ChainBuilder,
  coinbaseInput,
  payTo,
  spendTx,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { everyoneKnowsEveryone, nodesStoppedAfterEach, waitFor, type TestNode } from '../helpers/p2p-app.js';

/** Compact block edge cases between two in-process nodes over real HTTP: who is charged for what. */

const builder = new ChainBuilder(NETWORKS.regtest);
/** Generous: the machine these run on is often heavily loaded. */
const PATIENCE_MS = 60_000;
const { node } = nodesStoppedAfterEach();

async function pair(): Promise<[TestNode, TestNode]> {
  const a = await node();
  const b = await node({ seeds: [a.hostname] });
  await waitFor(
    'pair formed, each sends the other compact blocks',
    () =>
      everyoneKnowsEveryone([a, b]) &&
      a.p2p.peers().some((p) => p.nodeId === b.nodeId && p.compactBlocks) &&
      b.p2p.peers().some((p) => p.nodeId === a.nodeId && p.compactBlocks),
    PATIENCE_MS,
  );
  return [a, b];
}

/** `count` blocks mined on a, connected and announced (compact) to b. */
async function mine(a: TestNode, b: TestNode, count: number): Promise<TestBlock[]> {
  const out: TestBlock[] = [];
  for (let i = 0; i < count; i++) {
    const block = builder.block(out[out.length - 1] ?? a.chain.tip);
    expect((await a.chain.processBlock(block)).status).toBe('connected');
    a.p2p.announceBlock(block);
    out.push(block);
  }
  const tip = out[out.length - 1]!.hash;
  await waitFor('b has the blocks', () => b.chain.tip.hash === tip, PATIENCE_MS);
  return out;
}

function postCompact(to: TestNode, c: CompactBlock, as: TestNode) {
  return fetch(`http://${to.hostname}/cmpctblock`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [HEADER_NODE_ID]: as.nodeId,
      [HEADER_NETWORK]: as.params.genesisHash,
      [HEADER_ADDR]: as.hostname,
    },
    body: JSON.stringify({ cmpctblock: toHex(encodeCompactBlock(c)) }),
  });
}

async function outcomes(n: TestNode, outcome: string): Promise<number> {
  const m = await n.metrics.compactBlocks.get();
  return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

const banScoreOf = (at: TestNode, peer: TestNode) =>
  at.p2p.peers().find((p) => p.nodeId === peer.nodeId)?.banScore;

describe('compact blocks between two nodes', () => {
  it('a merkle mismatch after using mempool transactions (a short-id collision) fetches the whole block and bans nobody', async () => {
    const [a, b] = await pair();
    const blocks = await mine(a, b, NETWORKS.regtest.coinbaseMaturity + 2);
    const spend = (i: number): Transaction => {
      const input = coinbaseInput(blocks[i]!);
      return spendTx([input], [payTo(testKey(1), input.value - 10_000n)]);
    };
    const [inBlock, other] = [spend(0), spend(1)];
    expect(await b.p2p.receiveTransactions([inBlock, other])).toHaveLength(2);
    await waitFor(
      'both transactions in both mempools',
      () => a.mempool.count === 2 && b.mempool.count === 2,
      PATIENCE_MS,
    );
    // a connects the block without announcing it; b gets, in the same turn (before any sync could bring
    // it), a compact block from a whose one short id is that of the other pool transaction: what a
    // collision made by a third party looks like to b. b fetches every transaction from a over HTTP.
    const block = builder.block(a.chain.tip, { txs: [inBlock] });
    expect((await a.chain.processBlock(block)).status).toBe('connected');
    const honest = toCompactBlock(block, 7n);
    const collided = { ...honest, shortIds: [shortTxId(shortIdKey(block.header, 7n), txHash(other))] };
    const result = await b.p2p.receiveCompactBlock(collided, { nodeId: a.nodeId });
    expect(result).toMatchObject({ hash: block.hash, outcome: 'failed' });
    // Connected from this copy, or (rarely, on a loaded machine) by a sync that overtook the fetch.
    expect(['connected', 'duplicate']).toContain(result.status);
    // (a duplicate is being connected by that sync: its tip follows)
    await waitFor('b connected the block', () => b.chain.tip.hash === block.hash, PATIENCE_MS);
    expect(await outcomes(b, 'failed')).toBe(1);
    expect(banScoreOf(b, a)).toBe(0);
  });

  it('a sender that cannot answer getblocktxn leaves the block unbuilt, without a ban', async () => {
    const [a, b] = await pair();
    const blocks = await mine(a, b, NETWORKS.regtest.coinbaseMaturity + 1);
    const input = coinbaseInput(blocks[0]!);
    const unknownTx = spendTx([input], [payTo(testKey(2), input.value - 10_000n)]);
    // Neither node has this block nor its transaction: b asks a, a answers not-found.
    const block = builder.block(a.chain.tip, { txs: [unknownTx] });
    const res = await postCompact(b, toCompactBlock(block, 9n), a);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'incomplete', hash: block.hash, outcome: 'failed' });
    expect(b.chain.tip.hash).toBe(blocks[blocks.length - 1]!.hash);
    expect(banScoreOf(b, a)).toBe(0);
  });

  it('a compact block whose header lacks its proof of work bans its sender', async () => {
    const [a, b] = await pair();
    const good = builder.block(a.chain.tip);
    const bad = toCompactBlock({ ...good, header: { ...good.header, bits: 0x1d00ffff } }, 1n);
    const res = await postCompact(b, bad, a);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('bad-blk-pow');
    expect(banScoreOf(b, a)).toBe(100);
  });
});

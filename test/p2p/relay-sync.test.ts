import { createServer } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { encodeBlock } from '../../src/core/primitives/block.js';
import { toHex } from '../../src/core/primitives/bytes.js';
import { blockSubsidy } from '../../src/core/consensus/coinbase.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { workForBits } from '../../src/core/consensus/pow.js';
import { signP2pkhInput } from '../../src/core/script/sighash.js';
import { encodeTx, txid } from '../../src/core/primitives/tx.js';
import type { Block, Transaction } from '../../src/core/primitives/types.js';
import { HEADER_ADDR, HEADER_NETWORK, HEADER_NODE_ID } from '../../src/p2p/index.js';
import { encodeChainWork } from '../../src/p2p/wire.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';
import {
  everyoneKnowsEveryone,
  nodesStoppedAfterEach,
  startTestNode,
  waitFor,
  type TestNode,
} from '../helpers/p2p-app.js';

const builder = new ChainBuilder(NETWORKS.regtest);
const { node, stopKeeping, serveRaw } = nodesStoppedAfterEach();

async function cluster(size: number, opts: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode[]> {
  const seed = await node(opts);
  const nodes = [seed];
  for (let i = 1; i < size; i++) nodes.push(await node({ ...opts, seeds: [seed.hostname] }));
  await waitFor(
    'cluster formed',
    () => everyoneKnowsEveryone(nodes) && nodes.every((n) => n.p2p.liveCount === size - 1),
  );
  return nodes;
}

/** Mines `count` blocks on the node's tip, connects them and announces each, as the node's miner does. */
async function mine(
  n: TestNode,
  count = 1,
  opts: { tag?: number; txs?: Block['txs'][number][] } = {},
): Promise<TestBlock[]> {
  const out: TestBlock[] = [];
  for (let i = 0; i < count; i++) {
    const parent = out[out.length - 1] ?? n.chain.tip;
    const b = builder.block(parent, { tag: opts.tag, ...(i === 0 && opts.txs ? { txs: opts.txs } : {}) });
    expect((await n.chain.processBlock(b)).status).toBe('connected');
    n.p2p.announceBlock(b);
    out.push(b);
  }
  return out;
}

async function counter(
  n: TestNode,
  name: 'messagesSent' | 'syncBlocksDownloaded' | 'peersBanned',
  kind?: string,
) {
  const m = await n.metrics[name].get();
  return m.values
    .filter((v) => kind === undefined || (v.labels as Record<string, unknown>).kind === kind)
    .reduce((s, v) => s + v.value, 0);
}

/** Blocks a node was sent, whole (POST /block) or compact (POST /cmpctblock). */
function servedBlocks(n: TestNode): number {
  return (n.served.get('/block') ?? 0) + (n.served.get('/cmpctblock') ?? 0);
}

/** Blocks a node relayed, whole or compact. */
async function blocksSent(n: TestNode): Promise<number> {
  return (await counter(n, 'messagesSent', 'block')) + (await counter(n, 'messagesSent', 'cmpctblock'));
}

async function failures(n: TestNode, kind: string, reason: string): Promise<number> {
  const m = await n.metrics.peerRequestFailures.get();
  return m.values.find((v) => v.labels.kind === kind && v.labels.reason === reason)?.value ?? 0;
}

/** Far more chain work than any test chain has. */
const MUCH = 'ff'.repeat(20);

/** The chain work of a regtest chain `height` blocks above genesis, as it travels. */
function workOf(height: number): string {
  return encodeChainWork(workForBits(NETWORKS.regtest.powLimitBits) * BigInt(height + 1));
}

/**
 * A scripted peer: answers advertisements with the chain it says it has, and
 * sync requests with `sync` (never, without it).
 */
async function fakePeer(opts: {
  nodeId: string;
  network: string;
  chain: () => { height: number; chainWork: string };
  sync?: (locator: string[]) => Promise<{ blocks: string[]; more: boolean }>;
}): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const reply = (json: unknown) =>
        res
          .writeHead(200, { 'content-type': 'application/json', [HEADER_NETWORK]: opts.network })
          .end(JSON.stringify(json));
      if (req.url === '/new_node_advertisement') {
        const { height, chainWork } = opts.chain();
        reply({
          accepted: true,
          nodeId: opts.nodeId,
          network: opts.network,
          height,
          tipHash: 'ee'.repeat(32),
          chainWork,
          peers: [],
        });
      } else if (req.url === '/sync/blocks') {
        const { locator } = JSON.parse(body) as { locator: string[] };
        void opts.sync?.(locator).then(reply);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return serveRaw(server);
}

async function silentPeer(): Promise<string> {
  const server = createServer(() => undefined);
  return serveRaw(server);
}

function post(n: TestNode, path: string, body: unknown, as: TestNode) {
  return fetch(`http://${n.hostname}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [HEADER_NODE_ID]: as.nodeId,
      [HEADER_NETWORK]: as.params.genesisHash,
      [HEADER_ADDR]: as.hostname,
    },
    body: JSON.stringify(body),
  });
}

describe('relay', () => {
  it('a block reaches every node once each, despite silent peers, and duplicates are not re-validated', async () => {
    const nodes = await cluster(6, { p2p: { requestTimeoutMs: 500 } });
    // Every node also knows two peers that never answer.
    const silent = [await silentPeer(), await silentPeer()];
    for (const n of nodes) {
      for (const [i, hostname] of silent.entries()) {
        n.p2p.handleAdvertisement({ hostname, nodeId: `d${i}`.repeat(16), network: n.params.genesisHash });
      }
    }
    const spies = nodes.map((n) => vi.spyOn(n.chain, 'processBlock'));
    const [block] = await mine(nodes[2]!);
    const started = Date.now();
    // The maker's pushes name every peer as covered, so relay alone sends no copy twice here: each node
    // also gets one from a neighbour, while the relay runs.
    const copies = nodes.map((n, i) =>
      post(n, '/block', { block: toHex(encodeBlock(block!)) }, nodes[(i + 1) % nodes.length]!),
    );
    await waitFor('block on every node', () => nodes.every((n) => n.chain.tip.hash === block!.hash), 5000);
    for (const res of await Promise.all(copies)) expect(res.status).toBe(200);
    const elapsed = Date.now() - started;
    // Wait until every relay request to a real node was answered.
    await waitFor('relay settled', async () => {
      let sent = 0;
      for (const n of nodes) sent += await blocksSent(n);
      const served = nodes.reduce((s, n) => s + servedBlocks(n), 0);
      // Requests to the silent peers are never served.
      return served > 0 && served >= sent - nodes.length * silent.length;
    });
    const served = nodes.reduce((s, n) => s + servedBlocks(n), 0);
    expect(served).toBeGreaterThan(nodes.length - 1); // duplicates did arrive...
    for (const spy of spies) expect(spy).toHaveBeenCalledTimes(1); // ...and were recognised without validation
    expect(elapsed).toBeLessThan(5000);
  });

  it('relay is bounded by the fan-out and never goes back to the sender', async () => {
    const [a, b] = await cluster(2);
    const [block] = await mine(a!);
    await waitFor('b has it', () => b!.chain.tip.hash === block!.hash);
    await waitFor('b answered', () => servedBlocks(b!) === 1);
    // b's only peer is the sender: nothing goes back.
    expect(await blocksSent(b!)).toBe(0);
    expect(servedBlocks(a!)).toBe(0);

    // The block's maker pushes it to every live peer (one hop in a small cluster); each peer forwards
    // it to at most `relayFanout` others, never back to the peer it came from.
    const nodes = await cluster(7, { p2p: { relayFanout: 3 } });
    const before = await Promise.all(nodes.map((n) => blocksSent(n)));
    const [next] = await mine(nodes[0]!);
    await waitFor('everywhere', () => nodes.every((n) => n.chain.tip.hash === next!.hash));
    const sent = await Promise.all(nodes.map(async (n, i) => (await blocksSent(n)) - before[i]!));
    expect(sent[0]).toBe(6);
    for (const forwarded of sent.slice(1)) expect(forwarded).toBeLessThanOrEqual(3);
  });

  it('a block is forwarded before its validation ends; its source gets that once: a second invalid block is not forwarded and bans it', async () => {
    const [a, b, c] = await cluster(3);
    const subsidy = (h: number) => blockSubsidy(h, NETWORKS.regtest);
    const height = a!.chain.tip.height + 1;
    // Header, proof of work and merkle root hold; only full validation finds the coinbase pays too much.
    const greedy = builder.block(a!.chain.tip, { coinbaseValue: subsidy(height) + 1n });
    const servedByC = servedBlocks(c!);
    const res = await post(a!, '/block', { block: toHex(encodeBlock(greedy)) }, b!);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('bad-blk-cb-amount');
    await waitFor('c got it from a before a found it invalid', () => servedBlocks(c!) > servedByC);
    // Half a ban each: b for sending it, a (at c) for forwarding it in good faith.
    expect(a!.p2p.peers().find((p) => p.nodeId === b!.nodeId)).toMatchObject({ banScore: 50, state: 'live' });
    await waitFor('c charged a', () => c!.p2p.peers().find((p) => p.nodeId === a!.nodeId)?.banScore === 50);
    expect(c!.p2p.peers().find((p) => p.nodeId === a!.nodeId)?.state).toBe('live');

    const sentBefore = await blocksSent(a!);
    const again = builder.block(a!.chain.tip, { coinbaseValue: subsidy(height) + 2n });
    const second = await post(a!, '/block', { block: toHex(encodeBlock(again)) }, b!);
    expect(second.status).toBe(400);
    expect(await blocksSent(a!)).toBe(sentBefore); // not forwarded this time
    expect(a!.p2p.peers().find((p) => p.nodeId === b!.nodeId)).toMatchObject({
      state: 'banned',
      banScore: 100,
    });
    // A good block still goes everywhere.
    const [good] = await mine(c!);
    await waitFor('a has the good block', () => a!.chain.tip.hash === good!.hash);
  });

  it('a transaction accepted on one node reaches every mempool; resubmission is recognised', async () => {
    const nodes = await cluster(4);
    const blocks = await mine(nodes[0]!, NETWORKS.regtest.coinbaseMaturity + 1);
    const tip = blocks[blocks.length - 1]!.hash;
    await waitFor('blocks everywhere', () => nodes.every((n) => n.chain.tip.hash === tip));
    const input = coinbaseInput(blocks[0]!);
    const tx = spendTx([input], [payTo(testKey(1), input.value - 10_000n)]);
    const id = txid(tx);
    expect(await nodes[1]!.p2p.receiveTransactions([tx])).toEqual([{ txid: id }]);
    await waitFor('tx in every mempool', () => nodes.every((n) => n.mempool.has(id)));
    const [again] = await nodes[1]!.p2p.receiveTransactions([tx]);
    expect(again).toMatchObject({ error: 'txn-already-known' });
  });

  it('transactions that arrive while a relayed block is validated are admitted after it', async () => {
    const n = await node();
    const blocks = await mine(n, NETWORKS.regtest.coinbaseMaturity + 2);
    const input = coinbaseInput(blocks[0]!);
    const tx = spendTx([input], [payTo(testKey(1), input.value - 10_000n)]);
    const events: string[] = [];
    n.chain.on('connect', () => events.push('block connected'));
    n.mempool.on('accepted', () => events.push('transaction accepted'));
    const block = builder.block(n.chain.tip);
    const [blockResult, txResults] = await Promise.all([
      n.p2p.receiveBlock(block),
      n.p2p.receiveTransactions([tx]),
    ]);
    expect(blockResult.status).toBe('connected');
    expect(txResults).toEqual([{ txid: txid(tx) }]);
    expect(events).toEqual(['block connected', 'transaction accepted']);
  });

  it('a peer one block ahead is not charged for transactions final only at its height', async () => {
    // No gossip and no pings (a ping's answer carries the peer's chain work): b learns of a's
    // extra block only from what a relays. Without pings, liveness rests on the relays alone: a long
    // live window keeps a slow run from timing b out of a's live set.
    const [a, b] = await cluster(2, {
      p2p: { gossipIntervalMs: 600_000, tuning: { pingQuietMs: 600_000, liveWindowMs: 600_000 } },
    });
    const prefix = await mine(a!, NETWORKS.regtest.coinbaseMaturity + 1);
    await waitFor('b followed', () => b!.chain.tip.hash === prefix.at(-1)!.hash);
    // a moves one block ahead without telling b.
    expect((await a!.chain.processBlock(builder.block(a!.chain.tip))).status).toBe('connected');
    const input = coinbaseInput(prefix[0]!);
    // Locked until a's height: final in a's next block, not yet in b's.
    const locked: Transaction = {
      version: 1,
      inputs: [
        { prevTxid: input.txid, prevVout: input.vout, scriptSig: new Uint8Array(0), sequence: 0xfffffffe },
      ],
      outputs: [payTo(testKey(3), input.value - 10_000n)],
      locktime: a!.chain.height,
    };
    const tx = signP2pkhInput(locked, 0, input.scriptPubKey, input.key.priv);
    expect(await a!.p2p.receiveTransactions([tx])).toEqual([{ txid: txid(tx) }]);
    await waitFor('b refused it as not final yet', async () =>
      (await b!.metrics.txRejected.get()).values.some((v) => v.labels.reason === 'bad-txns-nonfinal'),
    );
    expect(b!.p2p.peers().find((p) => p.nodeId === a!.nodeId)).toMatchObject({ state: 'live', banScore: 0 });
  });

  it('a relayed batch bigger than one request body arrives whole', async () => {
    // Both nodes share this process: a batch of large transactions must not time out while the other admits it.
    const [a, b] = await cluster(2, { p2p: { requestTimeoutMs: 20_000 } });
    const prefix = await mine(a!, NETWORKS.regtest.coinbaseMaturity + 1);
    await waitFor('b followed', () => b!.chain.tip.hash === prefix.at(-1)!.hash);
    // One payment to 50 outputs, each spent by a ~58 kB transaction: ~5.8 MB of hex, over the 4 MB body limit.
    const input = coinbaseInput(prefix[0]!);
    const children = 50;
    const fee = 100_000n;
    const share = (input.value - fee) / BigInt(children);
    const funding = spendTx(
      [input],
      Array.from({ length: children }, () => payTo(testKey(4), share)),
    );
    const txs = [funding];
    for (let i = 0; i < children; i++) {
      const coin = outputInput(funding, i, testKey(4));
      const outputs = 1700;
      const each = (coin.value - fee) / BigInt(outputs);
      txs.push(
        spendTx(
          [coin],
          Array.from({ length: outputs }, () => payTo(testKey(5), each)),
        ),
      );
    }
    const hexChars = txs.reduce((sum, tx) => sum + 2 * encodeTx(tx).length, 0);
    expect(hexChars).toBeGreaterThan(5_000_000);
    const results = await a!.p2p.receiveTransactions(txs);
    expect(results.filter((r) => 'error' in r)).toEqual([]);
    await waitFor(
      "every transaction in b's mempool",
      () => txs.every((tx) => b!.mempool.has(txid(tx))),
      30_000,
    );
  });

  it('an invalid block costs its sender a ban: refused, not listed, not relayed to', async () => {
    const [a, b, c] = await cluster(3);
    const bad = builder.block(a!.chain.tip, { badPow: true });
    const res = await post(a!, '/block', { block: toHex(encodeBlock(bad)) }, b!);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('bad-blk-pow');
    expect(a!.p2p.peers().find((p) => p.nodeId === b!.nodeId)).toMatchObject({
      state: 'banned',
      banScore: 100,
    });
    expect(await counter(a!, 'peersBanned')).toBe(1);
    expect(a!.p2p.knownNodes().some((p) => p.nodeId === b!.nodeId)).toBe(false);
    const gossip = a!.p2p.handleAdvertisement({
      hostname: c!.hostname,
      nodeId: c!.nodeId,
      network: c!.params.genesisHash,
    });
    expect(gossip.peers.some((p) => p.nodeId === b!.nodeId)).toBe(false);
    const refused = await post(
      a!,
      '/new_node_advertisement',
      { hostname: b!.hostname, nodeId: b!.nodeId, network: b!.params.genesisHash },
      b!,
    );
    expect(refused.status).toBe(403);
    // A good block from a is relayed to c but not to the banned b (b still gets it through c).
    const [good] = await mine(a!);
    await waitFor('c has it', () => c!.chain.tip.hash === good!.hash);
    expect(a!.chain.tip.hash).toBe(good!.hash);
    expect(servedBlocks(b!)).toBeLessThanOrEqual(1);
  });
});

describe('sync', () => {
  it('a late joiner catches up by locator in batches of 500, from one peer only', async () => {
    // Generous deadlines: a loaded machine must not turn a slow batch into a switch of peers.
    const patient = { p2p: { requestTimeoutMs: 5000 } };
    const seed = await node(patient);
    const blocks = builder.chain(seed.chain.tip, 1100);
    for (const b of blocks) await seed.chain.processBlock(b);
    const tip = blocks[blocks.length - 1]!.hash;
    // An early member syncs from the seed as soon as it sees the seed's chain work.
    const early = await node({ ...patient, seeds: [seed.hostname] });
    await waitFor('early member synced', () => early.chain.tip.hash === tip && !early.p2p.syncing, 60_000);
    const servedBefore = [seed, early].map((n) => n.served.get('/sync/blocks') ?? 0);

    const late = await node({ ...patient, seeds: [seed.hostname] });
    await waitFor('late joiner synced', () => late.chain.tip.hash === tip && !late.p2p.syncing, 60_000);
    const served = [seed, early].map((n, i) => (n.served.get('/sync/blocks') ?? 0) - servedBefore[i]!);
    const requests = await counter(late, 'messagesSent', 'sync');
    expect(requests).toBeGreaterThanOrEqual(3); // 500 + 500 + 100
    expect(served[0]! + served[1]!).toBe(requests);
    expect(served.filter((s) => s > 0)).toHaveLength(1); // one peer served the whole download
    expect(await counter(late, 'syncBlocksDownloaded')).toBe(1100);
    expect(late.p2p.bestPeerHeight()).toBe(1100);
    expect((await late.metrics.syncing.get()).values[0]?.value).toBe(0);
  });

  it('a peer that stalls during sync is abandoned and the next best one is used', async () => {
    const fast = { p2p: { requestTimeoutMs: 250, gossipIntervalMs: 600_000 } };
    const seed = await node(fast);
    const blocks = builder.chain(seed.chain.tip, 30);
    for (const b of blocks) await seed.chain.processBlock(b);
    const late = await node(fast);
    const network = late.params.genesisHash;
    // A peer answers our advertisement with far more work than anyone, but never a sync: it is tried first...
    const liar = 'c0'.repeat(16);
    const hostname = await fakePeer({
      nodeId: liar,
      network,
      chain: () => ({ height: 1000, chainWork: MUCH }),
    });
    late.p2p.handleAdvertisement({ hostname, nodeId: liar, network });
    await waitFor('syncing from the liar', () => late.p2p.syncing);
    // ...while an honest peer with the real chain is known as well.
    late.p2p.handleAdvertisement({ hostname: seed.hostname, nodeId: seed.nodeId, network });
    await waitFor('synced from the honest peer', () => late.chain.tip.hash === blocks[29]!.hash, 20_000);
    expect(await failures(late, 'sync', 'timeout')).toBe(1);
    await waitFor('sync over', () => !late.p2p.syncing);
  });

  it('a peer that answers sync with known blocks and "more" forever is dropped after one round', async () => {
    const late = await node({ p2p: { gossipIntervalMs: 600_000 } });
    const blocks = builder.chain(late.chain.tip, 3);
    for (const b of blocks) await late.chain.processBlock(b);
    let requests = 0;
    const network = late.params.genesisHash;
    const hostname = await fakePeer({
      nodeId: 'd0'.repeat(16),
      network,
      chain: () => ({ height: 1000, chainWork: MUCH }),
      // A different block we already have on every round, always claiming more.
      sync: () => {
        const known = blocks[requests++ % blocks.length]!;
        return Promise.resolve({ blocks: [toHex(encodeBlock(known))], more: true });
      },
    });
    late.p2p.handleAdvertisement({ hostname, nodeId: 'd0'.repeat(16), network });
    await waitFor('one sync over', () => requests > 0 && !late.p2p.syncing, 20_000);
    expect(requests).toBe(1);
  });

  it('claimed chain work starts no sync: only the claimant answering our own request does', async () => {
    // No gossip and no pings (a ping's answer carries the peer's chain work): b learns of a's
    // extra block only from what a relays. Without pings, liveness rests on the relays alone: a long
    // live window keeps a slow run from timing b out of a's live set.
    const [a, b] = await cluster(2, {
      p2p: { gossipIntervalMs: 600_000, tuning: { pingQuietMs: 600_000, liveWindowMs: 600_000 } },
    });
    const network = a!.params.genesisHash;
    const claim = { network, height: 1000, chainWork: MUCH };
    // From an address where nobody answers: nothing to download, however much work it claims.
    const stranger = await fetch(`http://${a!.hostname}/new_node_advertisement`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...claim, hostname: '127.0.0.1:1', nodeId: 'ab'.repeat(16) }),
    });
    expect(stranger.status).toBe(200);
    expect(a!.p2p.syncing).toBe(false);
    await waitFor('the claim dialled back', async () => (await failures(a!, 'advertise', 'network')) >= 1);
    // In a known peer's name, from its address: a asks b, which answers with the work it really has.
    const servedB = b!.served.get('/new_node_advertisement') ?? 0;
    const framed = await post(
      a!,
      '/new_node_advertisement',
      { ...claim, hostname: b!.hostname, nodeId: b!.nodeId },
      b!,
    );
    expect(framed.status).toBe(200);
    expect(a!.p2p.syncing).toBe(false);
    await waitFor('b asked', () => (b!.served.get('/new_node_advertisement') ?? 0) > servedB);
    await waitFor('b answered', () => a!.p2p.peers().some((p) => p.nodeId === b!.nodeId && p.height === 0));
    expect(a!.p2p.syncing).toBe(false);
    expect(await counter(a!, 'messagesSent', 'sync')).toBe(0);
    expect(a!.p2p.bestPeerHeight()).toBe(0);
  });

  it('a sync request arriving while a run is finishing gets a run of its own', async () => {
    const late = await node({ p2p: { gossipIntervalMs: 600_000 } });
    const network = late.params.genesisHash;
    const blocks = builder.chain(late.chain.tip, 5);
    const nodeId = 'b0'.repeat(16);
    let has = 3; // blocks the peer has (and says so when asked)
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let syncs = 0;
    const hostname = await fakePeer({
      nodeId,
      network,
      chain: () => ({ height: has, chainWork: workOf(has) }),
      sync: async (locator) => {
        const upTo = has;
        if (syncs++ === 0) await held;
        // The locator leads with the asker's tip.
        const from = blocks.findIndex((b) => b.hash === locator[0]) + 1;
        return { blocks: blocks.slice(from, upTo).map((b) => toHex(encodeBlock(b))), more: false };
      },
    });
    late.p2p.handleAdvertisement({ hostname, nodeId, network });
    await waitFor('sync from the peer under way', () => syncs === 1);
    // Meanwhile the peer found two more blocks, and says so when asked again.
    has = 5;
    late.p2p.handleAdvertisement({ hostname, nodeId, network });
    await waitFor('its answer is in the book', () =>
      late.p2p.peers().some((p) => p.nodeId === nodeId && p.height === 5),
    );
    release();
    await waitFor('caught up with the peer', () => late.chain.tip.hash === blocks[4]!.hash);
    expect(syncs).toBe(2);
  });

  it('an unrequested side-branch block with less work than the tip is neither stored nor relayed', async () => {
    const [a, b] = await cluster(2);
    await mine(a!, 3);
    await waitFor('b followed', () => b!.chain.tip.hash === a!.chain.tip.hash);
    const [low] = builder.chain(builder.genesis, 1, { tag: 9 });
    const res = await post(a!, '/block', { block: toHex(encodeBlock(low!)) }, b!);
    expect(await res.json()).toMatchObject({ status: 'stale' });
    expect(a!.chain.hasBlock(low!.hash)).toBe(false);
    expect(b!.chain.hasBlock(low!.hash)).toBe(false);
  });

  it('an orphan block from a peer triggers a locator download from that peer', async () => {
    // Gossip is slowed so that the orphan is the only news of the longer chain.
    // No gossip and no pings (a ping's answer carries the peer's chain work): b learns of a's
    // extra block only from what a relays. Without pings, liveness rests on the relays alone: a long
    // live window keeps a slow run from timing b out of a's live set.
    const [a, b] = await cluster(2, {
      p2p: { gossipIntervalMs: 600_000, tuning: { pingQuietMs: 600_000, liveWindowMs: 600_000 } },
    });
    const hidden = builder.chain(b!.chain.tip, 5);
    for (const blk of hidden) await b!.chain.processBlock(blk);
    const [announced] = await mine(b!);
    await waitFor('a followed', () => a!.chain.tip.hash === announced!.hash);
    expect(await counter(a!, 'messagesSent', 'sync')).toBeGreaterThanOrEqual(1);
  });

  it('two partitions that mined separately converge on the most-work chain; the losers reorg', async () => {
    // A shared history with a spendable coin, then a split.
    const prefix = builder.chain(builder.genesis, NETWORKS.regtest.coinbaseMaturity + 1);
    const left = await cluster(2);
    const right = await cluster(2);
    for (const n of [...left, ...right]) for (const b of prefix) await n.chain.processBlock(b);

    const input = coinbaseInput(prefix[0]!);
    const tx = spendTx([input], [payTo(testKey(2), input.value - 10_000n)]);
    const leftTip = (await mine(left[0]!, 4, { tag: 1 })).pop()!;
    const rightBlocks = await mine(right[0]!, 2, { tag: 2, txs: [tx] });
    const rightTip = rightBlocks[rightBlocks.length - 1]!;
    await waitFor(
      'each side agrees internally',
      () =>
        left.every((n) => n.chain.tip.hash === leftTip.hash) &&
        right.every((n) => n.chain.tip.hash === rightTip.hash),
    );
    const reorgs = right.map((n) => {
      const seen: number[] = [];
      n.chain.on('reorg', ({ depth }) => seen.push(depth));
      return seen;
    });

    // Reconnect: one right-side node restarts knowing a left-side seed too.
    const [rSeed, rNode] = right as [TestNode, TestNode];
    await stopKeeping(rNode);
    const back = await node({
      seeds: [left[0]!.hostname, rSeed.hostname],
      dataDir: rNode.dataDir,
      nodeId: rNode.nodeId,
    });
    const all = [...left, rSeed, back];
    await waitFor(
      'everyone on the most-work tip',
      () => all.every((n) => n.chain.tip.hash === leftTip.hash),
      20_000,
    );
    await waitFor('everyone knows everyone', () => everyoneKnowsEveryone(all));
    expect(reorgs[0]).toEqual([2]);
    // The losing branch's transaction is back in the loser's mempool.
    await waitFor('tx returned to the mempool', () => rSeed.mempool.has(txid(tx)));
  });
});

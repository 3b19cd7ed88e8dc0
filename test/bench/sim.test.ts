import { describe, expect, it } from 'vitest';
import { NETWORKS, checkBlock, ValidationError } from '../../src/core/index.js';
import { SimChain } from '../../bench/sim/chain.js';
import { global2019, loopback, loopback2Cores } from '../../bench/sim/network-model.js';
import type { NetworkModel } from '../../bench/sim/network-model.js';
import { mineBlock, simulate, SHIPPED_P2P, type SimConfig } from '../../bench/sim/simulation.js';
import { jsonSize } from '../../bench/sim/transport.js';
import { VirtualClock } from '../../bench/sim/virtual-clock.js';

describe('virtual clock', () => {
  it('runs timers in due order, ties in the order they were set, intervals repeat, cleared ones never run', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`a2@${clock.now()}`), 10);
    const cleared = clock.setTimeout(() => seen.push('never'), 5);
    clock.clearTimeout(cleared);
    const every = clock.setInterval(() => seen.push(`i@${clock.now()}`), 15);
    await clock.runUntil(31);
    clock.clearInterval(every);
    await clock.runUntil(100);
    expect(seen).toEqual(['a@10', 'a2@10', 'i@15', 'b@20', 'i@30']);
    expect(clock.now()).toBe(100);
  });

  it('lets a callback’s promise chain settle before the next timer, and no real time passes', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push(`chain@${clock.now()}`));
    }, 1);
    clock.setTimeout(() => seen.push(`next@${clock.now()}`), 2);
    const started = Date.now();
    clock.setTimeout(() => seen.push('an hour later'), 3_600_000);
    await clock.runUntil(3_600_000);
    expect(seen).toEqual(['chain@1', 'next@2', 'an hour later']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('message sizes', () => {
  it('counts a body as the length of its JSON, without building it', () => {
    const bodies: unknown[] = [
      {
        hostname: '10.1.2.3:8333',
        nodeId: 'ab'.repeat(16),
        peers: [{ nodeId: 'cd', hostname: 'h:1', lastSeen: 1_767_225_600_123 }],
      },
      {
        a: undefined,
        b: null,
        c: [undefined, () => 1, 0, -0, -12, 3.5, 1e21, NaN, Infinity],
        d: true,
        e: false,
      },
      { text: 'quote " backslash \\ newline \n tab \t bell \u0007 lone \ud800 pair \ud83d\ude00 é' },
      { nested: { deep: [[], {}, [{}]] }, date: new Date(0), withToJSON: { toJSON: () => 'x' } },
      [],
      'plain',
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      0.1 + 0.2,
    ];
    for (const body of bodies) expect(jsonSize(body)).toBe(JSON.stringify(body).length);
    expect(jsonSize(undefined)).toBe(0);
  });
});

describe('simulated chain', () => {
  it('carries real proof of work: its blocks pass core checkBlock on regtest, a tampered one does not', async () => {
    const chain = new SimChain(NETWORKS.regtest);
    const block = mineBlock(chain, 1_800_000_000, 7);
    expect(() => checkBlock(block, NETWORKS.regtest)).not.toThrow();
    // The demo network's harder target: a regtest-difficulty block is refused there.
    expect(() => checkBlock(block, NETWORKS.demo)).toThrow(ValidationError);
    // Another nonce is another hash: about half of them miss even regtest's target, and checkBlock says so.
    let refused = 0;
    for (let n = 1; n <= 64; n++) {
      try {
        checkBlock(
          { ...block, header: { ...block.header, nonce: block.header.nonce + n } },
          NETWORKS.regtest,
        );
      } catch (err) {
        expect((err as ValidationError).code).toBe('bad-blk-pow');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(10);
    expect((await chain.processBlock(block)).status).toBe('connected');
    const child = mineBlock(chain, 1_800_000_010, 8);
    const orphanChain = new SimChain(NETWORKS.regtest);
    expect(await orphanChain.processBlock(child)).toMatchObject({ status: 'orphan' });
    expect(await orphanChain.processBlock(block)).toMatchObject({
      status: 'connected',
      connectedOrphans: [expect.any(String)],
    });
    expect(orphanChain.tip.height).toBe(2);
  });
});

const SMALL: SimConfig = {
  nodes: 30,
  seed: 7,
  model: global2019,
  startSpreadMs: 5_000,
  warmupMs: 15_000,
  blocks: 2,
  blockIntervalMs: 5_000,
  churnPerMinute: 0,
  adversarialShare: 0,
  seedNodes: 4,
  sampleEveryMs: 5_000,
  quantumMs: 1,
  p2p: SHIPPED_P2P,
};

describe('simulation', () => {
  it('30 nodes of the real peer layer converge: every honest node gets every block, books hold live peers', async () => {
    const result = await simulate(SMALL);
    for (const block of result.blocks) {
      expect(block.reached).toBe(1);
      expect(block.p100).not.toBeNull();
    }
    // Every node but the miner received the block over a relay request (compact blocks count: the old counter read 0).
    for (const block of result.blocks) {
      expect(block.relayMessagesPerNode).toBeGreaterThanOrEqual((block.nodes - 1) / block.nodes);
      expect(block.relayBytesPerNode).toBeGreaterThan(block.relayMessagesPerNode * 300);
      expect(block.messagesPerNode).toBeGreaterThan(block.relayMessagesPerNode);
    }
    const last = result.book[result.book.length - 1]!;
    expect(last.triedPerNode).toBeGreaterThan(20);
    expect(last.triedLiveShare).toBe(1);
  }, 120_000);

  it('a node whose tried table is full of live peers stops feeling out the untried table (no churn of good peers)', async () => {
    // 30 nodes, 8 peers each: 21 addresses stay untried; a feeler per 100 ms tick would be ~10 handshakes per node per s.
    const result = await simulate({ ...SMALL, p2p: { ...SHIPPED_P2P, maxPeers: 8 }, warmupMs: 30_000 });
    const last = result.book[result.book.length - 1]!;
    expect(last.triedPerNode).toBe(8);
    expect(last.untriedPerNode).toBeGreaterThan(5);
    expect(result.messagesPerNodePerSecond.advertise).toBeLessThan(2);
  }, 120_000);

  it('is deterministic: the same seed gives the same report, another seed another one', async () => {
    const strip = (r: Awaited<ReturnType<typeof simulate>>) => ({ ...r, run: undefined });
    const a = strip(await simulate({ ...SMALL, nodes: 20 }));
    const b = strip(await simulate({ ...SMALL, nodes: 20 }));
    const c = strip(await simulate({ ...SMALL, nodes: 20, seed: 8 }));
    expect(b).toEqual(a);
    expect(c.blocks).not.toEqual(a.blocks);
  }, 120_000);

  it('on loopback a block costs the service time per hop: slower than the latency alone', async () => {
    const result = await simulate({ ...SMALL, nodes: 12, model: loopback, blocks: 1 });
    expect(result.blocks[0]!.p100).toBeGreaterThanOrEqual(loopback.serviceMs.block);
  }, 120_000);

  it('on one shared machine a block waits for its cores: slower with a core per node taken away, slower still under other load', async () => {
    const config = { ...SMALL, nodes: 24, blocks: 2, quantumMs: 0.1 };
    const p100 = async (model: NetworkModel) =>
      Math.max(...(await simulate({ ...config, model })).blocks.map((b) => b.p100 ?? Infinity));
    const ownCores = await p100({ ...loopback2Cores, sharedCores: undefined });
    const shared = await p100(loopback2Cores);
    const loaded = await p100({ ...loopback2Cores, backgroundThreads: 8 });
    expect(shared).toBeGreaterThan(ownCores);
    // Every CPU time × 5 (1 + 8 / 2); the latency left is ~0.05 ms a hop.
    expect(loaded).toBeGreaterThan(shared * 3);
  }, 120_000);
});

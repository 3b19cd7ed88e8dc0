import { loadavg } from 'node:os';
import { protocolHandlers } from '../../src/api/routes/protocol.js';
import {
  blockHashOf,
  createCoinbaseTx,
  computeMerkleRoot,
  headerHash,
  hashMeetsTarget,
  NETWORKS,
  OP_RETURN,
  fromHex,
  txHash,
  type Block,
  type NetworkParams,
} from '../../src/core/index.js';
import { createLogger, createMetrics, type Logger } from '../../src/obs/index.js';
import { P2P, type P2POptions, type PeerTransport } from '../../src/p2p/index.js';
import { MAX_SAMPLE } from '../../src/p2p/wire.js';
import { Rng } from '../chaos/rng.js';
import { SimChain, SimMempool } from './chain.js';
import type { NetworkModel } from './network-model.js';
import { BLOCK_RELAY_KINDS, SimNetwork, type Endpoint, type Traffic } from './transport.js';
import { VirtualClock } from './virtual-clock.js';

export interface SimConfig {
  nodes: number;
  seed: number;
  model: NetworkModel;
  /** Nodes start at random times within this window, then discover each other before the first block. */
  startSpreadMs: number;
  warmupMs: number;
  blocks: number;
  /** One block every this many ms; each block's propagation is measured within this window. */
  blockIntervalMs: number;
  /** Share of the honest nodes (seeds excepted) replaced by new ones per virtual minute. */
  churnPerMinute: number;
  /** Share of the nodes that flood fake addresses and withhold blocks. */
  adversarialShare: number;
  seedNodes: number;
  /** Peer-book quality is sampled this often. */
  sampleEveryMs: number;
  /** Timers within this many ms run back to back before their promise chains (see VirtualClock.runUntil). */
  quantumMs: number;
  /** The shipped defaults (src/daemon/config.ts) unless a scenario says otherwise. */
  p2p: Pick<
    P2POptions,
    'maxPeers' | 'gossipIntervalMs' | 'relayFanout' | 'joinFanout' | 'requestTimeoutMs' | 'tuning'
  >;
}

export const SHIPPED_P2P: SimConfig['p2p'] = {
  maxPeers: 64,
  gossipIntervalMs: 3000,
  relayFanout: 8,
  joinFanout: 8,
  requestTimeoutMs: 3000,
};

export interface BlockPropagation {
  height: number;
  /** Honest nodes up from the block's creation to the end of its window. */
  nodes: number;
  /** Milliseconds from creation until 50 %, 90 %, 100 % of them had connected it (null: not within the window). */
  p50: number | null;
  p90: number | null;
  p100: number | null;
  /** Share of them that had it at the end of the window. */
  reached: number;
  /** Every node's delay (ms), for the CDF. */
  delays: number[];
  /** Over the block's window, per node up in it: block relay requests (block, cmpctblock, getblocktxn) and their bytes (replies included). */
  relayMessagesPerNode: number;
  relayBytesPerNode: number;
  /** All requests of the window (pings, gossip, feelers, sync too) and all bytes, per node. */
  messagesPerNode: number;
  bytesPerNode: number;
}

export interface BookSample {
  atMs: number;
  /** Mean tried-table size of honest nodes (of at most 200 of them, every k-th: BOOK_SAMPLE_NODES). */
  triedPerNode: number;
  /** Share of tried entries whose address is served by a running node with that id. */
  triedLiveShare: number;
  /** Share of untried entries that name a fake (never existing) address. */
  untriedFakeShare: number;
  /** Mean live peers (the book's own view: answered within the live window). */
  livePerNode: number;
  untriedPerNode: number;
}

export interface SimResult {
  config: Omit<SimConfig, 'model'> & { model: string };
  blocks: BlockPropagation[];
  book: BookSample[];
  /** Requests per honest-or-not node per virtual second over the whole run, by kind. */
  messagesPerNodePerSecond: Record<string, number>;
  bytesPerNodePerSecond: number;
  joined: number;
  left: number;
  run: {
    wallMs: number;
    /** Process CPU time (user + system) of the run: less load-dependent than wall time. */
    cpuMs: number;
    events: number;
    peakRssMb: number;
    peakHeapMb: number;
    virtualMs: number;
    /** 1-minute load average of the machine at the start and end of the run. */
    loadAverage: [number, number];
  };
}

interface SimNode {
  readonly index: number;
  readonly nodeId: string;
  readonly hostname: string;
  readonly adversarial: boolean;
  readonly seed: boolean;
  readonly chain: SimChain;
  readonly p2p: P2P;
  readonly endpoint: Endpoint;
  readonly transport: PeerTransport;
  up: boolean;
  startedAt: number;
}

const FLOOD_EVERY_MS = 1000;
const CHURN_EVERY_MS = 10_000;
/** Peer books read per quality sample (all of them up to this many nodes). */
const BOOK_SAMPLE_NODES = 200;

/** Log lines are not the simulation's output: one shared logger that drops them. */
const silentLogger: Logger = createLogger({ nodeId: 'sim', level: 'error', format: 'json', silent: true });

/**
 * N nodes of the real peer layer (src/p2p's P2P: discovery, peer book,
 * prober, relay, sync) on one virtual clock over the in-memory network, with
 * churn, adversaries and a block every interval; returns what was measured.
 * Everything random comes from the seed: the same config gives the same result.
 */
export async function simulate(
  config: SimConfig,
  /** Called at every peer-book sample (a long run's progress). */
  progress: (virtualMs: number, events: number) => void = () => undefined,
): Promise<SimResult> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const loadAtStart = loadavg()[0]!;
  const params: NetworkParams = NETWORKS.regtest;
  const clock = new VirtualClock();
  const t0 = clock.now();
  const rng = new Rng(config.seed, 0);
  const network = new SimNetwork(clock, config.seed, config.model);
  // One registry for all: per-node metrics are not read here, and thousands of registries cost memory.
  const metrics = createMetrics({ collectDefault: false });
  const nodes: SimNode[] = [];
  const usedHosts = new Set<string>();
  const allHosts = new Set<string>();
  /** hash → node index → ms after the block's creation. */
  const arrivals = new Map<string, Map<number, number>>();
  const created = new Map<string, number>();
  let peakRss = 0;
  let peakHeap = 0;
  let joined = 0;
  let left = 0;

  const newHost = (): string => {
    for (;;) {
      const host = `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}:8333`;
      if (!usedHosts.has(host)) {
        usedHosts.add(host);
        return host;
      }
    }
  };
  const newId = (): string => {
    let id = '';
    for (let i = 0; i < 4; i++) id += rng.int(0, 0xffffffff).toString(16).padStart(8, '0');
    return id;
  };
  const pickRegion = (): number => {
    let x = rng.next();
    for (let i = 0; i < config.model.share.length; i++) {
      x -= config.model.share[i]!;
      if (x < 0) return i;
    }
    return 0;
  };

  const seedHosts: string[] = [];
  const startNode = (
    index: number,
    role: { adversarial: boolean; seed: boolean },
    host?: string,
  ): SimNode => {
    const nodeId = newId();
    const hostname = host ?? newHost();
    allHosts.add(hostname);
    const region = pickRegion();
    const nodeRng = new Rng(config.seed, 1000 + index);
    const chain = new SimChain(params, (hash) => {
      const createdAt = created.get(hash);
      if (createdAt === undefined || role.adversarial) return;
      let byNode = arrivals.get(hash);
      if (!byNode) arrivals.set(hash, (byNode = new Map()));
      byNode.set(index, clock.exactNow() - createdAt);
    });
    const transport = network.transport(
      { nodeId, hostname, network: params.genesisHash, region },
      config.p2p.requestTimeoutMs,
      { withholdBlocks: role.adversarial },
    );
    const seeds = role.seed ? seedHosts.filter((h) => h !== hostname) : nodeRng.sample(seedHosts, 3);
    const p2p = new P2P(
      {
        self: { nodeId, hostname, network: params.genesisHash },
        seeds,
        ...config.p2p,
        clock,
        random: () => nodeRng.next(),
      },
      {
        chain,
        mempool: new SimMempool(),
        metrics,
        logger: silentLogger,
        blockLog: { accepted: () => undefined },
        transport,
      },
    );
    const handlers = protocolHandlers({ params, p2p });
    // Withholding: it keeps the blocks it has to itself when asked for them (and relays none, see the transport).
    if (role.adversarial) handlers.syncBlocks = () => ({ status: 200, body: { blocks: [], more: false } });
    const endpoint: Endpoint = { hostname, region, handlers, up: true, uplinkFreeAt: 0, cpuFreeAt: 0 };
    network.attach(endpoint);
    const node: SimNode = {
      index,
      nodeId,
      hostname,
      ...role,
      chain,
      p2p,
      endpoint,
      transport,
      up: true,
      startedAt: clock.now(),
    };
    nodes[index] = node;
    void p2p.start();
    return node;
  };

  const stopNode = (node: SimNode): void => {
    node.up = false;
    node.endpoint.up = false;
    void node.p2p.stop();
    left++;
  };

  // Seeds at published addresses from the start; the others join at random times within the start window.
  for (let i = 0; i < config.seedNodes; i++) seedHosts.push(newHost());
  const adversaries = Math.round(config.nodes * config.adversarialShare);
  for (let i = 0; i < config.nodes; i++) {
    const role = { adversarial: i >= config.nodes - adversaries, seed: i < config.seedNodes };
    if (role.seed) startNode(i, role, seedHosts[i]);
    else clock.setTimeout(() => startNode(i, role), rng.next() * config.startSpreadMs);
  }

  let nextIndex = config.nodes;
  const honestUp = (): SimNode[] => nodes.filter((n) => n?.up && !n.adversarial);

  // Adversaries: every second each advertises 64 fake addresses (nobody serves them) to a random honest node.
  clock.setInterval(() => {
    const targets = honestUp();
    if (targets.length === 0) return;
    for (const adv of nodes) {
      if (!adv?.up || !adv.adversarial) continue;
      const target = rng.pick(targets);
      const fakes = Array.from({ length: MAX_SAMPLE }, () => ({
        nodeId: newId(),
        hostname: newHost(),
        lastSeen: clock.now(),
      }));
      adv.transport
        .advertise(target.hostname, {
          hostname: adv.hostname,
          nodeId: adv.nodeId,
          network: params.genesisHash,
          peers: fakes,
        })
        .catch(() => undefined);
    }
  }, FLOOD_EVERY_MS);

  // Churn: every 10 s a share of the honest non-seed nodes leaves and as many new ones join.
  if (config.churnPerMinute > 0) {
    clock.setInterval(() => {
      const candidates = honestUp().filter((n) => !n.seed);
      const count = Math.round((config.nodes * config.churnPerMinute * CHURN_EVERY_MS) / 60_000);
      for (const node of rng.sample(candidates, count)) {
        stopNode(node);
        startNode(nextIndex++, { adversarial: false, seed: false });
        joined++;
      }
    }, CHURN_EVERY_MS);
  }

  const book: BookSample[] = [];
  const sampleBook = (): void => {
    let tried = 0;
    let triedLive = 0;
    let untried = 0;
    let untriedFake = 0;
    let live = 0;
    const honest = honestUp();
    // At most BOOK_SAMPLE_NODES books, every k-th honest node (no draw from the run's generator):
    // reading every book of 10,000 nodes every 5 s cost a tenth of the run.
    const stride = Math.max(1, Math.ceil(honest.length / BOOK_SAMPLE_NODES));
    const sampled = honest.filter((_, i) => i % stride === 0);
    const byHost = new Map(nodes.filter((n) => n?.up).map((n) => [n.hostname, n.nodeId]));
    for (const n of sampled) {
      for (const p of n.p2p.peers()) {
        if (p.table === 'tried') {
          tried++;
          if (byHost.get(p.hostname) === p.nodeId) triedLive++;
          if (p.state === 'live') live++;
        } else {
          untried++;
          if (!allHosts.has(p.hostname)) untriedFake++;
        }
      }
    }
    book.push({
      atMs: clock.now() - t0,
      triedPerNode: tried / Math.max(1, sampled.length),
      triedLiveShare: tried === 0 ? 0 : triedLive / tried,
      untriedFakeShare: untried === 0 ? 0 : untriedFake / untried,
      livePerNode: live / Math.max(1, sampled.length),
      untriedPerNode: untried / Math.max(1, sampled.length),
    });
    const mem = process.memoryUsage();
    peakRss = Math.max(peakRss, mem.rss);
    peakHeap = Math.max(peakHeap, mem.heapUsed);
    progress(clock.now() - t0, clock.events);
  };
  clock.setInterval(sampleBook, config.sampleEveryMs);

  // Blocks: each mined by a random honest node up since before the warm-up ended, announced as the node does.
  const blocks: BlockPropagation[] = [];
  const endOfWarmup = t0 + config.warmupMs;
  await clock.runUntil(endOfWarmup, config.quantumMs);
  for (let b = 0; b < config.blocks; b++) {
    const miners = honestUp().filter((n) => n.startedAt < endOfWarmup);
    const miner = rng.pick(miners);
    const block = mineBlock(miner.chain, Math.floor(clock.now() / 1000), b);
    const hash = blockHashOf(block.header);
    created.set(hash, clock.exactNow());
    const present = new Set(honestUp().map((n) => n.index));
    const before = snapshot(network.traffic);
    await miner.chain.processBlock(block);
    miner.p2p.announceBlock(block);
    await clock.runUntil(clock.exactNow() + config.blockIntervalMs, config.quantumMs);
    const stayed = [...present].filter((i) => nodes[i]!.up);
    const window = difference(network.traffic, before);
    const upInWindow = Math.max(1, nodes.filter((n) => n?.up).length);
    const byNode = arrivals.get(hash) ?? new Map<number, number>();
    const delays = stayed.map((i) => byNode.get(i)).filter((d): d is number => d !== undefined);
    delays.sort((x, y) => x - y);
    const at = (share: number): number | null => {
      const k = Math.ceil(share * stayed.length);
      return k <= delays.length ? delays[k - 1]! : null;
    };
    blocks.push({
      height: miner.chain.tip.height,
      nodes: stayed.length,
      p50: at(0.5),
      p90: at(0.9),
      p100: at(1),
      reached: delays.length / Math.max(1, stayed.length),
      delays,
      relayMessagesPerNode: sum(BLOCK_RELAY_KINDS.map((k) => window.messages[k] ?? 0)) / upInWindow,
      relayBytesPerNode:
        sum(BLOCK_RELAY_KINDS.flatMap((k) => [window.bytes[k] ?? 0, window.bytes[`${k}-reply`] ?? 0])) /
        upInWindow,
      messagesPerNode:
        sum(Object.entries(window.messages).map(([k, v]) => (k.endsWith('-reply') ? 0 : v))) / upInWindow,
      bytesPerNode: sum(Object.values(window.bytes)) / upInWindow,
    });
  }
  sampleBook();

  const virtualMs = clock.now() - t0;
  const population = nodes.length - left;
  const perNodeSecond = (count: number): number => count / population / (virtualMs / 1000);
  const messagesPerNodePerSecond: Record<string, number> = {};
  for (const [kind, count] of Object.entries(network.traffic.messages))
    if (!kind.endsWith('-reply')) messagesPerNodePerSecond[kind] = perNodeSecond(count);
  const bytes = sum(Object.values(network.traffic.bytes));
  for (const n of nodes) if (n?.up) void n.p2p.stop();
  const { model, ...rest } = config;
  return {
    config: { ...rest, model: model.name },
    blocks,
    book,
    messagesPerNodePerSecond,
    bytesPerNodePerSecond: perNodeSecond(bytes),
    joined,
    left,
    run: {
      wallMs: performance.now() - wallStart,
      cpuMs: cpuMsSince(cpuStart),
      loadAverage: [loadAtStart, loadavg()[0]!],
      events: clock.events,
      peakRssMb: peakRss / 2 ** 20,
      peakHeapMb: peakHeap / 2 ** 20,
      virtualMs,
    },
  };
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function snapshot(traffic: Traffic): Traffic {
  return { messages: { ...traffic.messages }, bytes: { ...traffic.bytes } };
}

/** Traffic counted since `before`. */
function difference(now: Traffic, before: Traffic): Traffic {
  const minus = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
  return { messages: minus(now.messages, before.messages), bytes: minus(now.bytes, before.bytes) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** A block on `chain`'s tip with real proof of work at the network's minimum difficulty (a couple of hashes). */
export function mineBlock(chain: SimChain, nowSec: number, tag: number): Block {
  const height = chain.tip.height + 1;
  const coinbase = createCoinbaseTx(
    height,
    [{ value: 0n, scriptPubKey: Uint8Array.of(OP_RETURN) }],
    Uint8Array.of(tag & 0xff, (tag >> 8) & 0xff, (tag >> 16) & 0xff),
  );
  const { minTime, bits } = chain.nextBlockContext(nowSec);
  const base = {
    version: 1,
    prevHash: fromHex(chain.tip.hash).reverse(),
    merkleRoot: computeMerkleRoot([txHash(coinbase)]).root,
    time: Math.max(nowSec, minTime),
    bits,
  };
  // A fresh header per nonce: header hashes are cached per header object.
  let header = { ...base, nonce: 0 };
  while (!hashMeetsTarget(headerHash(header), bits)) header = { ...base, nonce: header.nonce + 1 };
  return { header, txs: [coinbase] };
}

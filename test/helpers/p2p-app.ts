/**
 * Test helper: in-process nodes for the peer layer. Each has its own Chain
 * (real LevelDB in a temp dir), Mempool and P2P, served over real HTTP on
 * 127.0.0.1 by a minimal express app that mounts the API's own protocol
 * routes and error mapping (src/api) over it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterEach } from 'vitest';
import { errorHandler } from '../../src/api/errors.js';
import { namesNetwork } from '../../src/api/app.js';
import { protocolRoutes } from '../../src/api/routes/protocol.js';
import { Chain } from '../../src/chain/chain.js';
import { NETWORKS, type NetworkParams } from '../../src/core/consensus/params.js';
import { Mempool } from '../../src/mempool/index.js';
import { NodeError } from '../../src/api/index.js';
import { createLogger } from '../../src/obs/logger.js';
import { createMetrics, type Metrics } from '../../src/obs/metrics.js';
import { P2P, type P2POptions } from '../../src/p2p/index.js';

export interface TestNode {
  readonly nodeId: string;
  readonly hostname: string;
  readonly port: number;
  readonly dataDir: string;
  readonly params: NetworkParams;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly metrics: Metrics;
  readonly p2p: P2P;
  /** Requests served, by route (to count who served a sync). */
  readonly served: Map<string, number>;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface TestNodeOptions {
  seeds?: string[];
  /** Reuse a data dir (restart); a fresh temp dir otherwise. */
  dataDir?: string;
  nodeId?: string;
  /** Listen on this port (restart at the same address); 0 otherwise. */
  port?: number;
  params?: NetworkParams;
  p2p?: Partial<Omit<P2POptions, 'self' | 'seeds' | 'dataDir'>>;
}

/** Fast settings so that multi-node tests converge in a few hundred milliseconds. */
export const FAST: Partial<P2POptions> = {
  maxPeers: 64,
  gossipIntervalMs: 150,
  relayFanout: 8,
  joinFanout: 8,
  requestTimeoutMs: 1000,
  tuning: {
    joinRetryBaseMs: 100,
    joinRetryMaxMs: 500,
    backoffBaseMs: 200,
    backoffMaxMs: 1000,
    saveDebounceMs: 50,
  },
};

export async function startTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const params = opts.params ?? NETWORKS.regtest;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'chainmesh-p2p-')));
  const nodeId = opts.nodeId ?? randomBytes(16).toString('hex');
  const served = new Map<string, number>();
  // Routes exist before the P2P does (its advertised address is the server's port).
  const ref: { p2p?: P2P } = {};
  const app = express();
  // As src/api/app.ts parses bodies (its BODY_LIMIT): relay must fit what real receivers accept.
  app.use(namesNetwork({ params }));
  app.use(express.json({ limit: '4mb', strict: true, type: () => true }));
  app.use((req, _res, next) => {
    served.set(req.path, (served.get(req.path) ?? 0) + 1);
    next();
  });
  app.use(
    protocolRoutes({
      params,
      get p2p(): P2P {
        if (!ref.p2p) throw new NodeError('not-ready');
        return ref.p2p;
      },
    }),
  );
  app.use(errorHandler(() => undefined));

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  // As a node does (src/daemon/node.ts): longer than a PeerClient keeps an idle connection.
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const hostname = `127.0.0.1:${port}`;

  const metrics = createMetrics({ collectDefault: false });
  const logger = createLogger({
    nodeId,
    level: process.env.P2P_TEST_LOG === '1' ? 'debug' : 'error',
    format: 'pretty',
    silent: process.env.P2P_TEST_LOG !== '1',
  });
  const chain = await Chain.open({ dataDir, params });
  const mempool = new Mempool(chain, { maxBytes: 32 << 20 });
  const settings = { ...FAST, ...opts.p2p, tuning: { ...FAST.tuning, ...opts.p2p?.tuning } };
  const node = new P2P(
    {
      maxPeers: 64,
      gossipIntervalMs: 150,
      relayFanout: 8,
      joinFanout: 8,
      requestTimeoutMs: 1000,
      ...settings,
      self: { nodeId, hostname, network: params.genesisHash },
      seeds: opts.seeds ?? [],
      dataDir,
    },
    { chain, mempool, metrics, logger },
  );
  ref.p2p = node;
  await node.start();

  let stopped = false;
  return {
    nodeId,
    hostname,
    port,
    dataDir,
    params,
    chain,
    mempool,
    metrics,
    p2p: node,
    served,
    async stop({ keepData = false } = {}) {
      if (stopped) return;
      stopped = true;
      await node.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      mempool.close();
      await chain.close();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The nodes and stand-in peers one test file starts: after each test they are
 * stopped, their servers closed and their data removed.
 */
export function nodesStoppedAfterEach() {
  const running: TestNode[] = [];
  const rawServers: Server[] = [];
  const leftovers: string[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
    await Promise.all(leftovers.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    for (const s of rawServers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  return {
    async node(opts: TestNodeOptions = {}): Promise<TestNode> {
      const n = await startTestNode(opts);
      running.push(n);
      return n;
    },
    /** Stops `n` keeping its data dir, to start it again from there; the dir goes after the test. */
    async stopKeeping(n: TestNode): Promise<void> {
      running.splice(running.indexOf(n), 1);
      await n.stop({ keepData: true });
      leftovers.push(n.dataDir);
    },
    /** Listens with a raw HTTP server standing in for a peer; its `host:port`. */
    async serveRaw(server: Server): Promise<string> {
      rawServers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  };
}

/** Polls `cond` every 25 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every node's book holds every other node (and never itself). */
export function everyoneKnowsEveryone(nodes: readonly TestNode[]): boolean {
  return nodes.every((n) => {
    const known = new Set(n.p2p.knownNodes().map((p) => p.nodeId));
    return !known.has(n.nodeId) && nodes.every((m) => m === n || known.has(m.nodeId));
  });
}

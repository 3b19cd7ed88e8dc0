/**
 * Test helper: in-process nodes for the peer layer. Each has its own Chain
 * (real LevelDB in a temp dir), Mempool and P2P, served over real HTTP on
 * 127.0.0.1 by a minimal express app that mounts the protocol routes the way
 * src/api does (validate, call P2P, map errors).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { advertisementBody, blockBody, syncBody, transactionsBody } from '../../src/api/validate.js';
import { Chain } from '../../src/chain/chain.js';
import { decodeBlock } from '../../src/core/block.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { isValidationError } from '../../src/core/errors.js';
import { NETWORKS, type NetworkParams } from '../../src/core/params.js';
import { decodeTx } from '../../src/core/tx.js';
import { Mempool } from '../../src/mempool/index.js';
import { NodeError } from '../../src/node/errors.js';
import { createLogger } from '../../src/obs/logger.js';
import { createMetrics, type Metrics } from '../../src/obs/metrics.js';
import {
  HEADER_ADDR,
  HEADER_NETWORK,
  HEADER_NODE_ID,
  P2P,
  type P2POptions,
  type PeerSender,
} from '../../src/p2p/index.js';

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
  app.use(express.json({ limit: '50mb' }));
  app.use((req, res, next) => {
    served.set(req.path, (served.get(req.path) ?? 0) + 1);
    res.set(HEADER_NETWORK, params.genesisHash);
    res.set(HEADER_NODE_ID, nodeId);
    next();
  });
  const sender = (req: Request): PeerSender | undefined => {
    const network = req.get(HEADER_NETWORK);
    if (network !== undefined && network !== params.genesisHash) throw new NodeError('peer-wrong-network');
    const id = req.get(HEADER_NODE_ID);
    if (id === undefined) return undefined;
    const addr = req.get(HEADER_ADDR);
    return addr ? { nodeId: id, hostname: addr } : { nodeId: id };
  };
  const live = (): P2P => {
    if (!ref.p2p) throw new NodeError('not-ready');
    return ref.p2p;
  };
  app.post('/new_node_advertisement', (req, res) => {
    const from = sender(req);
    const body = advertisementBody.parse(req.body);
    res.json(
      live().handleAdvertisement(body, { nodeId: from?.nodeId, network: body.network, addr: from?.hostname }),
    );
  });
  app.get('/known_node_request', (req, res) => {
    sender(req);
    res.json(live().knownNodes());
  });
  app.post('/block', async (req, res) => {
    const from = sender(req);
    const { block } = blockBody.parse(req.body);
    const result = await live().receiveBlock(decodeBlock(fromHex(block)), from);
    res.json({ status: result.status, hash: result.hash, height: result.height ?? null });
  });
  app.post('/transactions', async (req, res) => {
    const from = sender(req);
    const body = transactionsBody.parse(req.body);
    const txs = ('tx' in body ? [body.tx] : body.txs).map((t) => decodeTx(fromHex(t)));
    res.json({ results: await live().receiveTransactions(txs, from) });
  });
  app.post('/sync/blocks', async (req, res) => {
    const from = sender(req);
    const { locator, limit } = syncBody.parse(req.body);
    const { blocks, more } = await live().serveSync(locator, limit ?? 500, from);
    res.json({ blocks: blocks.map(toHex), more });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof NodeError) {
      const status = err.code === 'peer-banned' ? 403 : err.code.startsWith('peer-') ? 409 : 400;
      res.status(status).json({ error: err.code, message: err.message });
    } else if (isValidationError(err)) {
      res.status(400).json({ error: err.code, message: err.message });
    } else if (err instanceof z.ZodError) {
      res.status(400).json({ error: 'bad-request', message: err.message });
    } else {
      res.status(500).json({ error: 'internal', message: String(err) });
    }
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 10_000;
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

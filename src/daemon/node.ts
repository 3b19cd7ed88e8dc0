import { createServer, type Server } from 'node:http';
import {
  createRequestListener,
  NODE_ERROR_CODES,
  NodeError,
  type ApiPort,
  type NodeInfo,
  type Readiness,
} from '../api/index.js';
import { Chain } from '../chain/index.js';
import {
  addressToScript,
  getNetwork,
  hash160,
  p2pkhScript,
  publicKeyOf,
  REJECT_CODES,
  ValidationError,
  type Block,
  type NetworkParams,
  type Transaction,
} from '../core/index.js';
import { Mempool } from '../mempool/index.js';
import { createTemplate, Miner, TipMovingError, type BlockTemplate } from '../miner/index.js';
import {
  BLOCK_SOURCES,
  createLogger,
  createMetrics,
  TX_SOURCES,
  type Logger,
  type Metrics,
} from '../obs/index.js';
import { P2P } from '../p2p/index.js';
import { BlockLog } from './block-log.js';
import { BlockSightings } from './block-sightings.js';
import type { NodeConfig } from './config.js';
import { loadIdentity } from './identity.js';
import { dataDirError, listenError, networkMismatchError, prepareDataDir } from './startup-errors.js';
import { VERSION } from './version.js';

/** How many blocks behind the best peer a node may be and still call itself ready. */
const READY_LAG_BLOCKS = 3;
const SHUTDOWN_DEADLINE_MS = 4500;

/** Rounds of `generate` (each after any block download has finished) before a moving tip is reported. */
const GENERATE_ROUNDS = 3;

/**
 * The composition root: config -> store -> chain -> mempool -> p2p -> miner -> api.
 * It owns lifecycle and the wiring of events into metrics and logs; the
 * business rules live in the layers it composes.
 */
export class ChainmeshNode implements ApiPort {
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  private restartListener: (() => void) | undefined;
  private minerSampler: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly params: NetworkParams,
    readonly nodeId: string,
    readonly defaultPayoutScript: Uint8Array,
    readonly chain: Chain,
    readonly mempool: Mempool,
    readonly miner: Miner,
    readonly p2p: P2P,
    readonly metrics: Metrics,
    readonly logger: Logger,
    private readonly blockLog: BlockLog,
    private readonly sightings: BlockSightings,
  ) {}

  static async start(
    config: NodeConfig,
    opts: { logger?: Logger; metrics?: Metrics } = {},
  ): Promise<ChainmeshNode> {
    const params = getNetwork(config.network);
    await prepareDataDir(config.dataDir);
    const identity = await loadIdentity(config.dataDir).catch((err: unknown) => {
      throw dataDirError(err, config.dataDir) ?? err;
    });
    const payoutScript = config.minerAddress
      ? addressToScript(config.minerAddress, params)
      : p2pkhScript(hash160(publicKeyOf(identity.minerKey)));
    const logger =
      opts.logger ??
      createLogger({ nodeId: identity.nodeId, level: config.logLevel, format: config.logFormat });
    const metrics = opts.metrics ?? createMetrics();
    zeroKnownLabels(metrics);
    metrics.nodeInfo.set({ version: VERSION, network: params.genesisHash }, 1);

    const chain = await Chain.open({ dataDir: config.dataDir, params }).catch((err: unknown) => {
      throw dataDirError(err, config.dataDir) ?? networkMismatchError(err, config) ?? err;
    });
    const mempool = new Mempool(chain, { maxBytes: config.mempoolMaxBytes });
    const sightings = new BlockSightings(config.dataDir, logger);
    await sightings.load();
    // Tip changes and accepted blocks at info so one block can be followed across nodes; one limiter for
    // both, so a burst (sync, bulk generate) is summarised as a whole.
    const blockLog = new BlockLog(logger, {
      summaryEveryMs: 5000,
      syncing: (): boolean => p2p.syncing,
      targetHeight: (): number | undefined => p2p.bestPeerHeight(),
    });
    const p2p = new P2P(
      {
        self: { nodeId: identity.nodeId, hostname: config.advertiseAddr, network: params.genesisHash },
        seeds: [...config.seedHosts],
        dataDir: config.dataDir,
        maxPeers: config.maxPeers,
        gossipIntervalMs: config.gossipIntervalMs,
        relayFanout: config.relayFanout,
        compactBlocks: config.compactBlocks,
        joinFanout: config.joinFanout,
        requestTimeoutMs: config.peerTimeoutMs,
      },
      { chain, mempool, metrics, logger, blockLog },
    );
    const miner = new Miner(chain, mempool, {
      payoutScript,
      intensityPercent: config.miningIntensity,
      threads: config.minerThreads,
    });
    const node = new ChainmeshNode(
      config,
      params,
      identity.nodeId,
      payoutScript,
      chain,
      mempool,
      miner,
      p2p,
      metrics,
      logger,
      blockLog,
      sightings,
    );
    node.wireEvents();
    try {
      await node.listen();
    } catch (err) {
      // Nothing was served yet: release the store (a restart in this process may try again) and say which setting is wrong.
      await node.abandon();
      throw listenError(err, config) ?? err;
    }
    await p2p.start();
    if (config.minerEnabled) miner.start();
    logger.info('node started', {
      network: config.network,
      address: config.advertiseAddr,
      height: chain.height,
      tip: chain.tip.hash,
      seeds: config.seedHosts,
      mining: config.minerEnabled,
    });
    return node;
  }

  private wireEvents(): void {
    const { chain, mempool, miner, metrics, logger, blockLog } = this;
    const updateTip = () => {
      const tip = chain.tip;
      metrics.chainHeight.set(tip.height);
      metrics.chainTipTimestamp.set(tip.header.time);
      metrics.chainTipId.set(Number.parseInt(tip.hash.slice(0, 12), 16));
      metrics.chainWork.set(Number(tip.chainWork));
    };
    updateTip();
    chain.on('tip', updateTip);
    chain.on('connect', ({ block, hash, height }: { block: Block; hash: string; height: number }) => {
      this.sightings.record(hash, Date.now());
      metrics.blocksConnected.inc();
      blockLog.connected({ hash, height, txs: block.txs.length });
    });
    chain.on('reorg', ({ depth, oldTip, newTip }: { depth: number; oldTip: unknown; newTip: unknown }) => {
      metrics.reorgs.inc();
      metrics.reorgDepth.observe(depth);
      logger.warn('reorg', {
        depth,
        oldTip: hashOf(oldTip),
        oldHeight: heightOf(oldTip),
        newTip: hashOf(newTip),
        newHeight: heightOf(newTip),
      });
    });
    chain.on('storeFailed', ({ error }) => {
      logger.error('store write failed: not accepting blocks until a write succeeds (is the disk full?)', {
        error: error.message,
      });
    });
    chain.on('storeRecovered', () => logger.info('store writable again: accepting blocks'));
    chain.on('rejected', ({ hash, code }: { hash: string; code: string }) => {
      metrics.blocksRejected.inc({ reason: code });
      logger.info('block rejected', { hash, code });
    });
    const updateMempool = () => {
      metrics.mempoolTransactions.set(mempool.count);
      metrics.mempoolBytes.set(mempool.bytes);
    };
    mempool.on('accepted', ({ tx, source }: { tx: Transaction; source?: string }) => {
      // API and peer admissions are counted (and relayed) where they arrive; re-admissions after a reorg here.
      if (source === 'reorg') {
        metrics.txAccepted.inc({ source: 'reorg' });
        this.p2p.announceReorged(tx);
      }
      updateMempool();
    });
    mempool.on('removed', updateMempool);
    miner.on('workerFailed', ({ error }: { error: Error }) => {
      logger.warn('mining worker failed; restarting', { error: error.message });
    });
    let hashesCounted = 0;
    this.minerSampler = setInterval(() => {
      const total = miner.hashesTotal;
      metrics.minerHashes.inc(total - hashesCounted);
      hashesCounted = total;
      metrics.minerHashesPerSecond.set(miner.hashesPerSecond);
    }, 1000);
    this.minerSampler.unref();
    miner.on('mined', ({ block, hash }: { block: Block; hash: string }) => {
      void this.acceptMinedBlock(block, hash);
    });
  }

  /** A block from the continuous miner: connect it through the chain, then relay. */
  private async acceptMinedBlock(block: Block, hash: string): Promise<void> {
    try {
      const result = await this.chain.processBlock(block);
      if (result.status === 'connected') {
        this.metrics.minerBlocksMined.inc();
        this.metrics.blocksAccepted.inc({ source: 'local' });
        this.logger.info('block mined', { hash, height: result.height, txs: block.txs.length });
        this.p2p.announceBlock(block);
      }
    } catch (err) {
      // A stale template can lose a race with a block that just arrived; that is not an error of the node.
      const code = err instanceof ValidationError ? err.code : 'internal';
      this.logger.warn('mined block not accepted', { hash, code });
    }
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      // Node checks request deadlines only every connectionsCheckingInterval (30 s by default): a
      // body trickled a byte at a time then held a connection for up to a minute. Checking every
      // second bounds it at the deadline plus a second (hostile peers, slowloris).
      const server = createServer(
        { requestTimeout: this.config.httpRequestTimeoutMs, connectionsCheckingInterval: 1000 },
        createRequestListener(this),
      );
      server.once('error', reject);
      server.listen(this.config.port, this.config.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
      server.keepAliveTimeout = 65_000;
      // Headers alone must not take longer than the whole request may.
      server.headersTimeout = Math.min(66_000, this.config.httpRequestTimeoutMs);
      this.server = server;
    });
  }

  /** Undoes a start that failed before the node served anything; logs nothing. */
  private async abandon(): Promise<void> {
    clearInterval(this.minerSampler);
    this.blockLog.close();
    void this.sightings.close();
    this.server?.close();
    await this.miner.stop();
    await this.chain.close();
  }

  /** Port actually bound (differs from config when PORT=0 in tests). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.config.port;
  }

  /** Regtest's generatetoaddress: mine `count` blocks now and relay them. */
  async generate(count: number, address: string | undefined): Promise<string[]> {
    if (this.params.name !== 'regtest') {
      throw new NodeError(
        'unsupported-network',
        'generate works on regtest only; demo blocks come from the miner',
      );
    }
    const script = address ? addressToScript(address, this.params) : this.defaultPayoutScript;
    const hashes: string[] = [];
    for (let round = 1; hashes.length < count; round++) {
      // Mining on a tip that a running download is about to replace only produces stale blocks.
      await this.p2p.syncIdle();
      let mined: string[];
      let lost: TipMovingError | undefined;
      try {
        // Each block goes to peers the moment it is connected, as the block in hand (no store read).
        mined = await this.miner.generate(count - hashes.length, script, (block) =>
          this.announceMined(block),
        );
      } catch (err) {
        if (!(err instanceof TipMovingError)) throw err;
        mined = err.mined;
        lost = err;
      }
      hashes.push(...mined);
      if (lost && round >= GENERATE_ROUNDS) {
        throw new NodeError(
          'not-ready',
          `${lost.message} (${hashes.length} of ${count} blocks mined): the node is catching up, try again`,
        );
      }
    }
    return hashes;
  }

  private announceMined(block: Block): void {
    this.metrics.minerBlocksMined.inc();
    this.metrics.blocksAccepted.inc({ source: 'api' });
    this.p2p.announceBlock(block);
  }

  /** When this node first connected a block (unix ms), while the bounded record still holds it. */
  blockFirstSeen(hash: string): number | undefined {
    return this.sightings.get(hash);
  }

  /** The block the miner would assemble on the tip right now (its template, without coinbase or nonce). */
  projectedBlock(): BlockTemplate {
    return createTemplate(this.chain, this.mempool, this.defaultPayoutScript, Math.floor(Date.now() / 1000));
  }

  info(): NodeInfo {
    const tip = this.chain.tip;
    return {
      nodeId: this.nodeId,
      network: this.params.genesisHash,
      networkName: this.params.name,
      version: VERSION,
      address: this.config.advertiseAddr,
      height: tip.height,
      tipHash: tip.hash,
      tipTime: tip.header.time,
      chainWork: tip.chainWork.toString(16),
      peers: this.p2p.liveCount,
      knownPeers: this.p2p.knownCount,
      mempool: this.mempool.count,
      mempoolBytes: this.mempool.bytes,
      utxoCount: this.chain.utxoCount,
      utxoValue: this.chain.utxoValue.toString(),
      syncing: this.p2p.syncing,
      mining: this.config.minerEnabled,
      hashesPerSecond: Math.round(this.miner.hashesPerSecond),
    };
  }

  readiness(): Readiness {
    const best = this.p2p.bestPeerHeight();
    const height = this.chain.height;
    const checks = {
      store: this.stopping === undefined && this.chain.storeWritable,
      joined: this.config.seedHosts.length === 0 || this.p2p.joined,
      caughtUp: !this.p2p.syncing && (best === undefined || best - height <= READY_LAG_BLOCKS),
    };
    return {
      ready: checks.store && checks.joined && checks.caughtUp,
      checks,
      height,
      bestPeerHeight: best ?? null,
    };
  }

  /** The process runner decides what a restart means (stop, then start again from DATA_DIR). */
  onRestartRequested(listener: () => void): void {
    this.restartListener = listener;
  }

  requestRestart(): void {
    this.logger.info('restart requested');
    if (this.restartListener) this.restartListener();
    else this.logger.warn('restart requested but this node has no runner to restart it');
  }

  /** Graceful stop: no new requests, current write finished, peers flushed, store closed. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.logger.info('stopping');
    const closed = new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    const forceClose = setTimeout(() => this.server?.closeAllConnections(), 1000);
    clearInterval(this.minerSampler);
    await this.miner.stop();
    await this.p2p.stop();
    await Promise.race([closed, new Promise((r) => setTimeout(r, SHUTDOWN_DEADLINE_MS / 2))]);
    clearTimeout(forceClose);
    await this.sightings.close();
    await this.chain.close();
    this.blockLog.close();
    this.logger.info('stopped');
  }
}

function hashOf(entry: unknown): string | undefined {
  return typeof entry === 'object' && entry !== null && 'hash' in entry ? String(entry.hash) : undefined;
}

function heightOf(entry: unknown): number | undefined {
  return typeof entry === 'object' && entry !== null && 'height' in entry ? Number(entry.height) : undefined;
}

/**
 * Every labelled counter starts at 0 for each label value it can take, so
 * rates and alerts work before the first event (Prometheus instrumentation
 * guidelines: avoid missing metrics).
 */
function zeroKnownLabels(metrics: Metrics): void {
  for (const source of BLOCK_SOURCES) metrics.blocksAccepted.inc({ source }, 0);
  for (const source of TX_SOURCES) metrics.txAccepted.inc({ source }, 0);
  for (const reason of REJECT_CODES) {
    metrics.blocksRejected.inc({ reason }, 0);
    metrics.txRejected.inc({ reason }, 0);
  }
  for (const code of new Set<string>([...REJECT_CODES, ...NODE_ERROR_CODES]))
    metrics.apiErrors.inc({ code }, 0);
}

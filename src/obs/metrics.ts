import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the node exports. Names are an interface (README, dashboards
 * and tests depend on them): `chainmesh_<subsystem>_<what>_<unit>`. Label values
 * are bounded: reject codes, route patterns, fixed kinds — never addresses or
 * hashes.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly nodeInfo: Gauge<'version' | 'network'>;
  readonly chainHeight: Gauge;
  readonly chainTipTimestamp: Gauge;
  readonly chainTipId: Gauge;
  readonly chainWork: Gauge;
  readonly blocksAccepted: Counter<'source'>;
  readonly blocksRejected: Counter<'reason'>;
  readonly blocksConnected: Counter;
  readonly reorgs: Counter;
  readonly reorgDepth: Histogram;
  readonly blockArrivalDelay: Histogram;
  readonly mempoolTransactions: Gauge;
  readonly mempoolBytes: Gauge;
  readonly txAccepted: Counter<'source'>;
  readonly txRejected: Counter<'reason'>;
  readonly peersKnown: Gauge;
  readonly peersLive: Gauge;
  readonly peersTried: Gauge;
  readonly peersUntried: Gauge;
  readonly peersEvicted: Counter<'table'>;
  readonly peerProbes: Counter<'kind' | 'result'>;
  readonly bytesSent: Counter<'kind'>;
  readonly compactBlocks: Counter<'outcome'>;
  readonly peerRequestFailures: Counter<'kind' | 'reason'>;
  readonly messagesSent: Counter<'kind'>;
  readonly gossipRounds: Counter;
  readonly peersBanned: Counter;
  readonly syncing: Gauge;
  readonly syncBlocksDownloaded: Counter;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly apiErrors: Counter<'code'>;
  readonly minerHashesPerSecond: Gauge;
  readonly minerHashes: Counter;
  readonly minerBlocksMined: Counter;
}

export const BLOCK_SOURCES = ['local', 'peer', 'sync', 'api'] as const;
export type BlockSource = (typeof BLOCK_SOURCES)[number];
export const TX_SOURCES = ['api', 'peer', 'reorg'] as const;
export type TxSource = (typeof TX_SOURCES)[number];
export type PeerRequestKind =
  'advertise' | 'known_nodes' | 'ping' | 'block' | 'tx' | 'sync' | 'cmpctblock' | 'getblocktxn';
/** What a block costs on the wire, by message: full blocks, compact blocks, and the fetches that complete them. */
export const BLOCK_RELAY_KINDS = ['block', 'cmpctblock', 'getblocktxn', 'blocktxn'] as const;
/** rebuilt: from the mempool alone; missing_fetched: after fetching what it lacked; failed: not rebuilt (the full block is fetched). */
export const COMPACT_BLOCK_OUTCOMES = ['rebuilt', 'missing_fetched', 'failed'] as const;
export type CompactBlockOutcome = (typeof COMPACT_BLOCK_OUTCOMES)[number];
/** feeler: an untried address probed for promotion; verify: a dial-back of an advertised address; ping: liveness of a tried peer. */
export type PeerProbeKind = 'feeler' | 'verify' | 'ping';
export type PeerFailureReason = 'timeout' | 'network' | 'http' | 'bad-response' | 'wrong-network';

/**
 * How often nodejs_eventloop_lag_* samples the loop. prom-client's default, 10 ms, wakes an
 * idle node 100 times a second: half of its idle CPU (0.5 of 1.0 CPU s per idle minute,
 * bench/scale/idle.ts), which 100 nodes on one machine pay 100 times. At 100 ms any stall of
 * 100 ms or more still shows in the lag quantiles the node dashboard plots.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** One registry per node, so several in-process nodes (tests) never share counters. */
export function createMetrics(opts: { collectDefault?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Process and runtime metrics keep their standard names (process_*, nodejs_*), so the
  // standard Node.js and process dashboards and alerts work on a node unchanged.
  if (opts.collectDefault !== false)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const registers = [registry];
  const gauge = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string = never>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: L[] = [],
  ) => new Histogram<L>({ name, help, buckets, labelNames, registers });

  const zeroed = <L extends string>(c: Counter<L>, labelSets: Array<Record<L, string>>): Counter<L> => {
    for (const labels of labelSets) c.inc(labels as never, 0);
    return c;
  };

  return {
    registry,
    nodeInfo: gauge(
      'chainmesh_node_info',
      'Constant 1, labelled with the node version and network id (genesis hash)',
      ['version', 'network'],
    ),
    chainHeight: gauge('chainmesh_chain_height', 'Height of the best chain tip'),
    chainTipTimestamp: gauge(
      'chainmesh_chain_tip_timestamp_seconds',
      'Header time of the best chain tip (unix s)',
    ),
    chainTipId: gauge(
      'chainmesh_chain_tip_id',
      'First 48 bits of the tip hash as an integer: nodes with equal values share a tip',
    ),
    chainWork: gauge('chainmesh_chain_work', 'Cumulative proof of work of the best chain (expected hashes)'),
    blocksAccepted: counter(
      'chainmesh_chain_blocks_accepted_total',
      'Valid new blocks stored, by where they came from',
      ['source'],
    ),
    blocksRejected: counter('chainmesh_chain_blocks_rejected_total', 'Invalid blocks, by reject code', [
      'reason',
    ]),
    blocksConnected: counter('chainmesh_chain_blocks_connected_total', 'Blocks connected to the best chain'),
    reorgs: counter(
      'chainmesh_chain_reorgs_total',
      'Chain reorganisations (at least one block disconnected)',
    ),
    reorgDepth: histogram(
      'chainmesh_chain_reorg_depth_blocks',
      'Blocks disconnected per reorganisation',
      [1, 2, 3, 5, 8, 13, 21, 50, 100],
    ),
    blockArrivalDelay: histogram(
      'chainmesh_chain_block_arrival_delay_seconds',
      'Time from a block header timestamp to its first arrival from a peer',
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    ),
    mempoolTransactions: gauge('chainmesh_mempool_transactions', 'Transactions in the mempool'),
    mempoolBytes: gauge('chainmesh_mempool_bytes', 'Serialized size of the mempool'),
    txAccepted: counter(
      'chainmesh_mempool_tx_accepted_total',
      'Transactions accepted to the mempool, by source',
      ['source'],
    ),
    txRejected: counter('chainmesh_mempool_tx_rejected_total', 'Transactions refused, by reject code', [
      'reason',
    ]),
    peersKnown: gauge('chainmesh_p2p_peers_known', 'Addresses in the peer book, tried and untried'),
    peersLive: gauge('chainmesh_p2p_peers_live', 'Tried peers that answered recently'),
    peersTried: gauge('chainmesh_p2p_peers_tried', 'Peers a handshake on this network reached'),
    peersUntried: gauge('chainmesh_p2p_peers_untried', 'Addresses only heard of, not yet reached'),
    // Every label value exported from the start: a rare event's rate is 0, not "no data".
    peersEvicted: zeroed(
      counter('chainmesh_p2p_peers_evicted_total', 'Entries evicted from a full table', ['table']),
      [{ table: 'tried' }, { table: 'untried' }],
    ),
    peerProbes: zeroed(
      counter('chainmesh_p2p_probes_total', 'Probes of addresses and peers, by kind and result', [
        'kind',
        'result',
      ]),
      (['feeler', 'verify', 'ping'] as const).flatMap((kind) =>
        (['ok', 'failed'] as const).map((result) => ({ kind, result })),
      ),
    ),
    bytesSent: zeroed(
      counter(
        'chainmesh_p2p_bytes_sent_total',
        'Bytes sent to peers, by kind: request bodies, and blocktxn answers to a getblocktxn',
        ['kind'],
      ),
      BLOCK_RELAY_KINDS.map((kind) => ({ kind })),
    ),
    compactBlocks: zeroed(
      counter('chainmesh_p2p_compact_blocks_total', 'Compact blocks received, by how they were rebuilt', [
        'outcome',
      ]),
      COMPACT_BLOCK_OUTCOMES.map((outcome) => ({ outcome })),
    ),
    peerRequestFailures: counter('chainmesh_p2p_request_failures_total', 'Failed requests to peers', [
      'kind',
      'reason',
    ]),
    messagesSent: counter('chainmesh_p2p_messages_sent_total', 'Requests sent to peers, by kind', ['kind']),
    gossipRounds: counter('chainmesh_p2p_gossip_rounds_total', 'Peer-sample exchanges started by this node'),
    peersBanned: counter('chainmesh_p2p_peers_banned_total', 'Peers banned for misbehaviour'),
    syncing: gauge('chainmesh_sync_syncing', '1 while downloading blocks from a peer with more work'),
    syncBlocksDownloaded: counter('chainmesh_sync_blocks_downloaded_total', 'Blocks received through sync'),
    httpRequestDuration: histogram(
      'chainmesh_http_request_duration_seconds',
      'HTTP request duration, by method, route pattern and status',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ['method', 'route', 'status'],
    ),
    apiErrors: counter('chainmesh_api_errors_total', 'Error responses, by error code', ['code']),
    minerHashesPerSecond: gauge('chainmesh_miner_hashes_per_second', 'Current mining hash rate'),
    minerHashes: counter('chainmesh_miner_hashes_total', 'Header hashes computed by the miner'),
    minerBlocksMined: counter('chainmesh_miner_blocks_mined_total', 'Blocks found by this node'),
  };
}

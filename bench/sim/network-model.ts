/**
 * Where simulated nodes live and what a message between two of them costs:
 * regions with a share of the nodes, a mean one-way latency between each pair
 * of regions, and the sender's upload bandwidth towards the receiver's region.
 *
 * `global2019` is SimBlock's Bitcoin 2019 model (Aoki et al., "SimBlock: A
 * Blockchain Network Simulator", IEEE INFOCOM Workshops 2019; the tables of
 * simulator/src/main/java/simblock/settings/NetworkConfiguration.java:
 * LATENCY_2019, UPLOAD_BANDWIDTH_2019, REGION_DISTRIBUTION_BITCOIN_2019),
 * measured from Bitcoin nodes' regions and public latency and speed-test data.
 * `loopback` is one machine: the model under which the sim is checked against
 * real processes (bench/cluster.bench.ts).
 */
export interface NetworkModel {
  readonly name: string;
  readonly regions: readonly string[];
  /** Share of the nodes in each region (sums to 1). */
  readonly share: readonly number[];
  /** Mean one-way latency from region i to region j, ms. */
  readonly latencyMs: readonly (readonly number[])[];
  /** Upload bandwidth of a node in region i towards region j, bits per second. */
  readonly uploadBps: readonly (readonly number[])[];
  /** A link's latency is the mean times a factor drawn once per link, uniform in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /**
   * Time a node spends on one request before answering (parsing, validation,
   * storage), ms, by request kind; requests wait for the node's previous ones
   * (one core per node).
   */
  readonly serviceMs: Readonly<Record<'block' | 'sync' | 'other', number>>;
  /** CPU the sender spends on each request before it leaves (encoding, the socket), ms; 0 if absent. */
  readonly sendMs?: number;
  /**
   * All nodes on one machine of this many cores: every node's CPU time (sendMs, serviceMs) also
   * waits for a free core of the machine. Absent: each node has its own core.
   */
  readonly sharedCores?: number;
  /**
   * Threads of other programs always runnable on those shared cores (a shared machine's load):
   * every CPU time takes 1 + backgroundThreads / sharedCores times as long, as under fair sharing
   * with few of the nodes runnable at once. Absent: 0 (the machine is the nodes' alone).
   */
  readonly backgroundThreads?: number;
}

const M = 1_000_000;

export const global2019: NetworkModel = {
  name: 'global-2019',
  regions: ['north-america', 'europe', 'south-america', 'asia-pacific', 'japan', 'australia'],
  share: [0.3316, 0.4998, 0.009, 0.1177, 0.0224, 0.0195],
  latencyMs: [
    [32, 124, 184, 198, 151, 189],
    [124, 11, 227, 237, 252, 294],
    [184, 227, 88, 325, 301, 322],
    [198, 237, 325, 85, 58, 198],
    [151, 252, 301, 58, 12, 126],
    [189, 294, 322, 198, 126, 16],
  ],
  uploadBps: [
    [19.2 * M, 20.7 * M, 5.8 * M, 15.7 * M, 10.2 * M, 11.3 * M],
    [20.7 * M, 20.7 * M, 5.8 * M, 15.7 * M, 10.2 * M, 11.3 * M],
    [5.8 * M, 5.8 * M, 5.8 * M, 5.8 * M, 5.8 * M, 5.8 * M],
    [15.7 * M, 15.7 * M, 5.8 * M, 15.7 * M, 10.2 * M, 11.3 * M],
    [10.2 * M, 10.2 * M, 5.8 * M, 10.2 * M, 10.2 * M, 10.2 * M],
    [11.3 * M, 11.3 * M, 5.8 * M, 11.3 * M, 10.2 * M, 11.3 * M],
  ],
  jitter: 0.2,
  // A small block's checks and an HTTP round of JSON on a server core (block-validate and api benches' order).
  serviceMs: { block: 2, sync: 2, other: 0.2 },
};

/**
 * One 2-core machine running every node as a process: loopback latency is
 * negligible next to the time each process takes to serve a request, which is
 * what this model's service times stand for (see bench/results/sim.md for how
 * they were set and checked).
 */
export const loopback: NetworkModel = {
  name: 'loopback',
  regions: ['localhost'],
  share: [1],
  latencyMs: [[0.05]],
  uploadBps: [[4_000 * M]],
  jitter: 0.2,
  serviceMs: { block: 12, sync: 12, other: 2 },
};

/**
 * The real-process runs of `make scale`: every node a process on one 2-core machine. Loopback
 * latency is negligible; what a block waits for is CPU, its node's and the machine's. CPU costs
 * are set from the scale run's own measurements, not fitted to its propagation times
 * (bench/results/sim.md, "Simulator against real processes"): an idle node spends ~23 ms of CPU
 * a second on ~4 requests sent and ~4 served (1.4 CPU s a minute), so ~2 ms to serve one and
 * ~1 ms to send one; a new compact block costs its receiver ~4 ms (N = 10: 4.1 CPU ms per node
 * per block, 0.9 relay messages per node).
 */
export const loopback2Cores: NetworkModel = {
  name: 'loopback-2-cores',
  regions: ['localhost'],
  share: [1],
  latencyMs: [[0.05]],
  uploadBps: [[4_000 * M]],
  jitter: 0.2,
  serviceMs: { block: 4, sync: 4, other: 2 },
  sendMs: 1,
  sharedCores: 2,
};

export const MODELS: Record<string, NetworkModel> = {
  [global2019.name]: global2019,
  [loopback.name]: loopback,
  [loopback2Cores.name]: loopback2Cores,
};

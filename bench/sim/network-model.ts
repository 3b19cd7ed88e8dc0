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

export const MODELS: Record<string, NetworkModel> = {
  [global2019.name]: global2019,
  [loopback.name]: loopback,
};

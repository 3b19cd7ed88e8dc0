import { z } from 'zod';
import { NETWORKS } from '../core/index.js';
import { describeFetchFailure } from '../wallet/index.js';
import { NodeRequestError, nodeJson } from './http.js';

/** The fields of a node's `GET /info` that status reads; anything else answering there is not a chainmesh node. */
const infoSchema = z.object({
  nodeId: z.string(),
  network: z.string(),
  networkName: z.string(),
  version: z.string(),
  address: z.string(),
  height: z.number().int().nonnegative(),
  tipHash: z.string().regex(/^[0-9a-f]{64}$/),
  tipTime: z.number(),
  chainWork: z.string().regex(/^[0-9a-f]+$/),
  peers: z.number(),
  knownPeers: z.number(),
  mempool: z.number(),
  mempoolBytes: z.number(),
  syncing: z.boolean(),
  mining: z.boolean(),
  hashesPerSecond: z.number(),
});
export type NodeInfo = z.infer<typeof infoSchema>;

const peersSchema = z.array(
  z.object({
    nodeId: z.string(),
    hostname: z.string(),
    state: z.string(),
    height: z.number().optional(),
  }),
);

/** How one node of the cluster compares with the node asked. */
export type NodeState =
  'ok' | 'behind' | 'ahead' | 'forked' | 'syncing' | 'unreachable' | 'wrong-node' | 'wrong-network';

export interface ClusterNode {
  nodeId: string;
  address: string;
  height: number | null;
  tipHash: string | null;
  /** `self`: the node asked; `asked`: its own /info; `peer-book`: only what the asked node's peer book says. */
  source: 'self' | 'asked' | 'peer-book';
  state: NodeState;
  /** Why the node is not `ok`, in words. */
  detail?: string;
}

export interface Status {
  url: string;
  /** Network name as the genesis hash identifies it (`unknown` for a genesis this build does not know). */
  network: string;
  info: NodeInfo;
  nodes: ClusterNode[];
  /** Distinct tips among the nodes that answered. */
  distinctTips: number;
}

const PEER_TIMEOUT_MS = 2000;
const PEERS_IN_FLIGHT = 16;

function networkOf(genesisHash: string): string {
  for (const [name, params] of Object.entries(NETWORKS)) if (params.genesisHash === genesisHash) return name;
  return 'unknown';
}

/** Asks `url` for its state and its peers, then every peer for its own, and compares their tips. */
export async function collectStatus(url: string): Promise<Status> {
  const infoUrl = `${url}/info`;
  const parsed = infoSchema.safeParse(await nodeJson(infoUrl));
  if (!parsed.success)
    throw new NodeRequestError(
      infoUrl,
      'garbage',
      `${infoUrl} answered JSON that is not a chainmesh node's /info`,
    );
  const info = parsed.data;
  const peersUrl = `${url}/peers`;
  const peersParsed = peersSchema.safeParse(await nodeJson(peersUrl));
  if (!peersParsed.success)
    throw new NodeRequestError(peersUrl, 'garbage', `${peersUrl} answered JSON that is not a peer list`);

  const self: ClusterNode = {
    nodeId: info.nodeId,
    address: info.address,
    height: info.height,
    tipHash: info.tipHash,
    source: 'self',
    state: info.syncing ? 'syncing' : 'ok',
  };
  const peers = peersParsed.data;
  const others: ClusterNode[] = new Array(peers.length);
  let next = 0;
  const worker = async () => {
    while (next < peers.length) {
      const i = next++;
      others[i] = await askPeer(peers[i]!, info);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PEERS_IN_FLIGHT, peers.length) }, worker));
  others.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
  const nodes = [self, ...others];
  for (const n of nodes) compareWith(n, info);
  const tips = new Set(nodes.filter((n) => n.source !== 'peer-book' && n.tipHash).map((n) => n.tipHash));
  return { url, network: networkOf(info.network), info, nodes, distinctTips: tips.size };
}

async function askPeer(peer: z.infer<typeof peersSchema>[number], asked: NodeInfo): Promise<ClusterNode> {
  const fromBook: ClusterNode = {
    nodeId: peer.nodeId,
    address: peer.hostname,
    height: peer.height ?? null,
    tipHash: null,
    source: 'peer-book',
    state: 'unreachable',
  };
  const peerUrl = `http://${peer.hostname}/info`;
  let answer: unknown;
  try {
    answer = await nodeJson(peerUrl, { timeoutMs: PEER_TIMEOUT_MS });
  } catch (err) {
    const why =
      err instanceof NodeRequestError && err.kind === 'unreachable'
        ? (err.code ?? describeFetchFailure(err, PEER_TIMEOUT_MS).code)
        : 'bad answer';
    return { ...fromBook, detail: `not reachable from here: ${why}` };
  }
  const parsed = infoSchema.safeParse(answer);
  if (!parsed.success)
    return { ...fromBook, state: 'wrong-node', detail: 'not a chainmesh node answers there' };
  const info = parsed.data;
  if (info.nodeId !== peer.nodeId)
    return { ...fromBook, state: 'wrong-node', detail: `node ${info.nodeId.slice(0, 8)} answers there` };
  if (info.network !== asked.network)
    return {
      ...fromBook,
      state: 'wrong-network',
      detail: `network ${networkOf(info.network)} (genesis ${info.network.slice(0, 16)})`,
    };
  return {
    nodeId: info.nodeId,
    address: peer.hostname,
    height: info.height,
    tipHash: info.tipHash,
    source: 'asked',
    state: info.syncing ? 'syncing' : 'ok',
  };
}

/** A node that answered is `ok` on the asked node's tip, else behind, ahead or forked relative to it. */
function compareWith(node: ClusterNode, asked: NodeInfo): void {
  if (node.source === 'peer-book' || node.tipHash === null || node.height === null) return;
  if (node.tipHash === asked.tipHash) return;
  const diff = node.height - asked.height;
  if (diff < 0) {
    node.state = node.state === 'syncing' ? 'syncing' : 'behind';
    node.detail = `${-diff} block${diff === -1 ? '' : 's'} behind`;
  } else if (diff > 0) {
    node.state = 'ahead';
    node.detail = `${diff} block${diff === 1 ? '' : 's'} ahead`;
  } else {
    node.state = 'forked';
    node.detail = 'another tip at the same height';
  }
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];

/** 1234567 → "1.23 M"; exact below 10,000. */
export function formatQuantity(value: bigint | number): string {
  const n = typeof value === 'bigint' ? value : BigInt(Math.round(value));
  if (n < 10_000n) return n.toString();
  const digits = n.toString().length;
  const group = Math.min(Math.floor((digits - 1) / 3), SI.length - 1);
  const scaled = Number(n / 10n ** BigInt(Math.max(group * 3 - 3, 0))) / (group === 0 ? 1 : 1000);
  return `${scaled.toFixed(scaled < 10 ? 2 : scaled < 100 ? 1 : 0)} ${SI[group]}`;
}

function age(seconds: number): string {
  if (seconds < 0) return `${-seconds} s in the future`;
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The status as people read it: the node asked, then every node it knows, with disagreements flagged. */
export function renderStatus(status: Status, now = Date.now()): string {
  const { info } = status;
  const work = BigInt(`0x${info.chainWork}`);
  const tipAge = Math.round(now / 1000) - info.tipTime;
  const summary = table(
    ['', ''],
    [
      ['node', `${status.url}  id ${info.nodeId.slice(0, 8)}  chainmesh ${info.version}`],
      ['network', status.network === 'unknown' ? `unknown (genesis ${info.network})` : status.network],
      ['height', String(info.height)],
      ['tip', `${info.tipHash}  ${new Date(info.tipTime * 1000).toISOString()} (${age(tipAge)})`],
      ['chain work', `${formatQuantity(work)} hashes expected (0x${info.chainWork})`],
      ['peers', `${info.peers} live, ${info.knownPeers} known`],
      ['mempool', `${info.mempool} transactions, ${formatQuantity(info.mempoolBytes)} bytes`],
      ['syncing', info.syncing ? 'yes' : 'no'],
      ['mining', info.mining ? `yes, ${formatQuantity(info.hashesPerSecond)} hashes/s` : 'no'],
    ],
  ).slice(1);
  const rows = status.nodes.map((n) => [
    n.source === 'self' ? `${n.nodeId.slice(0, 8)}*` : n.nodeId.slice(0, 8),
    n.address,
    n.height === null ? '-' : n.source === 'peer-book' ? `${n.height}?` : String(n.height),
    n.tipHash === null ? '-' : n.tipHash.slice(0, 16),
    n.state === 'ok' ? 'ok' : `${n.state.toUpperCase()}${n.detail ? `: ${n.detail}` : ''}`,
  ]);
  const answered = status.nodes.filter((n) => n.source !== 'peer-book');
  const onTip = answered.filter((n) => n.tipHash === info.tipHash).length;
  const verdict =
    status.distinctTips <= 1
      ? `all ${answered.length} nodes that answered agree on the tip`
      : `DISAGREEMENT: ${status.distinctTips} distinct tips; ${onTip} of ${answered.length} nodes on this node's tip`;
  const unreachable = status.nodes.length - answered.length;
  return [
    ...summary,
    '',
    `nodes (${status.nodes.length}: this one (*) and its peers, each asked directly)`,
    ...table(['node', 'address', 'height', 'tip', 'state'], rows),
    `${verdict}${unreachable > 0 ? `; ${unreachable} not reachable from here (height? is what the peer book says)` : ''}`,
    '',
  ].join('\n');
}

import { z } from 'zod';
import type { PeerView } from '../../p2p/index.js';
import type { ExplorerNode } from './port.js';

/** One node of the cluster as this node sees it, itself included. */
export interface ClusterRow {
  readonly nodeId: string;
  readonly hostname: string;
  readonly self: boolean;
  readonly height?: number;
  readonly tipHash?: string;
  /** How this node's chain compares with ours. */
  readonly verdict: Verdict;
  /** One line for people: "behind by 2", "timed out after 1500 ms", … */
  readonly detail: string;
}

export type Verdict =
  'same-tip' | 'behind' | 'ahead' | 'other-branch' | 'other-network' | 'other-node' | 'unreachable';

/** Verdicts that mean the node does not agree with this one (behind and ahead are only lagging or leading). */
export const DISAGREES: ReadonlySet<Verdict> = new Set(['other-branch', 'other-network', 'other-node']);

export interface ClusterOptions {
  /** Deadline of one peer's /info request. */
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Peers asked at most (the peer book is capped, this keeps one page's cost small). */
  maxPeers: number;
  /** A snapshot is reused this long: page views never multiply requests to peers. */
  ttlMs: number;
}

export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  timeoutMs: 1500,
  concurrency: 8,
  maxPeers: 64,
  ttlMs: 3000,
};

const peerInfoAnswer = z.object({
  nodeId: z.string().regex(/^[0-9a-f]{32}$/),
  network: z.string().regex(/^[0-9a-f]{64}$/),
  height: z.number().int().nonnegative(),
  tipHash: z.string().regex(/^[0-9a-f]{64}$/),
});

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The cluster as this node can see it: every peer in its book asked for its
 * /info (the data `chainmesh status` prints) over plain HTTP, server-side,
 * with a short deadline and bounded concurrency, and compared with this
 * node's own chain. What a peer answers is validated before it is shown.
 */
export class ClusterView {
  private cached: { at: number; rows: Promise<ClusterRow[]> } | undefined;

  constructor(
    private readonly node: ExplorerNode,
    private readonly opts: ClusterOptions = DEFAULT_CLUSTER_OPTIONS,
  ) {}

  snapshot(): Promise<ClusterRow[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > this.opts.ttlMs) {
      this.cached = { at: now, rows: this.collect() };
    }
    return this.cached.rows;
  }

  private async collect(): Promise<ClusterRow[]> {
    const { chain, nodeId, config } = this.node;
    const self: ClusterRow = {
      nodeId,
      hostname: config.advertiseAddr,
      self: true,
      height: chain.height,
      tipHash: chain.tip.hash,
      verdict: 'same-tip',
      detail: 'this node',
    };
    const peers = this.node.p2p
      .peers()
      // Only tried peers: asking untried addresses would let anyone who advertises fakes make page views dial them.
      .filter((p) => p.state !== 'banned' && p.table === 'tried')
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, this.opts.maxPeers);
    const rows: ClusterRow[] = new Array(peers.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < peers.length; i = next++) rows[i] = await this.ask(peers[i] as PeerView);
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, peers.length) }, worker));
    return [self, ...rows.sort((a, b) => a.hostname.localeCompare(b.hostname))];
  }

  private async ask(peer: PeerView): Promise<ClusterRow> {
    const base = { nodeId: peer.nodeId, hostname: peer.hostname, self: false };
    let answer: z.infer<typeof peerInfoAnswer>;
    try {
      const res = await fetch(`http://${peer.hostname}/info`, {
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      const text = await res.text();
      if (!res.ok) return { ...base, verdict: 'unreachable', detail: `answered HTTP ${res.status}` };
      if (text.length > MAX_ANSWER_BYTES)
        return { ...base, verdict: 'unreachable', detail: 'answer too large' };
      const parsed = peerInfoAnswer.safeParse(JSON.parse(text));
      if (!parsed.success)
        return { ...base, verdict: 'unreachable', detail: 'answered something other than /info' };
      answer = parsed.data;
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return {
        ...base,
        verdict: 'unreachable',
        detail: timedOut ? `no answer within ${this.opts.timeoutMs} ms` : 'not reachable',
      };
    }
    const known = { ...base, height: answer.height, tipHash: answer.tipHash };
    if (answer.nodeId !== peer.nodeId) {
      return { ...known, verdict: 'other-node', detail: `node ${answer.nodeId.slice(0, 12)} answers there` };
    }
    return { ...known, ...this.compare(answer) };
  }

  private compare(answer: z.infer<typeof peerInfoAnswer>): Pick<ClusterRow, 'verdict' | 'detail'> {
    const { chain, params } = this.node;
    if (answer.network !== params.genesisHash) {
      return { verdict: 'other-network', detail: `on network ${answer.network.slice(0, 16)}…` };
    }
    if (answer.tipHash === chain.tip.hash) return { verdict: 'same-tip', detail: 'same tip' };
    const lag = chain.height - answer.height;
    if (lag >= 0 && chain.getHashAtHeight(answer.height) === answer.tipHash) {
      return { verdict: 'behind', detail: `behind by ${lag}` };
    }
    if (lag < 0) {
      // Its tip is beyond ours: on our chain if its block at our height is our tip, which we cannot see from here.
      return { verdict: 'ahead', detail: `ahead by ${-lag}` };
    }
    return {
      verdict: 'other-branch',
      detail: chain.getEntry(answer.tipHash)
        ? 'tip on a branch this node left'
        : 'tip not on this node’s chain',
    };
  }
}

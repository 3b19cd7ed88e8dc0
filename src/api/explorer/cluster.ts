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

type InfoAnswer = z.infer<typeof peerInfoAnswer>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A body as text if it is at most `max` bytes; a longer one is cut off unread, never buffered whole. */
async function readAtMost(res: Response, max: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    length += part.value.length;
    if (length > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(part.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What one peer said (or why it said nothing), kept between snapshots. */
interface Observation {
  readonly nodeId: string;
  readonly hostname: string;
  readonly answer?: InfoAnswer;
  readonly failure?: string;
}

/**
 * The cluster as this node can see it: every peer in its book asked for its
 * /info (the data `chainmesh status` prints) over plain HTTP, server-side,
 * with a short deadline and bounded concurrency, and compared with this
 * node's own chain. What a peer answers is validated before it is shown.
 */
export class ClusterView {
  /** The last finished round of questions and when it was started. */
  private last: { at: number; seen: Observation[] } | undefined;
  /** The round being collected, shared by every page view meanwhile. */
  private pending: Promise<Observation[]> | undefined;

  constructor(
    private readonly node: ExplorerNode,
    private readonly opts: ClusterOptions = DEFAULT_CLUSTER_OPTIONS,
  ) {}

  /**
   * Every known node compared with this node's chain as it is now. A page
   * never waits on slow peers once a round of answers exists: the last one
   * is used while a fresh one is collected in the background (only the very
   * first view waits), and answers are compared with the current tip, so a
   * block that just arrived is never shown against an old one.
   */
  async snapshot(): Promise<ClusterRow[]> {
    const now = Date.now();
    if (!this.pending && (!this.last || now - this.last.at > this.opts.ttlMs)) {
      // ask() never throws: every failure is an observation.
      this.pending = this.collect().then((seen) => {
        this.last = { at: now, seen };
        this.pending = undefined;
        return seen;
      });
    }
    const seen = this.last ? this.last.seen : await (this.pending as Promise<Observation[]>);
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
    return [self, ...seen.map((o) => this.toRow(o))];
  }

  private async collect(): Promise<Observation[]> {
    const peers = this.node.p2p
      .peers()
      // Only tried peers: asking untried addresses would let anyone who advertises fakes make page views dial them.
      .filter((p) => p.state !== 'banned' && p.table === 'tried')
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, this.opts.maxPeers);
    const seen: Observation[] = new Array(peers.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < peers.length; i = next++) seen[i] = await this.ask(peers[i] as PeerView);
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, peers.length) }, worker));
    return seen.sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  private async ask(peer: PeerView): Promise<Observation> {
    const base = { nodeId: peer.nodeId, hostname: peer.hostname };
    try {
      const res = await fetch(`http://${peer.hostname}/info`, {
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { ...base, failure: `answered HTTP ${res.status}` };
      }
      const text = await readAtMost(res, MAX_ANSWER_BYTES);
      if (text === undefined) return { ...base, failure: 'answer too large' };
      const parsed = peerInfoAnswer.safeParse(parseJson(text));
      if (!parsed.success) return { ...base, failure: 'answered something other than /info' };
      return { ...base, answer: parsed.data };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return { ...base, failure: timedOut ? `no answer within ${this.opts.timeoutMs} ms` : 'not reachable' };
    }
  }

  private toRow({ nodeId, hostname, answer, failure }: Observation): ClusterRow {
    const base = { nodeId, hostname, self: false };
    if (!answer) return { ...base, verdict: 'unreachable', detail: failure ?? 'not reachable' };
    const known = { ...base, height: answer.height, tipHash: answer.tipHash };
    if (answer.nodeId !== nodeId) {
      return { ...known, verdict: 'other-node', detail: `node ${answer.nodeId.slice(0, 12)} answers there` };
    }
    return { ...known, ...this.compare(answer) };
  }

  private compare(answer: InfoAnswer): Pick<ClusterRow, 'verdict' | 'detail'> {
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
      // Its tip is beyond ours: whether our tip is on its chain cannot be seen from here.
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

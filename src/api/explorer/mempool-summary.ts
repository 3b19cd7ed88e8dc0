import { blockSubsidy, txid as txidOf, txSize } from '../../core/index.js';
import type { ExplorerNode } from './port.js';

export interface PoolTx {
  readonly txid: string;
  readonly fee: bigint;
  readonly size: number;
}

/** What the home page shows of the mempool, mempool.space style. */
export interface MempoolSummary {
  readonly count: number;
  readonly bytes: number;
  /** The highest fee rates in the pool, best first. */
  readonly top: readonly PoolTx[];
  /** The block the miner would build now on the tip. */
  readonly projected: {
    readonly height: number;
    readonly txs: readonly PoolTx[];
    readonly bytes: number;
    readonly fees: bigint;
    readonly reward: bigint;
  };
}

const TOP_COUNT = 10;
/** Pool scans and block selection are O(pool): a summary is reused this long, whatever the page traffic. */
const SUMMARY_TTL_MS = 1000;

/** fee_a / size_a > fee_b / size_b, without division. */
export function rateAbove(a: PoolTx, b: PoolTx): boolean {
  return a.fee * BigInt(b.size) > b.fee * BigInt(a.size);
}

/** The mempool's totals, best fee rates and projected next block, cached for SUMMARY_TTL_MS per tip. */
export class MempoolSummaries {
  private cached: { at: number; tip: string; summary: MempoolSummary } | undefined;

  constructor(private readonly node: ExplorerNode) {}

  current(): MempoolSummary {
    const now = Date.now();
    const tip = this.node.chain.tip.hash;
    if (this.cached && this.cached.tip === tip && now - this.cached.at < SUMMARY_TTL_MS)
      return this.cached.summary;
    const summary = this.compute();
    this.cached = { at: now, tip, summary };
    return summary;
  }

  private compute(): MempoolSummary {
    const { mempool, params } = this.node;
    const top: PoolTx[] = [];
    const fees = new Map<string, PoolTx>();
    for (const { txid, fee, size } of mempool.entries()) {
      const entry = { txid, fee, size };
      fees.set(txid, entry);
      if (top.length === TOP_COUNT && !rateAbove(entry, top[TOP_COUNT - 1] as PoolTx)) continue;
      let at = top.length;
      while (at > 0 && rateAbove(entry, top[at - 1] as PoolTx)) at--;
      top.splice(at, 0, entry);
      if (top.length > TOP_COUNT) top.pop();
    }
    const template = this.node.projectedBlock();
    const txs = template.txs.map((tx) => {
      const id = txidOf(tx);
      return fees.get(id) ?? { txid: id, fee: 0n, size: txSize(tx) };
    });
    return {
      count: mempool.count,
      bytes: mempool.bytes,
      top,
      projected: {
        height: template.height,
        txs,
        bytes: txs.reduce((n, t) => n + t.size, 0),
        fees: template.reward - blockSubsidy(template.height, params),
        reward: template.reward,
      },
    };
  }
}

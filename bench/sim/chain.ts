import {
  blockHashOf,
  checkBlock,
  encodeBlock,
  toDisplayHex,
  ValidationError,
  workForBits,
  type Block,
  type NetworkParams,
  type Transaction,
} from '../../src/core/index.js';
import type { ChainPort, MempoolPort, ProcessBlockResult } from '../../src/p2p/index.js';

interface Entry {
  readonly hash: string;
  readonly height: number;
  readonly chainWork: bigint;
  readonly time: number;
  readonly raw: Uint8Array;
  readonly prev: string;
}

const LOCATOR_DENSE = 10;
const MAX_ORPHANS = 100;
const MEDIAN_SPAN = 11;

/**
 * The chain a simulated node keeps: a block tree in memory, most-work tip,
 * orphans connected when their parent arrives, locators as the real chain
 * builds them. A block passes the real context-free checks (checkBlock: proof
 * of work at the network's bits, merkle root, coinbase) and must carry the
 * network's minimum-difficulty bits; scripts and coins are not modelled (the
 * simulated blocks carry only a coinbase).
 */
export class SimChain implements ChainPort {
  private readonly entries = new Map<string, Entry>();
  /** Best chain by height. */
  private best: string[] = [];
  private readonly orphans = new Map<string, Block[]>();
  private orphanCount = 0;
  tip: { hash: string; height: number; chainWork: bigint };

  constructor(
    readonly params: NetworkParams,
    /** A block joined the best chain (the simulator's propagation clock). */
    private readonly onConnect: (hash: string, height: number) => void = () => undefined,
  ) {
    const genesis: Entry = {
      hash: params.genesisHash,
      height: 0,
      chainWork: workForBits(params.genesis.header.bits),
      time: params.genesis.header.time,
      raw: encodeBlock(params.genesis),
      prev: '',
    };
    this.entries.set(genesis.hash, genesis);
    this.best = [genesis.hash];
    this.tip = { hash: genesis.hash, height: 0, chainWork: genesis.chainWork };
  }

  processBlock(block: Block): Promise<ProcessBlockResult> {
    try {
      return Promise.resolve(this.process(block));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private process(block: Block): ProcessBlockResult {
    const hash = blockHashOf(block.header);
    const known = this.entries.get(hash);
    if (known) return { status: 'duplicate', hash, height: known.height };
    checkBlock(block, this.params);
    if (block.header.bits !== this.params.powLimitBits) throw new ValidationError('bad-blk-bits');
    const prev = toDisplayHex(block.header.prevHash);
    const parent = this.entries.get(prev);
    if (!parent) {
      if (this.orphanCount < MAX_ORPHANS) {
        const waiting = this.orphans.get(prev) ?? [];
        waiting.push(block);
        this.orphans.set(prev, waiting);
        this.orphanCount++;
      }
      return { status: 'orphan', hash, missingParent: prev };
    }
    const entry = this.add(block, hash, parent);
    const connectedOrphans: string[] = [];
    const queue = [hash];
    for (let h = queue.shift(); h !== undefined; h = queue.shift()) {
      const children = this.orphans.get(h) ?? [];
      this.orphans.delete(h);
      this.orphanCount -= children.length;
      for (const child of children) {
        const childHash = blockHashOf(child.header);
        if (this.entries.has(childHash)) continue;
        this.add(child, childHash, this.entries.get(h)!);
        connectedOrphans.push(childHash);
        queue.push(childHash);
      }
    }
    const onBest = this.best[entry.height] === hash;
    return {
      status: onBest ? 'connected' : 'side-chain',
      hash,
      height: entry.height,
      ...(connectedOrphans.length > 0 && { connectedOrphans }),
    };
  }

  private add(block: Block, hash: string, parent: Entry): Entry {
    const entry: Entry = {
      hash,
      height: parent.height + 1,
      chainWork: parent.chainWork + workForBits(block.header.bits),
      time: block.header.time,
      raw: encodeBlock(block),
      prev: parent.hash,
    };
    this.entries.set(hash, entry);
    if (entry.chainWork > this.tip.chainWork) {
      // Most work wins: the best chain is rebuilt back to the fork point.
      const branch: Entry[] = [];
      for (
        let e: Entry | undefined = entry;
        e && this.best[e.height] !== e.hash;
        e = this.entries.get(e.prev)
      )
        branch.push(e);
      const forkHeight = entry.height - branch.length;
      this.best.length = forkHeight + 1;
      for (const e of branch.reverse()) {
        this.best.push(e.hash);
        this.onConnect(e.hash, e.height);
      }
      this.tip = { hash, height: entry.height, chainWork: entry.chainWork };
    }
    return entry;
  }

  hasBlock(hash: string): boolean {
    return this.entries.has(hash);
  }

  getEntry(hash: string): { chainWork: bigint } | undefined {
    return this.entries.get(hash);
  }

  /** Ten most recent best-chain hashes, then exponentially sparser, ending with genesis. */
  getLocator(): string[] {
    const out: string[] = [];
    let step = 1;
    for (let h = this.tip.height; h > 0; h -= step) {
      out.push(this.best[h]!);
      if (out.length >= LOCATOR_DENSE) step *= 2;
    }
    out.push(this.best[0]!);
    return out;
  }

  getHashesAfterLocator(locator: string[], limit: number): string[] {
    let start = 1;
    for (const hash of locator) {
      const e = this.entries.get(hash);
      if (e && this.best[e.height] === hash) {
        start = e.height + 1;
        break;
      }
    }
    return this.best.slice(start, start + limit);
  }

  getRawBlock(hash: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.entries.get(hash)?.raw);
  }

  nextBlockContext(nowSec: number): { bits: number; minTime: number } {
    void nowSec;
    const times = this.best
      .slice(-MEDIAN_SPAN)
      .map((h) => this.entries.get(h)!.time)
      .sort((a, b) => a - b);
    return { bits: this.params.powLimitBits, minTime: times[Math.floor(times.length / 2)]! + 1 };
  }
}

/** Transactions are not simulated: the mempool holds none, and one offered has no coins to spend. */
export class SimMempool implements MempoolPort {
  accept(tx: Transaction): Promise<{ txid: string }> {
    void tx;
    return Promise.reject(new ValidationError('bad-txns-inputs-missingorspent'));
  }

  preverify(): Promise<void> {
    return Promise.resolve();
  }

  has(): boolean {
    return false;
  }

  transactionsByKey<K>(): ReadonlyMap<K, Transaction | null> {
    return new Map();
  }
}
